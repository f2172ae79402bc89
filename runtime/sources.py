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


def read_csv(path: str | Path, delimiter: str = ",", max_field_chars: int = MAX_FIELD_CHARS) -> Iterator[Item]:
    """Header row gives the field names; empty cells are absent values; a cell over the limit is malformed."""
    csv.field_size_limit(max_field_chars)
    with Path(path).open("r", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Malformed(1, f"the header line cannot be read ({exc}).")
            return
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        width = len(header)
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                end = reader.line_num
                where = f"line {start}" if end <= start else f"lines {start}-{end}"
                yield Malformed(start, f"{where} could not be read as CSV ({exc}); an unbalanced quote joins the lines "
                                       "after it into one field: check the quotes.")
                continue
            if not row or (len(row) == 1 and not row[0]):
                continue
            if len(row) != width:
                yield Malformed(start, f"line {start} has {len(row)} columns, the header has {width}; check delimiters and quotes.")
                continue
            if _has_surrogates(row):
                yield Malformed(start, f"line {start} is not valid UTF-8; re-export the file as UTF-8.")
                continue
            yield {k: v for k, v in zip(header, row, strict=True) if v != ""}


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
