"""The state store: outcomes and checkpoints are durable together, and a run resumes where it stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette

from destkit.runtime import Outcome, Status
from destkit.runtime.engine.state import StateStore, Watermark
from tests.conftest import Crash, crashing, emulator_state, in_process_sync
from tests.runtime.engine.test_send_contacts import BAD_ROWS, audience


def test_watermark_moves_only_over_contiguous_rows() -> None:
    w = Watermark()
    w.add([2, 3])
    assert w.value == 0
    w.add([1])
    assert w.value == 3
    w.add([5])
    assert w.value == 3


def test_a_finished_run_records_every_outcome_and_a_full_checkpoint(app: Starlette, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    result = in_process_sync(app).run(audience(2500), state=store, input_ref="audience.csv")
    run = store.run(result.summary.run_id)
    assert run is not None
    assert (run.status, run.checkpoint, run.received) == ("finished", 2500, 2500)
    assert sum(1 for _ in store.outcomes(run.run_id)) == 2500
    assert {o.row for o in store.outcomes(run.run_id, not_delivered_only=True)} == set(BAD_ROWS)


def test_destination_ids_from_upserts_are_kept(app: Starlette, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    in_process_sync(app).run(audience(3), state=store)
    assert store.destination_id("hello_charles", "u00002") == emulator_state(app).contacts["u00002"].id


def test_a_run_that_stopped_midway_resumes_and_accounts_for_every_row_once(app: Starlette, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    records = audience(2500)
    sync = in_process_sync(app)
    with pytest.raises(Crash):
        sync.run(crashing(records, after=1700), state=store, input_ref="a")
    unfinished = store.last_run("hello_charles", "send_contacts", unfinished=True)
    assert unfinished is not None and unfinished.checkpoint > 0
    outcomes: list[Outcome] = []
    result = sync.run(records, state=store, input_ref="a", resume=unfinished, on_outcome=outcomes.append)
    summary = result.summary
    assert summary.run_id == unfinished.run_id
    assert (summary.received, summary.delivered, summary.count(Status.INVALID)) == (2500, 2500 - len(BAD_ROWS), len(BAD_ROWS))
    assert summary.reconciles()
    assert all(o.row > unfinished.checkpoint for o in outcomes)
    stored = [o.row for o in store.outcomes(unfinished.run_id)]
    assert stored == list(range(1, 2501))
    state = emulator_state(app)
    assert len(state.contacts) == 2500 - len(BAD_ROWS)


def test_rejected_records_are_what_retry_sends_again(app: Starlette, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    sync = in_process_sync(app)
    sync.path = "/api/v1beta/contacts/nowhere"  # the destination answers 404 to every batch: rejected
    result = sync.run(audience(3), state=store)
    assert result.summary.count(Status.REJECTED) == 3
    assert store.keys_to_retry(result.summary.run_id) == {"u00001", "u00002", "u00003"}


def test_the_store_holds_no_secret(app: Starlette, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    in_process_sync(app).run(audience(20), state=store)
    assert "test-key" not in store.all_text()


def test_incremental_sync_skips_records_unchanged_since_their_last_delivery(app: Starlette, tmp_path: Path) -> None:
    from tests.conftest import hc_config

    store = StateStore(tmp_path / "state.sqlite")
    sync = in_process_sync(app, hc_config(options={"incremental": True}))
    records = audience(30)
    first = sync.run(records, state=store)
    assert (first.summary.delivered, first.summary.count(Status.SKIPPED)) == (29, 0)  # row 7 is invalid
    records[2]["first_name"] = "Changed"
    outcomes: list[Outcome] = []
    second = sync.run(records, state=store, on_outcome=outcomes.append)
    assert (second.summary.delivered, second.summary.count(Status.SKIPPED), second.summary.count(Status.INVALID)) == (1, 28, 1)
    assert [o.row for o in outcomes if o.status is Status.DELIVERED] == [3]
    assert {o.reason for o in outcomes if o.status is Status.SKIPPED} == {"unchanged"}
    assert second.summary.reconciles()
    assert emulator_state(app).contacts["u00003"].first_name == "Changed"
    batches = [r for r in emulator_state(app).requests if r.path.endswith("/batch")]
    assert [r.contact_count for r in batches] == [29, 1]


def test_without_incremental_every_record_is_sent_again(app: Starlette, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    sync = in_process_sync(app)
    sync.run(audience(10), state=store)
    again = sync.run(audience(10), state=store)
    assert (again.summary.delivered, again.summary.count(Status.SKIPPED)) == (9, 0)
