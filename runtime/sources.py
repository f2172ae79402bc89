"""Record sources: CSV and JSON Lines files, streamed.

A line that cannot be read (broken JSON, wrong column count, bad encoding) becomes a `Malformed`
item in the stream, which the run turns into an `invalid` outcome naming the line; it never stops
the run.
"""

from __future__ import annotations

import csv
import sys
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


def read_jsonl(path: str | Path) -> Iterator[Item]:
    with Path(path).open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
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


def read_csv(path: str | Path, delimiter: str = ",") -> Iterator[Item]:
    """Header row gives the field names; empty cells are absent values."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
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
                yield Malformed(start, f"line {start} is not valid CSV ({exc}); check its quotes.")
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
