"""Opening an input file, plain or gzip-compressed: `audience.csv.gz`, `export.jsonl.gz` (what a warehouse's
unload writes: BigQuery's and Snowflake's exports, Redshift's UNLOAD ... GZIP) are read as a stream, never
unpacked to disk or memory first. A file is compressed when its name ends in `.gz`; the suffix before that
names its format. Its lines are read a block at a time (`line_blocks`, `LineBlocks`), for JSON Lines in one
process and over workers alike. Imports the engine's items only.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, TextIO, cast

from destkit.runtime.engine.items import Malformed

GZIP_SUFFIX = ".gz"
GZIP_MAGIC = b"\x1f\x8b"
# what reading a gzip file that is cut short or corrupt raises, part way through (BadGzipFile is an OSError)
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def is_gzip(path: Path) -> bool:
    return path.suffix.lower() == GZIP_SUFFIX


def format_suffix(path: Path) -> str:
    """The suffix that names the file's format, lower case: `.csv` for `a.csv` and for `a.CSV.gz`."""
    return (path.with_suffix("") if is_gzip(path) else path).suffix.lower()


class TextLines(Protocol):
    """What the CSV reader reads a text file through: its lines (at most `size` characters of one)."""

    def readline(self, size: int = -1, /) -> str: ...


class _GzipBytes(gzip.GzipFile):
    """A gzip file whose `read(n)` hands on what one step decompressed (`read1`), so that a file cut short loses
    none of the lines before the cut: a whole `read` drops the bytes it holds when a later step fails."""

    def read(self, size: int | None = -1) -> bytes:
        return self.read1(size) if size is not None and size > 0 else super().read(size)


class GzipText:
    """A gzip file's UTF-8 text, a line at a time, whose first error ends it: `error` keeps it, so every line
    before it is read and the rest stands as one `cut_short` item (a line the cut runs through is never read)."""

    def __init__(self, path: Path) -> None:
        self._text = io.TextIOWrapper(_GzipBytes(path, "rb"), encoding="utf-8", errors="surrogateescape", newline="")
        self.error: BaseException | None = None

    def readline(self, size: int = -1, /) -> str:
        if self.error is not None:
            return ""
        try:
            return self._text.readline(size)
        except GZIP_ERRORS as exc:
            self.error = exc
            return ""

    def __enter__(self) -> GzipText:
        return self

    def __exit__(self, *exc: object) -> None:
        self._text.close()


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, decompressed as they are read when it is gzip-compressed (a `GZIP_ERRORS` error
    where it is cut short or corrupt, after every byte before it)."""
    return _GzipBytes(path, "rb") if is_gzip(path) else path.open("rb")  # type: ignore[return-value]


def open_text(path: Path) -> TextIO | GzipText:
    """The file as UTF-8 text for the CSV reader (bytes that are not UTF-8 kept as surrogates, for the row's
    `Malformed`; newlines as they are, for quoted cells that span lines)."""
    if is_gzip(path):
        return GzipText(path)
    return path.open("r", encoding="utf-8", errors="surrogateescape", newline="")


# JSON Lines read at once: ~120 W1 records made dicts together. Bigger blocks were slower per record (measured:
# 256 KiB of dicts no longer sit in the CPU's cache when the run reaches them)
READ_BYTES = 1 << 15


def line_blocks(fh: BinaryIO, limit: int, size: int = READ_BYTES) -> Iterator[tuple[bytes | None, list[bytes | None]]]:
    """The lines of a binary file (without their newline), a block of `size` bytes at a time; None for a
    line over `limit` bytes, whose bytes are never held (its rest is skipped). A line may span blocks: at
    most one block and one unfinished line of up to `limit` bytes are held. With each block, its lines
    joined (None when one is over the limit), so a run over workers can read their keys at once. One C
    split a block, not a call a line."""
    head, overlong = b"", False  # the start of the line the last block left open (over the limit: dropped)
    while block := fh.read(size):
        cut = block.rfind(b"\n")
        if cut < 0:  # no line ends in this block
            head, overlong = _open_line(head + block if not overlong else b"", overlong, limit)
            continue
        joined = head + block[:cut]
        text: bytes | None = joined
        parts = joined.split(b"\n")
        lines = cast(list[bytes | None], parts)
        if overlong or max(map(len, parts)) > limit:
            lines = [None if len(line) > limit else line for line in parts]
            if overlong:
                lines[0] = None  # the end of the line over the limit
            text = None
        head, overlong = _open_line(block[cut + 1:], False, limit)
        yield text, lines
    if head or overlong:
        yield None, [None if overlong else head]


def _open_line(head: bytes, overlong: bool, limit: int) -> tuple[bytes, bool]:
    """The line still open, dropped (and marked) once it is over the limit."""
    return (b"", True) if overlong or len(head) > limit else (head, False)


class LineBlocks:
    """A file's lines a block of `block_bytes` at a time (`line_blocks`), opened when they are first asked for.
    A compressed file cut short ends them where it is cut; `error` keeps what its reading raised, for the one
    item that stands for the lines after (`cut_short`), which JSON Lines in one process and over workers add."""

    def __init__(self, path: Path, limit: int, block_bytes: int = READ_BYTES) -> None:
        self.path, self.limit, self.block_bytes = path, limit, block_bytes
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[tuple[bytes | None, list[bytes | None]]]:
        with open_binary(self.path) as fh:
            try:
                yield from line_blocks(fh, self.limit, self.block_bytes)
            except GZIP_ERRORS as exc:  # only reading the file: the caller's own errors never reach here
                self.error = exc


def not_gzip(path: Path) -> bool:
    """Whether a `.gz` file does not start as gzip data does (every line of it would be unreadable)."""
    try:
        with path.open("rb") as fh:
            return is_gzip(path) and fh.read(2) != GZIP_MAGIC
    except OSError:
        return False  # reading the records reports it


def cut_short(path: Path, line: int, error: BaseException) -> Malformed:
    """The one item that stands for the lines of a gzip file from `line` on, which cannot be read: the file was
    cut short or is corrupt there (a mirror run that meets it removes nobody, as for any unreadable row)."""
    what = ("ends before its compressed data does (the file was cut short)" if isinstance(error, EOFError)
            else f"is corrupt there ({error})")
    return Malformed(line, f"line {line} and the lines after it cannot be read: {path.name} {what}; download or "
                           f"export the file again (`gzip -t {path.name}` checks one).")


__all__ = ["GZIP_ERRORS", "GZIP_MAGIC", "GZIP_SUFFIX", "READ_BYTES", "GzipText", "LineBlocks", "TextLines", "cut_short", "format_suffix", "is_gzip", "line_blocks", "not_gzip", "open_binary", "open_text"]
