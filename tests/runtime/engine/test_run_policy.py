"""The run policy through the Python API: what `destkit sync --resume` and `destkit retry` do, an
embedding platform gets from `Sync.run(records, state=..., input_ref=..., mode=...)` or `plan_run`.

Every test drives the in-process Hello Charles emulator; none goes through the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import EmulatorState, create_app
from destkit.runtime import Outcome, Status, Sync
from destkit.runtime.engine import InputChanged, RunMode, StateStore, plan_run
from destkit.runtime.errors import UsageError
from tests.conftest import (
    API_KEY,
    PROPERTIES,
    TAGS,
    Crash,
    crashing,
    emulator_state,
    hc_config,
    in_process_sync,
)
from tests.runtime.engine.test_send_contacts import BAD_ROWS, audience

RETRY_MAPPING = {"external_reference_id": "user_id", "first_name": "first_name", "phone_number": "phone"}


class Watched:
    """An iterable that notes whether anything read it."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.read = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.read = True
        return iter(self.records)


def crashed_run(sync: Sync, store: StateStore, records: list[dict[str, Any]], input_ref: str) -> str:
    """Run until a crash after 1,700 records; the id of the unfinished run it leaves."""
    with pytest.raises(Crash):
        sync.run(crashing(records, after=1700), state=store, input_ref=input_ref)
    unfinished = store.last_run("hello_charles", "send_contacts", unfinished=True)
    assert unfinished is not None
    return unfinished.run_id


# --- resume ---------------------------------------------------------------------------------------


def test_resume_continues_the_unfinished_run_with_the_rows_it_had_not_finished(app: Starlette, store: StateStore) -> None:
    sync, records = in_process_sync(app), audience(2500)
    run_id = crashed_run(sync, store, records, "audience-v1")
    finished_before = {o.row for o in store.outcomes(run_id)}
    outcomes: list[Outcome] = []
    result = sync.run(records, state=store, input_ref="audience-v1", mode="resume", on_outcome=outcomes.append)
    assert result.plan is not None and result.plan.resume is not None
    assert (result.plan.mode, result.plan.resume.run_id, result.summary.run_id) == (RunMode.RESUME, run_id, run_id)
    assert 0 < len(finished_before) < 2500
    assert sorted(o.row for o in outcomes) == sorted(set(range(1, 2501)) - finished_before)


def test_a_resumed_run_accounts_for_every_row_exactly_once(app: Starlette, store: StateStore) -> None:
    sync, records = in_process_sync(app), audience(2500)
    run_id = crashed_run(sync, store, records, "audience-v1")
    summary = sync.run(records, state=store, input_ref="audience-v1", mode="resume").summary
    assert (summary.received, summary.delivered, summary.count(Status.INVALID)) == (2500, 2500 - len(BAD_ROWS), len(BAD_ROWS))
    assert [o.row for o in store.outcomes(run_id)] == list(range(1, 2501))
    run = store.run(run_id)
    assert run is not None and (run.status, run.checkpoint) == ("finished", 2500)
    assert len(emulator_state(app).contacts) == 2500 - len(BAD_ROWS)


def test_resume_refuses_an_unfinished_run_that_read_another_input(app: Starlette, store: StateStore) -> None:
    sync = in_process_sync(app)
    run_id = crashed_run(sync, store, audience(2500), "audience-v1")
    records = Watched(audience(2500))
    with pytest.raises(InputChanged) as refused:
        sync.run(records, state=store, input_ref="audience-v2", mode="resume")
    assert (refused.value.run.run_id, refused.value.input_ref, records.read) == (run_id, "audience-v2", False)


def test_resume_with_no_unfinished_run_starts_a_new_run(app: Starlette, store: StateStore) -> None:
    sync = in_process_sync(app)
    first = sync.run(audience(10), state=store, input_ref="audience-v1")
    again = sync.run(audience(10), state=store, input_ref="audience-v1", mode="resume")
    assert again.plan is not None and again.plan.resume is None
    assert again.summary.run_id != first.summary.run_id
    assert (again.summary.received, again.summary.delivered) == (10, 9)  # row 7 has a malformed phone
    run = store.run(again.summary.run_id)
    assert run is not None and (run.kind, run.status, run.input_ref) == ("sync", "finished", "audience-v1")


def test_resume_only_continues_a_run_of_the_same_config(app: Starlette, store: StateStore) -> None:
    crashed_run(in_process_sync(app), store, audience(2500), "audience-v1")
    other_settings = in_process_sync(app, hc_config(settings={"subdomain": "other"}))
    result = other_settings.run(audience(10), state=store, input_ref="audience-v1", mode="resume")
    assert result.plan is not None and result.plan.resume is None
    assert result.summary.received == 10


# --- retry ----------------------------------------------------------------------------------------


@pytest.fixture
def workspace() -> EmulatorState:
    """One emulator workspace, served first by a failing emulator, then by a healthy one."""
    return EmulatorState()


def failing(workspace: EmulatorState) -> Starlette:
    """An emulator that answers every batch 503 (made just before its run: faults belong to the app)."""
    return create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=workspace,
                      faults=FaultPlan(rate_503=1.0))


def healthy(workspace: EmulatorState) -> Starlette:
    return create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=workspace)


def retry_sync(app: Starlette) -> Sync:
    return in_process_sync(app, hc_config(mapping=RETRY_MAPPING, options={"max_attempts": 1, "concurrency": 1}))


def test_retry_sends_only_the_records_the_last_run_dead_lettered(store: StateStore, workspace: EmulatorState) -> None:
    first = retry_sync(failing(workspace)).run(audience(8), state=store, input_ref="audience-v1")
    assert (first.summary.count(Status.DEAD_LETTERED), first.summary.count(Status.INVALID)) == (7, 1)
    outcomes: list[Outcome] = []
    again = retry_sync(healthy(workspace)).run(audience(8), state=store, input_ref="audience-v1", mode="retry",
                                    on_outcome=outcomes.append)
    sent_again = frozenset(f"u{row:05d}" for row in (1, 2, 3, 4, 5, 6, 8))  # row 7 was invalid: a retry cannot fix it
    assert again.plan is not None and again.plan.retry_of is not None
    assert (again.plan.mode, again.plan.retry_of.run_id, again.plan.only_keys) == (RunMode.RETRY, first.summary.run_id, sent_again)
    assert (again.summary.received, again.summary.delivered) == (7, 7)
    assert {o.key for o in outcomes} == sent_again
    assert set(workspace.contacts) == sent_again


def test_retry_sends_the_records_current_data(store: StateStore, workspace: EmulatorState) -> None:
    retry_sync(failing(workspace)).run(audience(3), state=store, input_ref="audience-v1")
    records = audience(3)
    records[1]["first_name"] = "Changed"  # the source changed since the failed run
    retry_sync(healthy(workspace)).run(records, state=store, input_ref="audience-v2", mode="retry")
    assert workspace.contacts["u00002"].first_name == "Changed"


def test_a_retry_is_recorded_as_a_retry_run(store: StateStore, workspace: EmulatorState) -> None:
    retry_sync(failing(workspace)).run(audience(3), state=store, input_ref="audience-v1")
    again = retry_sync(healthy(workspace)).run(audience(3), state=store, input_ref="audience-v1", mode="retry")
    run = store.run(again.summary.run_id)
    assert run is not None and (run.kind, run.status, run.received) == ("retry", "finished", 3)


def test_retry_with_nothing_to_retry_reads_no_record_and_records_no_run(app: Starlette, store: StateStore) -> None:
    sync = in_process_sync(app)
    first = sync.run(audience(10), state=store, input_ref="audience-v1")
    records = Watched(audience(10))
    again = sync.run(records, state=store, input_ref="audience-v1", mode="retry")
    assert again.plan is not None and again.plan.nothing_to_do
    assert (again.summary.received, records.read) == (0, False)
    last = store.last_run("hello_charles", "send_contacts")
    assert last is not None and last.run_id == first.summary.run_id


def test_a_plan_made_first_is_what_the_run_does(store: StateStore, workspace: EmulatorState) -> None:
    first = retry_sync(failing(workspace)).run(audience(4), state=store, input_ref="audience-v1")
    sync = retry_sync(healthy(workspace))
    plan = plan_run(sync, store, mode="retry", input_ref="audience-v1")
    assert plan.retry_of is not None
    assert (plan.retry_of.run_id, plan.only_keys) == (first.summary.run_id, frozenset({"u00001", "u00002", "u00003", "u00004"}))
    result = sync.run(audience(4), state=store, plan=plan)
    assert (result.plan, result.summary.delivered) == (plan, 4)
    assert set(workspace.contacts) == {"u00001", "u00002", "u00003", "u00004"}


# --- misuse ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["resume", "retry"])
def test_resume_and_retry_need_a_state_store(app: Starlette, mode: str) -> None:
    records = Watched(audience(3))
    with pytest.raises(UsageError, match=f"a {mode} run needs a state store"):
        in_process_sync(app).run(records, mode=mode)
    assert not records.read


def test_an_unknown_mode_is_refused(app: Starlette, store: StateStore) -> None:
    with pytest.raises(UsageError, match="unknown run mode 'replay'"):
        in_process_sync(app).run(audience(3), state=store, mode="replay")
