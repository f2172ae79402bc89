"""The outcome recorder: writes outcomes to the state store a batch at a time, with the checkpoint."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from destkit.runtime.delivery.delivered import DeliveredRows
from destkit.runtime.engine.state import RunInfo, StateStore, Watermark
from destkit.runtime.outcomes import Outcome, RunSummary, Status

if TYPE_CHECKING:
    from destkit.runtime.engine.mirror import Mirror

_DELIVERED = Status.DELIVERED.value
_PLAIN = (Status.DELIVERED, Status.SKIPPED)  # a report of problems lists neither (unless warned)
LISTED_AT_MOST = 100_000  # rows noted for the report (`StateStore.note_listed_rows`); past that, it scans


class WrittenCounts:
    """What a run wrote to the store, counted as it went: `StateStore.counts` of that run without reading
    the outcomes back (a scan of the run's rows at its end, ~1 µs a record, measured).

    Only while every row written is new to the run: a resumed run's store holds earlier rows too, and a
    row written twice keeps one outcome, so then `Recorder.finish` asks the store instead.
    """

    def __init__(self) -> None:
        self.pairs: Counter[tuple[str, str | None]] = Counter()  # (status, reason) -> outcomes
        self.warnings: dict[str, tuple[int, int, int]] = {}  # warning reason -> (count, first row, its place there)
        self.listed: list[int] | None = []  # the rows a report of problems lists, while not too many

    def add(self, outcomes: list[Outcome], delivered: Sequence[DeliveredRows]) -> None:
        pairs = self.pairs
        listed = self.listed
        for o in outcomes:
            pairs[o.status.value, str(o.reason) if o.reason else None] += 1
            if listed is not None and (o.status not in _PLAIN or o.warnings):
                listed.append(o.row)
            for i, w in enumerate(o.warnings or ()):
                n, row, place = self.warnings.get(str(w["reason"]), (0, o.row, i))
                self.warnings[str(w["reason"])] = (n + 1, *min((row, place), (o.row, i)))
        for columns in delivered:
            pairs[_DELIVERED, None] += len(columns.rows)
        if listed is not None and len(listed) > LISTED_AT_MOST:
            self.listed = None

    def counts(self) -> tuple[Counter[str], Counter[str], Counter[str]]:
        """As `StateStore.counts` gives them, in its order: statuses and reasons sorted, warnings by first row."""
        by_status: Counter[str] = Counter()
        by_reason: Counter[str] = Counter()
        for (status, reason), n in sorted(self.pairs.items(), key=lambda item: (item[0][0], item[0][1] or "")):
            by_status[status] += n
            if reason:
                by_reason[reason] += n
        firsts = sorted(self.warnings.items(), key=lambda item: item[1][1:])
        return by_status, by_reason, Counter({reason: n for reason, (n, _, _) in firsts})


class Recorder:
    """Writes outcomes to the state store a batch at a time, moving the checkpoint with them."""

    FLUSH_EVERY = 1000

    def __init__(self, state: StateStore, destination: str, summary: RunSummary) -> None:
        self.state = state
        self.destination = destination
        self.summary = summary
        self.buffer: list[Outcome] = []
        self.delivered: list[DeliveredRows] = []  # delivered records as columns, written with the buffer
        self.fingerprints: list[tuple[str, str, bytes]] = []
        self.jobs_done: list[str] = []  # jobs whose results are buffered: closed with them, in one transaction
        self.watermark = Watermark()
        self.done_before: set[int] = set()
        self.checkpoint = 0
        self.mirror: Mirror | None = None  # options.mirror: membership changes are written with the outcomes
        self.written: WrittenCounts | None = WrittenCounts()  # None once the store holds rows it does not count

    def resume(self, run: RunInfo) -> None:
        self.written = None  # the store has the rows finished before the crash
        self.checkpoint = run.checkpoint
        self.done_before = self.state.terminal_rows_above(run.run_id, run.checkpoint)
        self.watermark = Watermark(run.checkpoint, self.done_before)

    def skip(self, row: int) -> bool:
        return row <= self.checkpoint or row in self.done_before

    def mark_done(self, rows: list[int]) -> None:
        """Rows finished by this resumed run before reading the input (its open jobs' results): not read again."""
        self.done_before.update(rows)

    def add(self, outcome: Outcome) -> None:
        self.buffer.append(outcome)
        if self.mirror is not None:
            self.mirror.note(outcome)
        if len(self.buffer) >= self.FLUSH_EVERY:
            self.flush()

    def add_delivered(self, columns: DeliveredRows, primary_keys: dict[int, str]) -> int:
        """Delivered records as columns (no mirror watches them: see `Pipeline.lean`); each takes its row's
        primary key out of `primary_keys`, as its outcome would. Written by the next `flush`; returns how many."""
        if primary_keys:
            pop = primary_keys.pop
            columns.primary_keys = [pop(row, None) for row in columns.rows]
        self.delivered.append(columns)
        return len(columns.rows)

    def flush(self) -> None:
        """Write the buffered outcomes with the checkpoint they justify, in one transaction.

        If the write fails (a full disk) nothing moves: the outcomes stay buffered and the
        checkpoint stays where the store has it, so no later write can claim rows it never got.
        """
        if not self.buffer and not self.delivered:
            return
        rows = [o.row for o in self.buffer]
        for columns in self.delivered:
            rows += columns.rows
        checkpoint = self.watermark.peek(rows)
        mirror = self.mirror
        also = mirror.writer(self.summary.run_id) if mirror is not None else None
        self.state.record(self.summary.run_id, self.destination, self.buffer, checkpoint, self.summary.received,
                          self.fingerprints, also, self.jobs_done, self.delivered)
        if mirror is not None:
            mirror.take_changes()  # written: the next flush writes only what comes after
        if self.watermark.add(rows, checkpoint) and self.written is not None:
            self.written.add(self.buffer, self.delivered)
        else:
            self.written = None
        self.buffer, self.fingerprints, self.jobs_done, self.delivered = [], [], [], []

    def finish(self, *, stopped: bool = False) -> None:
        """Close the run and make the summary the store's (it includes rows finished before a resume).

        A run `stopped` early received, in the end, only the rows it has an outcome for: the rows
        read but not sent are the resumed run's.
        """
        s = self.summary
        written = self.written
        by_status, by_reason, warnings = written.counts() if written is not None else self.state.counts(s.run_id)
        if written is not None and written.listed is not None:
            self.state.note_listed_rows(s.run_id, written.listed)
        if stopped:
            s.received = sum(by_status.values())
        self.state.finish_run(s.run_id, s.received, s.aborted)
        s.counts, s.reasons, s.warnings = by_status, by_reason, warnings
