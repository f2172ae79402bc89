"""Report sinks: a JSONL line per non-delivered (or warned) record, and the run summary.

Both hold personal data (keys, messages, payloads with `include_payloads`): they are written
0600 and never through a symlink (`destkit.runtime.engine.files`).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import orjson

from destkit.runtime.engine.files import private_writer, write_private
from destkit.runtime.outcomes import Outcome, RunSummary, Status


def summary_path_of(report_path: Path) -> Path:
    """Where the summary of the report `report_path` is written: `run.jsonl` → `run.summary.json`."""
    return report_path.with_suffix(".summary.json")


class JsonlReport:
    """Writes one line per record that was not delivered, or was delivered with warnings.

    Lines are flushed as they are written so a report survives a crash up to its last record.
    `include_delivered` adds a line for every delivered record too (large: opt-in).
    """

    def __init__(self, path: str | Path, include_delivered: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] = private_writer(self.path)
        self.include_delivered = include_delivered
        self.lines = 0

    def __call__(self, outcome: Outcome) -> None:
        if outcome.status in (Status.DELIVERED, Status.SKIPPED) and not outcome.warnings and not self.include_delivered:
            return  # unchanged records can be most of an incremental run: they are counted, not listed
        self._fh.write(line_of(outcome.to_dict()))
        self.lines += 1

    def write_summary(self, summary: RunSummary) -> Path:
        summary_path = summary_path_of(self.path)
        write_private(summary_path, orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2))
        return summary_path

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


def line_of(fields: dict[str, Any]) -> bytes:
    """A report line; a payload JSON cannot hold (nested too deep, a huge integer) is left out, saying why."""
    try:
        return orjson.dumps(fields) + b"\n"
    except orjson.JSONEncodeError as exc:
        if "payload" not in fields:
            raise
        rest = {k: v for k, v in fields.items() if k != "payload"}
        return orjson.dumps({**rest, "payload_omitted": f"it cannot be written as JSON ({exc})"}) + b"\n"
