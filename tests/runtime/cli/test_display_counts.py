"""The live display counts delivered records from the run's summary, so a run need not build an outcome for each."""

from __future__ import annotations

from collections import Counter

from destkit.runtime.cli.display import RunDisplay
from destkit.runtime.outcomes import Outcome, RunSummary, Status, watches_delivered


def summary_with(delivered: int) -> RunSummary:
    summary = RunSummary()
    summary.counts[Status.DELIVERED.value] = delivered
    return summary


def test_the_outcome_callback_a_run_gets_does_not_watch_delivered_records() -> None:
    assert watches_delivered(RunDisplay().on_outcome) is False


def test_delivered_records_are_counted_from_the_summary_not_from_outcomes() -> None:
    display = RunDisplay()
    display.on_outcome(Outcome(row=1, status=Status.DELIVERED))
    display.on_outcome(Outcome(row=2, status=Status.INVALID))
    display.progress(summary_with(40))
    assert display.counts == Counter({"delivered": 40, "invalid": 1})
    assert display.done == 41


def test_a_resumed_run_counts_on_from_the_delivered_records_of_its_earlier_part() -> None:
    display = RunDisplay(done_before=Counter({"delivered": 100, "rejected": 2}))
    display.progress(summary_with(5))
    assert display.counts == Counter({"delivered": 105, "rejected": 2})


def test_reading_the_input_to_its_end_is_noted_once_every_record_passed() -> None:
    display = RunDisplay()
    records = display.reading(iter([{"a": 1}, {"a": 2}]))
    assert next(records) == {"a": 1}
    assert display.read_all is False
    assert list(records) == [{"a": 2}]
    assert display.read_all is True
