"""`retry` sends every record of the config and input whose latest outcome, across runs, is a failure.

Through the Python API against the in-process Hello Charles emulator: a first run whose every
batch is answered 503 leaves dead-lettered records; retries then go to a healthy emulator sharing
the same workspace. A run is "interrupted" by a source that raises after some records.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from destkit.destinations.hello_charles.emulator import EmulatorState
from destkit.runtime import Outcome, Status, Sync
from destkit.runtime.engine import RunMode, StateStore, input_ref, plan_run
from destkit.runtime.engine.policy import sync_hash
from destkit.runtime.outcomes import Reason
from tests.conftest import Crash, crashing, hc_config, in_process_sync
from tests.runtime.engine.test_run_policy import RETRY_MAPPING, failing, healthy
from tests.runtime.engine.test_send_contacts import audience

ROWS = 2500
INVALID_ROWS = frozenset({7, 999, 2000, 2400})  # audience() with RETRY_MAPPING: bad phones, no key, a long name


def one_attempt(app: Any) -> Sync:
    return in_process_sync(app, hc_config(mapping=RETRY_MAPPING, options={"max_attempts": 1, "concurrency": 1}))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    state = StateStore(tmp_path / "state.sqlite")
    yield state
    state.close()


@pytest.fixture
def workspace() -> EmulatorState:
    return EmulatorState()


def all_valid_keys(rows: int = ROWS) -> set[str]:
    return {f"u{row:05d}" for row in range(1, rows + 1) if row not in INVALID_ROWS}


def failed_first_run(store: StateStore, workspace: EmulatorState, ref: str = "v1", rows: int = ROWS) -> str:
    first = one_attempt(failing(workspace)).run(audience(rows), state=store, input_ref=ref)
    assert first.summary.count(Status.DEAD_LETTERED) == len(all_valid_keys(rows))
    return first.summary.run_id


def interrupted_retry(store: StateStore, workspace: EmulatorState, ref: str = "v1") -> str:
    """A retry that delivered its first two batches (rows 1-2003 but the invalid 7, 999 and 2000), then its source failed."""
    with pytest.raises(Crash):
        one_attempt(healthy(workspace)).run(crashing(audience(ROWS), after=2100), state=store, input_ref=ref,
                                            mode="retry")
    unfinished = store.last_run("hello_charles", "send_contacts", unfinished=True)
    assert unfinished is not None and unfinished.kind == "retry"
    assert len(workspace.contacts) == 2000
    return unfinished.run_id


def test_a_retry_after_an_interrupted_retry_sends_every_record_still_undelivered(
        store: StateStore, workspace: EmulatorState) -> None:
    failed_first_run(store, workspace)
    interrupted_retry(store, workspace)
    again = one_attempt(healthy(workspace)).run(audience(ROWS), state=store, input_ref="v1", mode="retry")
    assert again.plan is not None and not again.plan.nothing_to_do
    assert set(workspace.contacts) == all_valid_keys()


def test_the_next_retry_continues_an_interrupted_retry_and_accounts_for_each_row_once(
        store: StateStore, workspace: EmulatorState) -> None:
    failed_first_run(store, workspace)
    run_id = interrupted_retry(store, workspace)
    outcomes: list[Outcome] = []
    again = one_attempt(healthy(workspace)).run(audience(ROWS), state=store, input_ref="v1", mode="retry",
                                                on_outcome=outcomes.append)
    assert again.summary.run_id == run_id
    assert {o.row for o in outcomes} == set(range(2004, ROWS + 1)) - INVALID_ROWS
    assert [o.row for o in store.outcomes(run_id)] == [r for r in range(1, ROWS + 1) if r not in INVALID_ROWS]
    assert (again.summary.received, again.summary.delivered) == (ROWS - 4, ROWS - 4)
    run = store.run(run_id)
    assert run is not None and run.status == "finished"


def test_a_retry_reports_the_rows_of_the_input_not_a_renumbering(store: StateStore, workspace: EmulatorState) -> None:
    one_attempt(failing(workspace)).run(audience(12), state=store, input_ref="v1")
    records = audience(12)
    outcomes: list[Outcome] = []
    one_attempt(healthy(workspace)).run(records, state=store, input_ref="v1", mode="retry", on_outcome=outcomes.append)
    assert [o.row for o in outcomes] == [r for r in range(1, 13) if r not in INVALID_ROWS]
    assert [o.key for o in outcomes] == [f"u{r:05d}" for r in range(1, 13) if r not in INVALID_ROWS]


def test_a_record_a_later_run_delivered_is_not_retried(store: StateStore, workspace: EmulatorState) -> None:
    failed_first_run(store, workspace, rows=10)
    one_attempt(healthy(workspace)).run(audience(10), state=store, input_ref="v1")
    plan = plan_run(one_attempt(healthy(workspace)), store, mode="retry", input_ref="v1")
    assert plan.nothing_to_do


def test_retry_repairs_the_input_it_is_given_even_after_a_run_of_another_input(
        tmp_path: Path, store: StateStore, workspace: EmulatorState) -> None:
    file_a, file_b = tmp_path / "a.csv", tmp_path / "b.csv"
    file_a.write_text("a\n")
    file_b.write_text("b\n")
    failed_first_run(store, workspace, input_ref(file_a), rows=10)
    one_attempt(healthy(workspace)).run(audience(3), state=store, input_ref=input_ref(file_b))
    file_a.write_text("a, fixed\n")  # the input may change between a run and its retry
    plan = plan_run(one_attempt(healthy(workspace)), store, mode="retry", input_ref=input_ref(file_a))
    assert plan.only_keys == all_valid_keys(10)


def test_resume_finds_the_unfinished_run_of_its_input_though_a_later_run_read_another(
        tmp_path: Path, store: StateStore, workspace: EmulatorState) -> None:
    file_a, file_b = tmp_path / "a.csv", tmp_path / "b.csv"
    file_a.write_text("a\n")
    file_b.write_text("b\n")
    sync = one_attempt(healthy(workspace))
    with pytest.raises(Crash):
        sync.run(crashing(audience(ROWS), after=2100), state=store, input_ref=input_ref(file_a))
    crashed = store.last_run("hello_charles", "send_contacts", unfinished=True)
    assert crashed is not None
    with pytest.raises(Crash):
        sync.run(crashing(audience(ROWS), after=1100), state=store, input_ref=input_ref(file_b))
    plan = plan_run(sync, store, mode=RunMode.RESUME, input_ref=input_ref(file_a))
    assert plan.resume is not None and plan.resume.run_id == crashed.run_id


def seeded_unknown_delivery(sync: Sync, store: StateStore) -> None:
    """An earlier run in the store: rows 1-2 dead-lettered with unknown delivery, row 3 dead-lettered by a 503."""
    run_id = store.start_run("hello_charles", "send_contacts", sync_hash(sync), "v1")
    outcomes = [Outcome(row=1, status=Status.DEAD_LETTERED, key="u00001", reason=Reason.UNKNOWN_DELIVERY),
                Outcome(row=2, status=Status.DEAD_LETTERED, key="u00002", reason=Reason.UNKNOWN_DELIVERY),
                Outcome(row=3, status=Status.DEAD_LETTERED, key="u00003", reason=Reason.SERVER_ERROR),
                Outcome(row=4, status=Status.DELIVERED, key="u00004")]
    store.record(run_id, "hello_charles", outcomes, 4, 4)
    store.finish_run(run_id, 4)


def test_records_whose_delivery_is_unknown_are_not_retried_by_default(store: StateStore,
                                                                        workspace: EmulatorState) -> None:
    sync = one_attempt(healthy(workspace))
    seeded_unknown_delivery(sync, store)
    result = sync.run(audience(4), state=store, input_ref="v1", mode="retry")
    assert result.plan is not None and result.plan.only_keys == {"u00003"}
    assert set(workspace.contacts) == {"u00003"}


def test_include_unknown_resends_records_whose_delivery_is_unknown(store: StateStore,
                                                                    workspace: EmulatorState) -> None:
    sync = one_attempt(healthy(workspace))
    seeded_unknown_delivery(sync, store)
    result = sync.run(audience(4), state=store, input_ref="v1", mode="retry", include_unknown=True)
    assert result.plan is not None and result.plan.only_keys == {"u00001", "u00002", "u00003"}
    assert set(workspace.contacts) == {"u00001", "u00002", "u00003"}
