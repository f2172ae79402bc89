"""A run's counts at its end are what it wrote to the store: counted as it went when every row it wrote
was new, read back from the store when not (a resumed run, a row written twice); the checkpoint's
watermark moves over a whole batch of contiguous rows at once."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from destkit.runtime.engine.recorder import Recorder
from destkit.runtime.engine.state import StateStore, Watermark
from destkit.runtime.outcomes import Outcome, Reason, RunSummary, Status
from tests.conftest import in_process_sync, store_with_run
from tests.runtime.engine.test_send_contacts import BAD_ROWS, audience
from tests.runtime.engine.test_state_columns import columns


def warned(row: int, *reasons: str) -> Outcome:
    return Outcome(row=row, status=Status.DELIVERED, key=f"c{row}", warnings=[{"reason": r, "message": "m"} for r in reasons])


def test_a_fresh_runs_counts_are_the_stores_counts_in_the_stores_order(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    summary = RunSummary(run_id=run_id, received=6)
    recorder = Recorder(store, "hello_charles", summary)
    recorder.add(warned(4, "too_long", "type_mismatch"))
    recorder.add(Outcome(row=2, status=Status.INVALID, key="c2", reason=Reason.INVALID_EMAIL, field="email"))
    recorder.add(Outcome(row=6, status=Status.REJECTED, key="c6", reason=Reason.DESTINATION_REJECTED))
    recorder.add_delivered(columns([1, 3], ["c1", "c3"], ["i1", "i3"]), {})
    recorder.flush()
    recorder.add(warned(5, "type_mismatch"))
    recorder.flush()
    recorder.finish()
    stored = store.counts(run_id)
    assert (summary.counts, summary.reasons, summary.warnings) == stored
    assert [list(c.items()) for c in (summary.counts, summary.reasons, summary.warnings)] == [
        list(c.items()) for c in stored]
    assert dict(summary.counts) == {"delivered": 4, "invalid": 1, "rejected": 1}
    assert dict(summary.warnings) == {"too_long": 1, "type_mismatch": 2}


def test_a_row_written_twice_is_counted_once_as_the_store_keeps_it(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    summary = RunSummary(run_id=run_id, received=2)
    recorder = Recorder(store, "hello_charles", summary)
    recorder.add(Outcome(row=1, status=Status.REJECTED, key="c1", reason=Reason.DESTINATION_REJECTED))
    recorder.flush()
    recorder.add_delivered(columns([1, 2], ["c1", "c2"], ["i1", "i2"]), {})
    recorder.flush()
    recorder.finish()
    assert recorder.written is None
    assert (dict(summary.counts), dict(summary.reasons)) == ({"delivered": 2}, {})


def test_a_resumed_runs_counts_include_the_rows_finished_before_it(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    store.record(run_id, "hello_charles", [], 2, 2, delivered=[columns([1, 2], ["c1", "c2"], ["i1", "i2"])])
    run = store.run(run_id)
    assert run is not None
    summary = RunSummary(run_id=run_id, received=3)
    recorder = Recorder(store, "hello_charles", summary)
    recorder.resume(run)
    recorder.add_delivered(columns([3], ["c3"], ["i3"]), {})
    recorder.flush()
    recorder.finish()
    assert dict(summary.counts) == {"delivered": 3}


def test_a_syncs_summary_counts_match_its_stored_outcomes(app: Starlette, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    summary = in_process_sync(app).run(audience(2500), state=store, input_ref="a").summary
    assert (summary.counts, summary.reasons, summary.warnings) == store.counts(summary.run_id)
    assert summary.counts[Status.INVALID.value] == len(BAD_ROWS)


def test_the_watermark_moves_over_a_batch_of_contiguous_rows_given_in_any_order() -> None:
    w = Watermark()
    assert w.peek([3, 1, 2]) == 3
    assert w.add([3, 1, 2]) is True
    assert w.value == 3


def test_the_watermark_stops_below_a_gap_and_moves_on_once_it_is_filled() -> None:
    w = Watermark()
    assert w.add([1, 2, 4, 5]) is True
    assert (w.value, w.peek([3])) == (2, 5)
    assert w.add([3]) is True
    assert w.value == 5


def test_the_watermark_says_when_a_row_was_given_before() -> None:
    w = Watermark(start=2)
    assert w.add([2]) is False  # at or below the start: terminal already
    assert w.add([4, 4]) is False  # twice in one batch
    assert w.add([4]) is False  # waiting above the gap
    assert w.value == 2


def test_a_fresh_runs_report_rows_are_read_by_their_rows_and_are_the_ones_a_scan_finds(
        app: Starlette, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    run_id = in_process_sync(app).run(audience(2500), state=store, input_ref="a").summary.run_id
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    noted = list(store.outcomes(run_id, not_delivered_only=True))
    assert statements and all(" AND row IN (" in sql for sql in statements)
    assert noted == list(StateStore(tmp_path / "state.sqlite").outcomes(run_id, not_delivered_only=True))
    assert [o.row for o in noted] == sorted(BAD_ROWS)


def test_a_later_write_to_the_run_drops_the_note_of_its_report_rows(tmp_path: Path) -> None:
    store, run_id = store_with_run(tmp_path / "state.sqlite")
    store.note_listed_rows(run_id, [])
    store.record(run_id, "hello_charles", [Outcome(row=1, status=Status.REJECTED, key="c1",
                                                   reason=Reason.DESTINATION_REJECTED)], 1, 1)
    assert [o.row for o in store.outcomes(run_id, not_delivered_only=True)] == [1]
