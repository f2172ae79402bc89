"""The state store's writer thread: a flushed batch is written there while the run goes on (`flush_behind`),
one batch at a time, every other use of the connection waiting for it, and a failed write surfacing at the
next flush (or the run's end) with nothing moved, as a failed `flush` does."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from starlette.applications import Starlette

from destkit.runtime.delivery.delivered import DeliveredRows
from destkit.runtime.engine.recorder import Recorder
from destkit.runtime.engine.state import StateStore, StateStoreError
from destkit.runtime.outcomes import Outcome, Reason, RunSummary, Status
from tests.conftest import in_process_sync, store_with_run
from tests.runtime.engine.test_send_contacts import audience
from tests.runtime.engine.test_state_columns import columns


def delivered(rows: list[int], keys: list[str]) -> DeliveredRows:
    """These rows delivered, each with its key as its destination id."""
    return columns(rows, list(keys), list(keys))


class HeldWrite:
    """An `also` writer that holds its transaction open until released, noting the thread it ran on."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.thread = ""

    def __call__(self, db: sqlite3.Connection) -> None:
        self.thread = threading.current_thread().name
        self.release.wait()


def fill_up(store: StateStore) -> None:
    """The store's file may not grow any more: the next sizeable write fails "database or disk is full"."""
    (pages,) = store.db.execute("PRAGMA page_count").fetchone()
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def big_batch(first_row: int, n: int = 3000) -> DeliveredRows:
    return delivered(list(range(first_row, first_row + n)), [f"key-{i:06d}" * 4 for i in range(n)])


def test_a_write_behind_runs_on_the_writer_thread_and_a_read_after_it_sees_its_rows(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    held = HeldWrite()
    write = store.record_behind(run_id, "hello_charles", [], 2, 2, None, held, None, [delivered([1, 2], ["a", "b"])])
    assert not write.done() and store.writer.busy
    held.release.set()
    assert store.counts(run_id)[0] == {"delivered": 2}  # waited for the write
    assert write.done() and held.thread.startswith("destkit-state-writer")
    store.close()


def test_a_second_hand_over_waits_until_the_first_write_has_ended(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    held = HeldWrite()
    store.record_behind(run_id, "hello_charles", [], 1, 1, None, held, None, [delivered([1], ["a"])])
    second = threading.Thread(target=store.record_behind, args=(run_id, "hello_charles", [], 2, 2, None, None, None,
                                                                [delivered([2], ["b"])]))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # at most one batch in the writer's hands
    held.release.set()
    second.join()
    assert [o.row for o in store.outcomes(run_id)] == [1, 2]
    store.close()


def test_closing_the_store_waits_for_the_write_in_hand(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    held = HeldWrite()
    store.record_behind(run_id, "hello_charles", [], 1, 1, None, held, None, [delivered([1], ["a"])])
    closing = threading.Thread(target=store.close)
    closing.start()
    held.release.set()
    closing.join()
    run = StateStore(tmp_path / "state.sqlite").run(run_id)
    assert run is not None and run.checkpoint == 1


def test_a_flush_behind_moves_the_checkpoint_once_its_write_has_ended(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    recorder = Recorder(store, "hello_charles", RunSummary(run_id=run_id, received=3))
    recorder.add(Outcome(row=2, status=Status.INVALID, key="b", reason=Reason.INVALID_EMAIL, field="email", message="bad"))
    recorder.add_delivered(delivered([1, 3], ["a", "c"]), {})
    recorder.flush_behind()
    assert recorder.buffer == [] and recorder.delivered == [] and recorder.watermark.value == 0
    recorder.settle()
    assert recorder.watermark.value == 3
    run = store.run(run_id)
    assert run is not None and run.checkpoint == 3
    assert [(o.row, o.status) for o in store.outcomes(run_id)] == [
        (1, Status.DELIVERED), (2, Status.INVALID), (3, Status.DELIVERED)]


def test_a_failed_write_behind_raises_at_the_next_flush_with_every_batch_buffered_and_nothing_moved(
        tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    recorder = Recorder(store, "hello_charles", RunSummary(run_id=run_id, received=3002))
    fill_up(store)
    first, later = big_batch(1), delivered([3001, 3002], ["x", "y"])
    recorder.add_delivered(first, {})
    recorder.flush_behind()  # fails on the writer thread
    recorder.add_delivered(later, {})
    with pytest.raises(StateStoreError, match="database or disk is full"):
        recorder.flush_behind()
    assert recorder.delivered == [first, later]
    assert recorder.watermark.value == 0 and recorder.handed is None
    assert store.db.execute("SELECT COUNT(*) FROM outcomes").fetchone() == (0,)
    run = store.run(run_id)
    assert run is not None and run.checkpoint == 0


def test_a_failed_write_behind_raises_at_the_runs_end_which_leaves_the_run_unfinished(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    recorder = Recorder(store, "hello_charles", RunSummary(run_id=run_id, received=3000))
    fill_up(store)
    recorder.add_delivered(big_batch(1), {})
    recorder.flush_behind()
    with pytest.raises(StateStoreError, match="database or disk is full"):
        recorder.finish()
    run = store.run(run_id)
    assert run is not None and (run.status, run.checkpoint) == ("running", 0)


def writer_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("destkit-state-writer")}


def test_a_sync_with_a_store_writes_every_outcome_and_ends_its_writer_thread(app: Starlette, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    before = writer_threads()
    result = in_process_sync(app).run(audience(1500), state=store, input_ref="a")
    assert [o.row for o in store.outcomes(result.summary.run_id)] == list(range(1, 1501))
    run = store.run(result.summary.run_id)
    assert run is not None and (run.status, run.checkpoint) == ("finished", 1500)
    assert writer_threads() <= before
