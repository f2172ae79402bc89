"""Files a run writes that hold personal data (report, summary, state store, run lock): owner-only, never via a symlink.

A report names records by key and may carry payloads, so it is created 0600 whatever the umask,
and an existing one is narrowed to 0600 when rewritten. A path whose last component is a symlink
is refused (`O_NOFOLLOW`), so a link planted where the report goes cannot redirect the write onto
another file.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import IO

PRIVATE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def open_private(path: str | Path, *, truncate: bool = True, read: bool = False) -> int:
    """A descriptor of `path` for writing, created 0600 if new, narrowed to 0600 if not; a symlink is refused.

    Raises `OSError` (errno ELOOP, "is a symlink ...") when `path` is a symlink.
    """
    flags = (os.O_RDWR if read else os.O_WRONLY) | os.O_CREAT | _NOFOLLOW | _CLOEXEC | (os.O_TRUNC if truncate else 0)
    try:
        fd = os.open(path, flags, PRIVATE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EMLINK and Path(path).is_symlink()):
            raise OSError(errno.ELOOP, "it is a symlink, and destkit does not write through symlinks", str(path)) from None
        raise
    with contextlib.suppress(OSError):  # a file of another owner keeps its mode: we may write it, not chmod it
        os.fchmod(fd, PRIVATE_MODE)
    return fd


def private_writer(path: str | Path) -> IO[bytes]:
    """`path` opened for writing from empty, 0600, never through a symlink."""
    return os.fdopen(open_private(path), "wb")


def write_private(path: str | Path, data: bytes) -> None:
    """Replace `path`'s content with `data`, 0600, never through a symlink."""
    with private_writer(path) as fh:
        fh.write(data)


def create_private(path: str | Path) -> None:
    """Create `path` empty and 0600 if it does not exist (for files another library opens, e.g. SQLite's)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, PRIVATE_MODE)
    except FileExistsError:
        return
    os.close(fd)


__all__ = ["PRIVATE_MODE", "create_private", "open_private", "private_writer", "write_private"]
