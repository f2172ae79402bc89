"""Reading a `{file: PATH}` secret: a regular file of at most 64 KiB, and nothing else.

The path is config text, so it may name a device that never ends (`/dev/zero`), a FIFO whose
open waits for a writer, a directory or a huge file. The file is opened without blocking and
checked on the open descriptor (no gap between the check and the read), and at most the limit
is read. Problems are reported by path and kind, never with the file's bytes. Symbolic links
are followed: mounted secrets (Kubernetes, Docker) are links to regular files. A sync config file is
read the same way (`read_regular_file`), with its own limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import NamedTuple

MAX_SECRET_FILE_BYTES = 64 * 1024

_FIX = "point {file: ...} at a regular file that holds only the secret."
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


class FileProblem(NamedTuple):
    """Why a secret (or config) file cannot be used, as an Issue's message and fix."""

    message: str
    fix: str


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a file")


def _read_at_most(fd: int, limit: int) -> bytes:
    """Up to `limit + 1` bytes (one more than allowed, to tell a file that grew past the limit)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def read_regular_file(path: Path, limit: int, what: str = "secret file", fix: str = _FIX,
                      purpose: str = "a secret") -> bytes | FileProblem:
    """At most `limit` bytes of the regular file `path`, or why not, naming it as `what` (a config file too)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return FileProblem(f"cannot read {what} {path}: {exc.strerror}.", "check the path and its permissions.")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return FileProblem(f"{what} {path} is not a regular file (it is {_kind(info.st_mode)}).", fix)
        if info.st_size > limit:
            return FileProblem(f"{what} {path} is {info.st_size:,} bytes, over the limit of {limit:,} for {purpose}.", fix)
        data = _read_at_most(fd, limit)
    except OSError as exc:
        return FileProblem(f"cannot read {what} {path}: {exc.strerror}.", "check the path and its permissions.")
    finally:
        os.close(fd)
    if len(data) > limit:
        return FileProblem(f"{what} {path} is over the limit of {limit:,} bytes for {purpose}.", fix)
    return data


def read_secret_file(path: Path, limit: int = MAX_SECRET_FILE_BYTES) -> str | FileProblem:
    """The secret held in `path`, stripped of surrounding whitespace, or why it cannot be read."""
    if "\0" in str(path):
        return FileProblem(f"the secret file path {str(path)!r} has a NUL character.", "check the path.")
    data = read_regular_file(path, limit)
    if isinstance(data, FileProblem):
        return data
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return FileProblem(f"secret file {path} is not UTF-8 text.", "save the secret as UTF-8 text.")
