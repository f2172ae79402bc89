"""The state store's side of async jobs: each accepted job is kept until its results are recorded.

A run whose action answers with jobs (`response.job`) notes every job the destination accepted,
with its rows, in the state store (`StoredJobs.accepted`), and closes it in the transaction that
records its results. A resumed run reopens the jobs still open: their rows are not read again,
and their jobs are polled (alongside the new batches) for the rows' outcomes, so records a
destination already holds are not sent twice.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from destkit.runtime.config.secrets import redact
from destkit.runtime.delivery.batching import Batch
from destkit.runtime.delivery.jobs import JobFollower
from destkit.runtime.engine.recorder import Recorder
from destkit.runtime.engine.state import OpenJob
from destkit.runtime.errors import AuthFailed
from destkit.runtime.outcomes import Outcome, Reason, RunSummary, Status

if TYPE_CHECKING:  # the pipeline owns its jobs, so this module may not import it at run time
    from destkit.runtime.engine.pipeline import Pipeline


class StoredJobs:
    """The `JobLedger` of a recorded run: accepted jobs go to the state store, closed with their results."""

    def __init__(self, recorder: Recorder, summary: RunSummary, primary_keys: dict[int, str] | None = None) -> None:
        self.recorder = recorder
        self.summary = summary
        self.primary_keys = primary_keys  # the pipeline's, of the records in flight (options.primary_key)
        self.by_batch: dict[int, list[str]] = {}  # batch seq → the jobs that hold its records
        self.reopened: list[OpenJob] = []

    def accepted(self, batch: Batch, job_id: str) -> None:
        held = self.primary_keys
        self.recorder.state.open_job(self.summary.run_id, job_id, batch.rows, batch.keys,
                                     [held.get(row) for row in batch.rows] if held else None)
        self.by_batch.setdefault(batch.seq, []).append(job_id)

    def settled(self, batch: Batch) -> None:
        """The batch's outcomes are about to be recorded: its jobs close in the same transaction."""
        self.recorder.jobs_done += self.by_batch.pop(batch.seq, [])

    def reopen(self, run_id: str) -> None:
        """A resumed run: the open jobs of the run it continues, whose rows it will not read again."""
        self.reopened = self.recorder.state.open_jobs(run_id)
        for job in self.reopened:
            self.recorder.mark_done(job.rows)

    async def finish_reopened(self, pipeline: Pipeline) -> None:
        """Poll each reopened job (together) and record its rows' outcomes."""
        follower = pipeline.deliverer.job
        assert follower is not None
        await asyncio.gather(*(self._finish(pipeline, follower, job, -(i + 1)) for i, job in enumerate(self.reopened)))

    async def _finish(self, pipeline: Pipeline, follower: JobFollower, job: OpenJob, seq: int) -> None:
        batch = Batch(list(job.rows), list(job.keys), [b""] * len(job.rows), 0, seq)
        try:
            outcomes, again = await follower.follow(batch, job.job_id, 1, wait_first=False)
        except AuthFailed as exc:
            pipeline.aborted = f"auth_failed: {redact(str(exc), pipeline.secrets)}"
            return
        if again is not None:  # a transient per-record failure: its body is not kept, so the next run sends it
            outcomes += [Outcome(row=row, status=Status.DEAD_LETTERED, key=None if key is None else str(key),
                                 reason=Reason.SERVER_ERROR, attempts=1,
                                 message=f"the destination's job {job.job_id} reported a transient failure for this "
                                 "record; it is dead-lettered, to be sent again by the next run or `destkit retry`.")
                         for row, key in zip(again.rows, again.keys, strict=True)]
        self.recorder.jobs_done.append(job.job_id)
        pipeline.primary_keys.update(job.held_primary_keys())  # rows not read again: their keys come from the store
        stats = pipeline.deliverer.stats
        self.summary.requests, self.summary.retries = stats.requests, stats.retries
        pipeline.emit_batch(outcomes)


__all__ = ["StoredJobs"]
