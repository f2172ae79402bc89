"""`options.primary_key` across an async job a resumed run polls: the rows it does not read again keep
their primary keys, kept with the open job in the state store."""

from __future__ import annotations

from pathlib import Path

from destkit.runtime.engine.state import StateStore
from destkit.runtime.outcomes import Status
from tests.runtime.delivery.test_async_jobs import (
    EMAILS,
    JobDesk,
    job_sync,
    records,
    stop_once_jobs_are_polled,
)


def test_the_outcomes_of_a_reopened_job_carry_the_primary_keys_of_its_rows(tmp_path: Path) -> None:
    desk = JobDesk(end="never", failing={EMAILS[4]: "invalid"})
    store = StateStore(tmp_path / "state.sqlite")
    stop_once_jobs_are_polled(job_sync(desk, concurrency=2, primary_key="email"), desk, store)
    [first] = store.runs("jobby", "import_rows")
    assert sorted((job.job_id, tuple(job.primary_keys or ())) for job in store.open_jobs(first.run_id)) == [
        ("job-1", tuple(EMAILS[:4])), ("job-2", tuple(EMAILS[4:]))]

    desk.end = "complete"
    result = job_sync(desk, concurrency=2, primary_key="email").run(records(EMAILS), state=store, input_ref="v1",
                                                                    mode="resume")
    assert desk.requests["submit"] == 2  # the rows were not read again
    assert [(o.row, o.status, o.primary_key) for o in store.outcomes(result.summary.run_id)] == [
        (1, Status.DELIVERED, EMAILS[0]), (2, Status.DELIVERED, EMAILS[1]), (3, Status.DELIVERED, EMAILS[2]),
        (4, Status.DELIVERED, EMAILS[3]), (5, Status.REJECTED, EMAILS[4]), (6, Status.DELIVERED, EMAILS[5])]


def test_a_job_opened_without_primary_keys_reads_back_with_none(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    store.open_job("run-1", "job-1", [1, 2], ["a", "b"])
    [job] = store.open_jobs("run-1")
    assert (job.primary_keys, job.held_primary_keys()) == (None, {})
