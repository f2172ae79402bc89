"""What the `destkit` command does with an exception no command handled: never a bare traceback.

Exit 1 means "some records were not delivered" to a scheduler, so a crash must not look like it: a
destkit error that escaped (a wrong call, a config problem found late) exits 2 with its message, and
anything else is a bug in destkit, which exits 3 with one line that points at a log file holding the
traceback. Secrets this process holds are scrubbed from both.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
import traceback
from pathlib import Path

from rich.text import Text

from destkit.runtime.cli.display import EXIT_ERROR, EXIT_INTERNAL, err
from destkit.runtime.config.secrets import redact_live
from destkit.runtime.errors import ConfigError, DestkitError, InternalError

CRASH_DIR = Path(".destkit") / "logs"


def exit_code_of(exc: BaseException) -> int:
    """2 for a destkit error (a usage, config or environment problem) or a path the file system refuses as too
    long (a name over 255 bytes given on the command line), 3 for anything else (a bug)."""
    if (isinstance(exc, DestkitError) and not isinstance(exc, InternalError)) or _name_too_long(exc):
        return EXIT_ERROR
    return EXIT_INTERNAL


def _name_too_long(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG


def _too_long_message(exc: OSError) -> str:
    name = str(exc.filename)
    shown = name if len(name) <= 80 else f"{name[:60]}…{name[-16:]} ({len(name):,} characters)"
    return f"the path {shown} is too long for the file system (a name is at most 255 bytes); give a shorter one."


def handle_uncaught(exc: BaseException) -> int:
    """Print one line for `exc` (and, for a bug, write the traceback to a log file); the exit code."""
    code = exit_code_of(exc)
    if code == EXIT_ERROR:
        message = exc.render() if isinstance(exc, ConfigError) else str(exc)
        if isinstance(exc, OSError) and _name_too_long(exc):
            message = _too_long_message(exc)
        err.print(Text("error: ", style="bold red") + Text(redact_live(message)))
        return code
    log = write_crash_log(exc)
    where = f"the traceback is in {log}" if log is not None else "no log file could be written"
    err.print(Text("internal error: ", style="bold red") + Text(
        f"{type(exc).__name__}: {redact_live(str(exc))} (a bug in destkit; {where}; please report it)."))
    return code


def write_crash_log(exc: BaseException) -> Path | None:
    """The traceback of `exc`, scrubbed of secrets, in `.destkit/logs/` (or the temp folder if that is not writable)."""
    text = redact_live("".join(traceback.format_exception(exc)))
    name = f"crash-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}.log"
    for folder in (CRASH_DIR, Path(tempfile.gettempdir()) / "destkit"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path.resolve()
        except OSError:
            continue
    return None


__all__ = ["exit_code_of", "handle_uncaught", "write_crash_log"]
