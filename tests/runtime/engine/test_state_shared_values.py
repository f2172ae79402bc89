"""What every record of a delivered batch has alike (its attempts, an id that is its key) is written once per
statement, not bound per record, and reads back exactly as if each record had its own."""

from __future__ import annotations

from pathlib import Path

from destkit.runtime.delivery.delivered import DeliveredRows
from destkit.runtime.engine.outcome_writes import Shared, values_insert
from destkit.runtime.outcomes import Outcome, Status
from tests.conftest import store_with_run
from tests.runtime.engine.test_state_columns import columns


def test_ids_that_are_the_keys_and_one_attempt_read_back_per_record(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    store.record(run_id, "hello_charles", [], 3, 3, delivered=[columns([1, 2, 3], ["c1", None, "c3"], ["c1", None, "c3"], 2)])
    assert list(store.outcomes(run_id)) == [
        Outcome(row=1, status=Status.DELIVERED, key="c1", destination_id="c1", attempts=2),
        Outcome(row=2, status=Status.DELIVERED, key=None, attempts=2),
        Outcome(row=3, status=Status.DELIVERED, key="c3", destination_id="c3", attempts=2),
    ]
    assert store.destination_id("hello_charles", "c3") == "c3"


def test_records_delivered_on_different_attempts_keep_each_their_own(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    delivered = DeliveredRows()
    delivered.add([1], ["c1"], ["i1"], 1)
    delivered.add([2], ["c2"], ["c2"], 3)
    store.record(run_id, "hello_charles", [], 2, 2, delivered=[delivered])
    assert [(o.row, o.destination_id, o.attempts) for o in store.outcomes(run_id)] == [(1, "i1", 1), (2, "c2", 3)]


def test_a_statement_binds_only_what_differs_from_record_to_record() -> None:
    sql = values_insert(("row", "key"), 2, Shared(attempts=1, id_is_key=True))
    assert sql == ("INSERT OR REPLACE INTO outcomes (run_id, status, attempts, row, key, destination_id) "
                   "VALUES (?1, 'delivered', 1, ?2, ?3, ?3), (?1, 'delivered', 1, ?4, ?5, ?5)")
