"""Report sinks: a JSONL line per non-delivered (or warned) record, and the run summary."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import orjson

from destkit.runtime.outcomes import Outcome, RunSummary, Status


class JsonlReport:
    """Writes one line per record that was not delivered, or was delivered with warnings.

    Lines are flushed as they are written so a report survives a crash up to its last record.
    `include_delivered` adds a line for every delivered record too (large: opt-in).
    """

    def __init__(self, path: str | Path, include_delivered: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] = self.path.open("wb")
        self.include_delivered = include_delivered
        self.lines = 0

    def __call__(self, outcome: Outcome) -> None:
        if outcome.status in (Status.DELIVERED, Status.SKIPPED) and not outcome.warnings and not self.include_delivered:
            return  # unchanged records can be most of an incremental run: they are counted, not listed
        self._fh.write(orjson.dumps(outcome.to_dict()) + b"\n")
        self.lines += 1

    def write_summary(self, summary: RunSummary) -> Path:
        summary_path = self.path.with_suffix(".summary.json")
        summary_path.write_bytes(orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2))
        return summary_path

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
