"""Stage 2 of a mirror sync on Spark, the executor side: one partition of the departed members is removed by the
one-process code. A Sync's run over no record, against a scratch store whose membership holds just these members,
sends each of them to the action's removal request (`Mirror.remove_departed`), one outcome per removal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from destkit.runtime.engine.build import build_sync
from destkit.runtime.engine.membership import Member, MembershipChanges
from destkit.runtime.engine.state import StateStore
from destkit.runtime.engine.sync import RunResult
from destkit.spark.columns import params_of
from destkit.spark.partition import PartitionJob, PartitionRun, membership_of

DEPARTED_COLUMNS = ("key", "removal", "removal_params")  # the state table's columns stage 2 reads
EARLIER_RUN = "spark-state-table"  # the run that last saw the departed members, as far as the scratch store knows


def departed_of(batch: pa.RecordBatch) -> list[Member]:
    """The members in one Arrow batch of the departed (key, removal record, removal path parameters)."""
    keys, bodies, params = (batch.column(name).to_pylist() for name in DEPARTED_COLUMNS)
    return [Member(k, body, params_of(p)) for k, body, p in zip(keys, bodies, params, strict=True)]


@dataclass
class RemovalJob(PartitionJob):
    """Stage 2's task: the partition's departed members through the removal request."""

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return RemovalRun(self, self.partition()).outcomes(batches)


class RemovalRun(PartitionRun):
    """One stage-2 task: its outcomes stream back as stage 1's do (`operation` is `remove`, `row` 0)."""

    def run_sync(self, batches: Iterator[pa.RecordBatch]) -> RunResult | None:
        members = [member for batch in batches for member in departed_of(batch)]
        if not members:  # an empty partition of the join: no Sync to build, nothing to send
            return None
        sync = build_sync(self.job.config, **self.job.overrides)
        store = StateStore(":memory:")
        try:  # members a run did not see are the ones it removes once its (empty) input is read
            membership_of(sync, store).write(store.db, EARLIER_RUN, MembershipChanges(confirmed=members))
            return sync.run([], on_outcome=self.collect, run_id=self.job.run_id, state=store)
        finally:
            store.close()


__all__ = ["DEPARTED_COLUMNS", "RemovalJob", "RemovalRun", "departed_of"]
