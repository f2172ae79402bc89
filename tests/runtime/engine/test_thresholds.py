"""`Thresholds`: how much of a run may be invalid or rejected before the run counts as failed."""

from __future__ import annotations

from collections import Counter

import pytest

from destkit.runtime.engine.results import Thresholds
from destkit.runtime.outcomes import RunSummary


def summary(delivered: int = 0, invalid: int = 0, rejected: int = 0, dead_lettered: int = 0) -> RunSummary:
    counts = Counter(delivered=delivered, invalid=invalid, rejected=rejected, dead_lettered=dead_lettered)
    return RunSummary(received=sum(counts.values()), counts=counts)


def test_more_invalid_records_than_the_ratio_allows_is_one_sentence_naming_the_option() -> None:
    assert Thresholds(max_invalid_ratio=0.05).exceeded(summary(delivered=94, invalid=6)) == [
        "6 of 100 records (6.0%) were invalid, more than --max-invalid-ratio 0.05 allows"]


def test_exactly_the_ratio_is_within_it() -> None:
    assert Thresholds(max_invalid_ratio=0.05).exceeded(summary(delivered=95, invalid=5)) == []


def test_the_rejected_ratio_counts_rejected_records_only() -> None:
    thresholds = Thresholds(max_rejected_ratio=0.01)
    assert thresholds.exceeded(summary(delivered=90, invalid=10)) == []
    assert thresholds.exceeded(summary(delivered=98, rejected=2)) == [
        "2 of 100 records (2.0%) were rejected, more than --max-rejected-ratio 0.01 allows"]


def test_records_within_their_thresholds_do_not_fail_the_run_but_dead_letters_do() -> None:
    thresholds = Thresholds(max_invalid_ratio=0.1, max_rejected_ratio=0.1)
    assert thresholds.tolerated(summary(delivered=90, invalid=5, rejected=5)) is True
    assert thresholds.tolerated(summary(delivered=94, invalid=5, dead_lettered=1)) is False


def test_a_kind_without_a_threshold_is_not_tolerated() -> None:
    assert Thresholds(max_invalid_ratio=0.1).tolerated(summary(delivered=99, rejected=1)) is False


def test_no_threshold_means_no_breach_on_an_empty_run() -> None:
    assert Thresholds(max_invalid_ratio=0).exceeded(summary()) == []


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_a_ratio_outside_0_to_1_is_refused(ratio: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        Thresholds(max_invalid_ratio=ratio)
