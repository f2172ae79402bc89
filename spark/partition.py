"""The executor side: one partition's records through a Sync built there, its outcomes back as Arrow batches.

The Sync is built on the executor from the config (secret references resolved there: no secret
is ever pickled). It runs in a thread of its own while this generator hands Spark an Arrow batch
of outcomes every `CHUNK` outcomes, so a partition's outcomes are never all held at once (with a
state table they are: the fingerprints, and a mirror sync's members, are read once the run is recorded).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from destkit.runtime.config.source_paths import source_columns
from destkit.runtime.engine.arrow_records import items_from_batch
from destkit.runtime.engine.build import build_sync
from destkit.runtime.engine.items import Item
from destkit.runtime.engine.membership import Member, Membership, audience_of
from destkit.runtime.engine.mirror import member_key_of
from destkit.runtime.engine.state import StateStore
from destkit.runtime.engine.sync import RunResult, Sync
from destkit.runtime.errors import DestkitError
from destkit.runtime.outcomes import Outcome, RunSummary
from destkit.spark.columns import partition_batch

CHUNK = 8192
PREVIOUS_KEY = "_destkit_previous_key"  # joined on by the driver from the state table: the key last delivered
PREVIOUS_FINGERPRINT = "_destkit_previous_fingerprint"  # ... and the fingerprint of its body
HIDDEN_INPUT = (PREVIOUS_KEY, PREVIOUS_FINGERPRINT)
_DONE = object()
Seed = Callable[[pa.RecordBatch], None]


def previous_of(batch: pa.RecordBatch) -> list[tuple[str, bytes]]:
    """The (key, fingerprint) last delivered for the batch's rows, from the columns the driver joined on."""
    if PREVIOUS_KEY not in batch.schema.names:
        return []
    keys = batch.column(PREVIOUS_KEY).to_pylist()
    fingerprints = batch.column(PREVIOUS_FINGERPRINT).to_pylist()
    return [(k, fp) for k, fp in zip(keys, fingerprints, strict=True) if k is not None and fp is not None]


def aborted_message(partition: int, run_id: str, summary: RunSummary) -> str:
    """Why the partition's task fails; a mirror run says that nobody was removed (the run's `removals_skipped`)."""
    skipped = f" ({summary.removals_skipped})" if summary.removals_skipped else ""
    return f"partition {partition} of run {run_id} was aborted: {summary.aborted}{skipped}"


class PartitionAborted(DestkitError):
    """A partition's run stopped before each of its rows had an outcome (the destination refused the credentials):
    the task fails, so the job is not taken for complete."""


@dataclass
class PartitionJob:
    """Everything a task needs, pickled to the executors: the config as a dict (secret references only)."""

    config: dict[str, Any]
    overrides: dict[str, Any]
    run_id: str
    incremental: bool = False
    partition_of: Any = field(default=None, repr=False)  # () -> int; TaskContext's partition id by default

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return PartitionRun(self, self.partition()).outcomes(batches)

    def partition(self) -> int:
        if self.partition_of is not None:
            return int(self.partition_of())
        from pyspark import TaskContext

        context = TaskContext.get()
        return context.partitionId() if context is not None else 0


class PartitionRun:
    """One task: feeds the records to the Sync in a thread, turns its outcomes into Arrow batches here."""

    def __init__(self, job: PartitionJob, partition: int) -> None:
        self.job = job
        self.partition = partition
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()  # lists of outcomes, then _DONE
        self.pending: list[Outcome] = []  # outcomes not yet handed over (handed a chunk at a time: one wake-up each)
        self.failure: BaseException | None = None
        self.fingerprints: dict[str, bytes] = {}
        self.members: dict[str, Member] = {}  # mirror: each member's removal record after the run, by key
        self.member_key: Callable[[str], str] | None = None  # mirror: the key a row's member is kept by

    def records(self, batches: Iterator[pa.RecordBatch], sync: Sync, seed: Seed | None = None) -> Iterator[Item]:
        """The input rows as `sync` reads them (row 1 first; a value Arrow cannot convert is that row's
        `Malformed` item; an unmapped binary primary key left bytes: `ColumnsRead.as_bytes`), without the hidden
        state columns.

        `seed` gets each Arrow batch (with the state columns the driver joined on) before any of its rows is fed,
        so the pipeline finds their previous state when it looks a batch of records up."""
        read = source_columns(sync.config.mapping, sync.options.primary_key)
        as_bytes = read.as_bytes if read is not None else frozenset()
        row = 1
        for batch in batches:
            if seed is not None:
                seed(batch)
            hidden = [name for name in HIDDEN_INPUT if name in batch.schema.names]
            yield from items_from_batch(batch.drop_columns(hidden) if hidden else batch, row, as_bytes)
            row += batch.num_rows

    def outcomes(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        worker = threading.Thread(target=self.run, args=(batches,), name="destkit-partition", daemon=True)
        worker.start()
        if self.job.incremental:  # the fingerprints are known once the whole run is recorded
            worker.join()
            yield from self.drain(wait=False)
        else:
            yield from self.drain(wait=True)
            worker.join()
        if self.failure is not None:
            raise self.failure

    def collect(self, outcome: Outcome) -> None:
        """The run's `on_outcome`: outcomes go to the task's thread a chunk at a time."""
        self.pending.append(outcome)
        if len(self.pending) >= CHUNK:
            self.queue.put(self.pending)
            self.pending = []

    def drain(self, *, wait: bool) -> Iterator[pa.RecordBatch]:
        while wait or not self.queue.empty():
            chunk = self.queue.get()
            if chunk is _DONE:
                break
            yield self.batch(chunk)

    def batch(self, outcomes: list[Outcome]) -> pa.RecordBatch:
        member_key = self.member_key
        seen = [None if o.key is None else member_key(o.key) for o in outcomes] if member_key is not None else None
        keys = seen if seen is not None else [o.key for o in outcomes]  # an invalid row's member: by the kept key
        fps = [self.fingerprints.get(k) if k is not None else None for k in keys]
        members = [self.members.get(k) if k is not None else None for k in keys] if self.members else None
        return partition_batch(outcomes, fps, run_id=self.job.run_id, time=datetime.now(UTC), partition=self.partition,
                               members=members, seen_keys=seen)

    def run(self, batches: Iterator[pa.RecordBatch]) -> None:
        """The thread: run the partition's Sync, failing the task when its run was aborted."""
        try:
            result = self.run_sync(batches)
            if result is not None and result.summary.aborted:  # rows left without an outcome: the job is not complete
                raise PartitionAborted(aborted_message(self.partition, self.job.run_id, result.summary))
        except BaseException as exc:  # raised again in the task's own thread, so Spark reports it
            self.failure = exc
        finally:
            if self.pending:
                self.queue.put(self.pending)
            self.queue.put(_DONE)

    def run_sync(self, batches: Iterator[pa.RecordBatch]) -> RunResult | None:
        """Build the Sync here (secrets resolved on this executor) and run it over the records."""
        sync = build_sync(self.job.config, **self.job.overrides)
        if self.job.incremental:
            return self.run_incremental(sync, batches)
        return sync.run(self.records(batches, sync), on_outcome=self.collect, run_id=self.job.run_id)

    def run_incremental(self, sync: Sync, batches: Iterator[pa.RecordBatch]) -> RunResult:
        """A run against a scratch state store seeded with the state table's fingerprints as records are read;
        afterwards the store holds each key's fingerprint as the state table should keep it, and in a mirror sync
        the members this run confirmed, with their removal record. (The store starts with no member, so this run
        removes nobody: who left, only the driver knows, and members seen but not confirmed keep their earlier
        removal record in the state table: `next_mirror_state`.)"""
        store = StateStore(":memory:")
        destination, action = sync.spec.id, sync.action_id
        if sync.options.mirror:  # set before the run: its outcomes reach `batch` only after this
            self.member_key = member_key_of(sync)

        def seed(batch: pa.RecordBatch) -> None:
            previous = previous_of(batch)
            if previous:
                store.write_many("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?, ?, 0)",
                                 [(destination, action, key, fp) for key, fp in previous])

        try:
            result = sync.run(self.records(batches, sync, seed), on_outcome=self.collect, run_id=self.job.run_id,
                              state=store)
            rows = store.db.execute("SELECT key, fingerprint FROM fingerprints WHERE destination = ? AND action = ?",
                                    (destination, action))
            self.fingerprints = {key: bytes(fp) for key, fp in rows}
            if sync.options.mirror:
                self.members = {m.key: m for page in membership_of(sync, store).members() for m in page}
            return result
        finally:
            store.close()


def membership_of(sync: Sync, store: StateStore) -> Membership:
    """The audience membership a mirror Sync keeps in `store` (the same rows its run reads and writes)."""
    return Membership(store, sync.spec.id, sync.action_id, audience_of(sync.spec.id, sync.action_id, sync.settings))


__all__ = ["HIDDEN_INPUT", "PREVIOUS_FINGERPRINT", "PREVIOUS_KEY", "PartitionAborted", "PartitionJob", "PartitionRun",
           "membership_of"]
