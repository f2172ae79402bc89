"""Report sinks: a JSONL line per non-delivered (or warned) record, the run summary, and where a run's files go.

Each run writes into its own folder, `<state store's folder>/runs/<run_id>/` (`RunFiles.in_folder`),
so no run overwrites another's files; `--report FILE` names the report instead (`RunFiles.beside`).
All hold personal data (keys, messages, payloads with `include_payloads`): they are written 0600
and never through a symlink (`destkit.runtime.engine.files`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from destkit.runtime.engine.files import open_private, private_writer, write_private
from destkit.runtime.outcomes import Outcome, RunSummary, Status


def summary_path_of(report_path: Path) -> Path:
    """Where the summary of the report `report_path` is written: `run.jsonl` → `run.summary.json`."""
    return report_path.with_suffix(".summary.json")


RUNS_FOLDER = "runs"
REPORT_NAME = "report.jsonl"


def runs_folder(state_path: Path) -> Path:
    """Where the runs of the state store `state_path` keep their files: `runs/` beside the store."""
    return state_path.parent / RUNS_FOLDER


@dataclass(frozen=True)
class RunFiles:
    """The files of one run: the JSONL report, its summary beside it, and the place of the HTML report.

    `folder` is the run's own folder, or None when `--report` named the report file.
    """

    report: Path
    folder: Path | None = None

    @classmethod
    def in_folder(cls, folder: Path) -> RunFiles:
        """A run's own folder (`runs/<run_id>/`): `report.jsonl`, `report.summary.json`, `report.html`."""
        return cls(folder / REPORT_NAME, folder)

    @classmethod
    def beside(cls, report: Path) -> RunFiles:
        """The report a user named, with the summary and the HTML report beside it."""
        return cls(report)

    @property
    def summary(self) -> Path:
        return summary_path_of(self.report)

    @property
    def html(self) -> Path:
        """Where the run's HTML report goes (`run.jsonl` → `run.html`), written by the HTML report writer."""
        return self.report.with_suffix(".html")


class JsonlReport:
    """Writes one line per record that was not delivered, or was delivered with warnings.

    Lines are flushed as they are written so a report survives a crash up to its last record.
    `include_delivered` adds a line for every delivered record too (large: opt-in).

    The path is checked writable at once, but an earlier report there (and its summary) is
    replaced only when the first line is written or the report is closed: a run that ends before
    any record had an outcome (refused credentials) can keep it with `close(keep_earlier=True)`.
    """

    def __init__(self, path: str | Path, include_delivered: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(open_private(self.path, truncate=False))  # fails now, not mid-run, on an unwritable path
        self._fh: IO[bytes] | None = None
        self.include_delivered = include_delivered
        self.lines = 0

    def __call__(self, outcome: Outcome) -> None:
        if outcome.status in (Status.DELIVERED, Status.SKIPPED) and not outcome.warnings and not self.include_delivered:
            return  # unchanged records can be most of an incremental run: they are counted, not listed
        self._writer().write(line_of(outcome.to_dict()))
        self.lines += 1

    def _writer(self) -> IO[bytes]:
        """The report opened from empty; the earlier summary goes first, so a killed run leaves none that is not its own."""
        if self._fh is None:
            summary_path_of(self.path).unlink(missing_ok=True)
            self._fh = private_writer(self.path)
        return self._fh

    def write_summary(self, summary: RunSummary) -> Path:
        summary_path = summary_path_of(self.path)
        write_private(summary_path, orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2))
        return summary_path

    def close(self, *, keep_earlier: bool = False) -> None:
        """Close the report; one with no line is emptied, unless `keep_earlier` (the earlier report stays)."""
        if self._fh is None and not keep_earlier:
            self._writer()
        if self._fh is not None and not self._fh.closed:
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
