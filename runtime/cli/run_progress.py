"""What a run's progress display needs to know: the input's size (its rows counted or estimated), how often a
plain progress line is printed off a terminal, and the request log lines it learns retries from.

Imports the engine's input readers (sources, arrow_records) and the CLI's display only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from destkit.runtime.cli.display import RunDisplay
from destkit.runtime.engine.arrow_records import ARROW_FORMATS, arrow_row_count
from destkit.runtime.engine.input_files import is_gzip
from destkit.runtime.engine.sources import format_of

PROGRESS_INTERVAL_ENV = "DESTKIT_PROGRESS_INTERVAL"  # seconds between plain progress lines off a terminal
DEFAULT_PROGRESS_INTERVAL_S = 30.0
COUNT_LIMIT_BYTES = 256 * 2**20  # up to this size the lines are counted (well under a second); above, estimated
CHUNK = 2**20


def progress_interval() -> float | None:
    """Off a terminal (a scheduler's log), a plain progress line every 30 s, as Airbyte's job logs report
    records read periodically; `DESTKIT_PROGRESS_INTERVAL` changes it (0: after every batch, off: none)."""
    value = os.environ.get(PROGRESS_INTERVAL_ENV, "").strip().lower()
    if value in ("off", "none", "no"):
        return None
    try:
        return max(float(value), 0.0) if value else DEFAULT_PROGRESS_INTERVAL_S
    except ValueError:
        return DEFAULT_PROGRESS_INTERVAL_S


def input_total(path: Path | None, fmt: str | None) -> tuple[int | None, bool]:
    """(records in the input, whether estimated): its lines, less a CSV's header; for a file above
    `COUNT_LIMIT_BYTES`, its size over the first MiB's bytes per line; a Parquet or Delta input's rows from
    its metadata. None when it cannot be told (a query; a compressed file, whose size says nothing of its lines)."""
    kind = None if path is None else format_of(path, fmt)
    if path is not None and is_gzip(path):
        return None, False
    if path is None or kind in ARROW_FORMATS:
        return (None if path is None or kind is None else arrow_row_count(path, kind)), False
    header = 1 if kind in ("csv", "tsv") else 0
    try:
        size = path.stat().st_size
        if size <= COUNT_LIMIT_BYTES:
            return max(count_lines(path) - header, 0), False
        with path.open("rb") as fh:
            head = fh.read(CHUNK)
    except OSError:
        return None, False
    lines = head.count(b"\n")
    return (max(size * lines // len(head) - header, 0), True) if lines else (None, False)


def count_lines(path: Path) -> int:
    """Lines of a file, a last line without a newline included (a newline count, a chunk at a time)."""
    lines, last = 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def request_tap(display: RunDisplay) -> Callable[[logging.LogRecord], None]:
    """What the display learns from the request log lines: retries and throttling waits as they happen."""
    def see(record: logging.LogRecord) -> None:
        if record.msg in ("request", "request failed"):
            display.request_seen(getattr(record, "status", None), getattr(record, "attempt", None))
    return see


__all__ = ["COUNT_LIMIT_BYTES", "DEFAULT_PROGRESS_INTERVAL_S", "PROGRESS_INTERVAL_ENV", "count_lines", "input_total",
           "progress_interval", "request_tap"]
