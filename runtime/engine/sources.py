"""Record sources: CSV and JSON Lines files, streamed.

A line that cannot be read (broken JSON, wrong column count, bad encoding) becomes a `Malformed`
item in the stream, which the run turns into an `invalid` outcome naming the line; it never stops
the run.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Malformed:
    line: int
    message: str


Item = dict[str, Any] | Malformed

MAX_LINE_BYTES = 8_000_000
MAX_FIELD_CHARS = 1_000_000


def _lines(fh: Any, limit: int) -> Iterator[bytes | None]:
    """Lines of a binary file; None for a line over `limit` bytes (its rest is skipped, not held)."""
    while True:
        raw = fh.readline(limit + 1)
        if not raw:
            return
        if len(raw) > limit and not raw.endswith(b"\n"):
            while True:
                rest = fh.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield raw


def read_jsonl(path: str | Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Item]:
    with Path(path).open("rb") as fh:
        for lineno, raw in enumerate(_lines(fh, max_line_bytes), 1):
            if raw is None:
                yield Malformed(lineno, f"line {lineno} is over {max_line_bytes:,} bytes; split or trim the record.")
                continue
            line = raw.strip()
            if not line:
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield Malformed(lineno, f"line {lineno} is not valid JSON ({exc.args[0].split(':')[0]}); fix or remove the line.")
                continue
            if not isinstance(value, dict):
                yield Malformed(lineno, f"line {lineno} is a JSON {type(value).__name__}, not an object of fields.")
                continue
            yield value


def _has_surrogates(values: list[str]) -> bool:
    return any(any("\udc80" <= ch <= "\udcff" for ch in v) for v in values if v)


def _parse_line(text: str, delimiter: str) -> list[str]:
    return next(csv.reader([text], delimiter=delimiter, strict=True))


def read_csv(path: str | Path, delimiter: str = ",", max_field_chars: int = MAX_FIELD_CHARS,
             max_record_lines: int = 1000) -> Iterator[Item]:
    """Header row gives the field names; empty cells are absent values.

    Quoted cells may span lines (RFC 4180). A record is only accepted if it parses to the header's
    column count, so an unclosed quote cannot swallow the rest of the file: its line alone becomes
    `Malformed` and reading resumes on the next line.
    """
    csv.field_size_limit(max_field_chars)
    with Path(path).open("r", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        pending: list[tuple[int, str]] = []  # lines pushed back after a failed multi-line attempt
        source: Iterator[tuple[int, str]] = enumerate(fh, 1)

        def next_line() -> tuple[int, str] | None:
            if pending:
                return pending.pop()
            return next(source, None)

        width: int | None = None
        header: list[str] = []
        while True:
            first = next_line()
            if first is None:
                return
            start, text = first
            if not text.strip():
                continue
            consumed = [first]
            while text.count('"') % 2 == 1 and len(consumed) < max_record_lines and len(text) <= max_field_chars:
                more = next_line()
                if more is None:
                    break
                consumed.append(more)
                text += more[1]
            try:
                row = _parse_line(text, delimiter)
                error = None
            except csv.Error as exc:
                row, error = [], str(exc)
            if width is None:
                if error or not row:
                    yield Malformed(start, f"the header line {start} cannot be read ({error}).")
                    return
                header = row
                if header[0].startswith("\ufeff"):
                    header[0] = header[0][1:]
                width = len(header)
                continue
            if error is None and len(row) == width:
                if _has_surrogates(row):
                    yield Malformed(start, f"line {start} is not valid UTF-8; re-export the file as UTF-8.")
                else:
                    yield {k: v for k, v in zip(header, row, strict=True) if v != ""}
                continue
            if len(consumed) > 1:
                # an unclosed quote: only its own line is bad; the following lines are read again
                pending.extend(reversed(consumed[1:]))
                yield Malformed(start, f"line {start} has an unclosed quote; close it or escape it as \"\".")
                continue
            if error is not None:
                yield Malformed(start, f"line {start} could not be read as CSV ({error}); check its quotes.")
            else:
                yield Malformed(start, f"line {start} has {len(row)} columns, the header has {width}; check delimiters and quotes.")


def read_records(path: str | Path, fmt: str | None = None) -> Iterator[Item]:
    """By extension (.csv, .jsonl/.ndjson/.json) unless `fmt` says."""
    p = Path(path)
    kind = fmt or {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}.get(p.suffix.lower())
    if kind == "csv":
        return read_csv(p)
    if kind == "tsv":
        return read_csv(p, "\t")
    if kind == "jsonl":
        return read_jsonl(p)
    raise ValueError(f"cannot tell the format of {p}; use .csv or .jsonl, or pass --format")
