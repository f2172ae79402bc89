"""The outcome recorder: writes outcomes to the state store a batch at a time, with the checkpoint."""

from __future__ import annotations

from destkit.runtime.engine.state import RunInfo, StateStore, Watermark
from destkit.runtime.outcomes import Outcome, RunSummary


class Recorder:
    """Writes outcomes to the state store a batch at a time, moving the checkpoint with them."""

    FLUSH_EVERY = 1000

    def __init__(self, state: StateStore, destination: str, summary: RunSummary) -> None:
        self.state = state
        self.destination = destination
        self.summary = summary
        self.buffer: list[Outcome] = []
        self.fingerprints: list[tuple[str, str, bytes]] = []
        self.watermark = Watermark()
        self.done_before: set[int] = set()
        self.checkpoint = 0

    def resume(self, run: RunInfo) -> None:
        self.checkpoint = run.checkpoint
        self.done_before = self.state.terminal_rows_above(run.run_id, run.checkpoint)
        self.watermark = Watermark(run.checkpoint, self.done_before)

    def skip(self, row: int) -> bool:
        return row <= self.checkpoint or row in self.done_before

    def add(self, outcome: Outcome) -> None:
        self.buffer.append(outcome)
        if len(self.buffer) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        outcomes, self.buffer = self.buffer, []
        fingerprints, self.fingerprints = self.fingerprints, []
        self.watermark.add(o.row for o in outcomes)
        self.state.record(self.summary.run_id, self.destination, outcomes, self.watermark.value, self.summary.received,
                          fingerprints)

    def finish(self) -> None:
        """Close the run and make the summary the store's (it includes rows finished before a resume)."""
        s = self.summary
        self.state.finish_run(s.run_id, s.received, s.aborted)
        by_status, by_reason, warnings = self.state.counts(s.run_id)
        s.counts, s.reasons, s.warnings = by_status, by_reason, warnings
