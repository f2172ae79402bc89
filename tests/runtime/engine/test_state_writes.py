"""How the state store writes a batch of outcomes: every field comes back as written, whichever
insert wrote it, and the store is in WAL mode with NORMAL sync (durable against a killed process)."""

from __future__ import annotations

from pathlib import Path

from destkit.runtime.outcomes import Outcome, Reason, Status
from tests.conftest import store_with_run


def test_plain_and_detailed_outcomes_in_one_batch_read_back_exactly(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    written = [
        Outcome(row=1, status=Status.DELIVERED, key="c1", destination_id="id-1", attempts=1),
        Outcome(row=2, status=Status.INVALID, key="c2", reason=Reason.INVALID_EMAIL, field="email",
                message="not an email", value="nope"),
        Outcome(row=3, status=Status.DELIVERED, key=None, attempts=2),
        Outcome(row=4, status=Status.DELIVERED, key="c4", destination_id="id-4", attempts=1,
                warnings=[{"reason": "truncated", "field": "name"}]),
        Outcome(row=5, status=Status.REJECTED, key="c5", reason=Reason.DESTINATION_REJECTED, destination_status=422,
                destination_code="bad", destination_message="no", attempts=1),
    ]
    store.record(run_id, "hello_charles", written, 5, 5)
    assert list(store.outcomes(run_id)) == written


def test_a_row_written_twice_in_one_batch_keeps_the_last_outcome(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    first = Outcome(row=1, status=Status.INVALID, key="c1", reason=Reason.INVALID_EMAIL, field="email", message="bad")
    last = Outcome(row=1, status=Status.DELIVERED, key="c1", destination_id="id-1", attempts=1)
    store.record(run_id, "hello_charles", [first, last], 1, 1)
    assert list(store.outcomes(run_id)) == [last]


def test_delivered_ids_are_kept_for_their_keys(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    store.record(run_id, "hello_charles", [Outcome(row=1, status=Status.DELIVERED, key="c1", destination_id="id-1")], 1, 1)
    assert store.destination_id("hello_charles", "c1") == "id-1"


def test_the_store_logs_ahead_and_syncs_at_checkpoints(tmp_path: Path) -> None:
    store, _ = store_with_run(tmp_path / "state.sqlite")
    assert store.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store.db.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone() == (10000,)
