"""Delivered records recorded as columns (`DeliveredRows`, no `Outcome` each) read back exactly as their
outcomes would; destination ids reach `destination_ids` in bulk, when someone first looks one up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from starlette.applications import Starlette

from destkit.runtime.delivery.delivered import DeliveredRows
from destkit.runtime.engine.recorder import Recorder
from destkit.runtime.engine.state import StateStore, StateStoreError
from destkit.runtime.outcomes import Outcome, Reason, RunSummary, Status
from tests.conftest import in_process_sync, store_with_run
from tests.runtime.engine.test_send_contacts import audience


def columns(rows: list[int], keys: list[object], ids: list[str | None], attempt: int = 1) -> DeliveredRows:
    delivered = DeliveredRows()
    delivered.add(rows, keys, ids, attempt)
    return delivered


def test_delivered_columns_read_back_as_the_outcomes_they_stand_for(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    store.record(run_id, "hello_charles", [], 3, 3, delivered=[columns([1, 2, 3], ["c1", None, 7], ["id-1", None, "id-3"], 2)])
    assert list(store.outcomes(run_id)) == [
        Outcome(row=1, status=Status.DELIVERED, key="c1", destination_id="id-1", attempts=2),
        Outcome(row=2, status=Status.DELIVERED, key=None, attempts=2),
        Outcome(row=3, status=Status.DELIVERED, key="7", destination_id="id-3", attempts=2),
    ]


def test_delivered_columns_without_ids_leave_the_id_empty(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    store.record(run_id, "hello_charles", [], 2, 2, delivered=[columns([1, 2], ["c1", "c2"], [None, None])])
    assert [(o.key, o.destination_id) for o in store.outcomes(run_id)] == [("c1", None), ("c2", None)]
    assert store.destination_id("hello_charles", "c1") is None


def test_delivered_columns_keep_each_rows_primary_key(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    recorder = Recorder(store, "hello_charles", RunSummary(run_id=run_id))
    primary_keys = {1: "pk-1", 3: "pk-3", 9: "pk-9"}
    assert recorder.add_delivered(columns([1, 2, 3], ["c1", "c2", "c3"], ["i1", "i2", "i3"]), primary_keys) == 3
    recorder.flush()
    assert [o.primary_key for o in store.outcomes(run_id)] == ["pk-1", None, "pk-3"]
    assert primary_keys == {9: "pk-9"}


def test_more_rows_than_one_statement_binds_are_all_written_in_order(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    store.max_variables = 9  # the run id and two rows of four values a statement
    rows = [1, 2, 3, 4, 5, 1]  # row 1 twice: the last one written stays
    ids: list[str | None] = ["a", "b", "c", "d", "e", "f"]
    store.record(run_id, "hello_charles", [], 5, 5, delivered=[columns(rows, ["k1", "k2", "k3", "k4", "k5", "k1"], ids)])
    assert [(o.row, o.destination_id) for o in store.outcomes(run_id)] == [(1, "f"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]


def test_a_recorder_flush_writes_columns_and_outcomes_with_the_checkpoint_they_justify(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    summary = RunSummary(run_id=run_id, received=4)
    recorder = Recorder(store, "hello_charles", summary)
    recorder.add(Outcome(row=2, status=Status.INVALID, key="c2", reason=Reason.INVALID_EMAIL, field="email", message="bad"))
    recorder.add_delivered(columns([1, 3], ["c1", "c3"], ["i1", "i3"]), {})
    recorder.flush()
    run = store.run(run_id)
    assert run is not None and run.checkpoint == 3
    assert [(o.row, o.status) for o in store.outcomes(run_id)] == [
        (1, Status.DELIVERED), (2, Status.INVALID), (3, Status.DELIVERED)]


def test_a_failed_write_keeps_the_columns_buffered_and_the_checkpoint_where_it_was(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    recorder = Recorder(store, "hello_charles", RunSummary(run_id=run_id, received=2))
    delivered = columns([1, 2], ["c1", "c2"], ["i1", "i2"])
    recorder.add_delivered(delivered, {})
    (pages,) = store.db.execute("PRAGMA page_count").fetchone()
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    big = columns(list(range(3, 3003)), [f"key-{i:06d}" * 4 for i in range(3000)], [f"id-{i:06d}" * 4 for i in range(3000)])
    recorder.add_delivered(big, {})
    with pytest.raises(StateStoreError, match="database or disk is full"):
        recorder.flush()
    assert recorder.delivered == [delivered, big]
    assert recorder.watermark.value == 0
    assert store.db.execute("SELECT COUNT(*) FROM outcomes").fetchone() == (0,)
    run = store.run(run_id)
    assert run is not None and run.checkpoint == 0


def test_a_keys_id_is_found_while_its_run_is_still_going(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    store.record(run_id, "hello_charles", [], 1, 1, delivered=[columns([1], ["c1"], ["first"])])
    assert store.destination_id("hello_charles", "c1") == "first"
    store.record(run_id, "hello_charles", [], 2, 2, delivered=[columns([2], ["c1"], ["second"])])
    assert store.destination_id("hello_charles", "c1") == "second"


def test_a_killed_runs_ids_are_found_by_a_store_opened_later(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    store.record(run_id, "hello_charles", [], 1, 1, delivered=[columns([1], ["c1"], ["id-1"])])
    store.close()  # never finished: as after a SIGKILL
    assert StateStore(tmp_path / "state.sqlite").destination_id("hello_charles", "c1") == "id-1"


def test_a_later_runs_id_for_a_key_replaces_an_earlier_runs(tmp_path: Path) -> None:
    store, first = store_with_run(tmp_path / "state.sqlite")
    store.record(first, "hello_charles", [], 1, 1, delivered=[columns([1], ["c1"], ["old"])])
    second = store.start_run("hello_charles", "send_contacts", "hash", "ref")
    store.record(second, "hello_charles", [], 1, 1, delivered=[columns([5], ["c1"], ["new"])])
    assert store.destination_id("hello_charles", "c1") == "new"


def test_a_finished_runs_ids_are_found_by_destination_id_whose_first_lookup_copies_them_all(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    store.record(run_id, "hello_charles", [], 2, 2, delivered=[columns([1, 2], ["c2", "c1"], ["i2", "i1"])])
    store.finish_run(run_id, 2)
    assert store.db.execute("SELECT COUNT(*) FROM destination_ids").fetchone() == (0,)  # the run's end copies nothing
    assert store.destination_id("hello_charles", "c1") == "i1"
    rows = store.db.execute("SELECT destination, key, destination_id FROM destination_ids ORDER BY key").fetchall()
    assert rows == [("hello_charles", "c1", "i1"), ("hello_charles", "c2", "i2")]
    assert store.db.execute("SELECT COUNT(*) FROM pending_ids").fetchone() == (0,)


def test_a_sync_records_delivered_records_the_same_whether_or_not_a_callback_watches_them(
        app: Starlette, tmp_path: Path) -> None:
    records = audience(1200)
    unwatched = StateStore(tmp_path / "unwatched.sqlite")
    watched = StateStore(tmp_path / "watched.sqlite")
    seen: list[Outcome] = []
    first = in_process_sync(app).run(records, state=unwatched, input_ref="a")
    second = in_process_sync(app).run(records, state=watched, input_ref="a", on_outcome=seen.append)
    assert list(unwatched.outcomes(first.summary.run_id)) == list(watched.outcomes(second.summary.run_id))
    assert first.summary.counts == second.summary.counts
    assert len(seen) == 1200


def test_an_older_store_gets_the_pending_ids_table(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    StateStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE pending_ids")
    store, run_id = store_with_run(path)
    store.record(run_id, "hello_charles", [], 1, 1, delivered=[columns([1], ["c1"], ["id-1"])])
    assert store.destination_id("hello_charles", "c1") == "id-1"
