"""A run nothing watches (no callback, no state store) builds no outcome object per delivered record,
and still counts every record exactly as a watched run does."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.destinations._kit.faults import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Outcome
from destkit.runtime.delivery.reading import ResponseReader
from destkit.runtime.delivery.retry import RetryPolicy
from destkit.runtime.outcomes import RunSummary
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config, in_process_sync


def contacts(n: int) -> list[dict[str, Any]]:
    return [{"user_id": f"u{i}", "email": f"u{i}@example.com", "segments": ["vip"]} for i in range(n)]


def summary_of(attempts: int, watched: bool) -> RunSummary:
    # the same seed on a fresh emulator: both runs meet the same per-record failures
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES,
                     faults=FaultPlan(seed=7, rate_record_failure=0.2))
    sync = in_process_sync(app, retry=RetryPolicy(max_attempts=attempts, base=0.001, cap=0.001))
    seen: list[Outcome] = []
    result = sync.run(contacts(300), on_outcome=seen.append) if watched else sync.run(contacts(300))
    return result.summary


@pytest.mark.parametrize("attempts", [1, 3])
def test_a_run_nothing_watches_counts_what_a_watched_run_reports(attempts: int) -> None:
    lean, watched = summary_of(attempts, watched=False), summary_of(attempts, watched=True)
    assert (lean.counts, lean.received) == (watched.counts, watched.received)
    assert lean.reconciles()


def test_records_that_fail_and_run_out_of_attempts_are_dead_lettered_in_a_run_nothing_watches() -> None:
    summary = summary_of(1, watched=False)
    assert summary.count("dead_lettered") > 0
    assert summary.delivered + summary.count("dead_lettered") == 300


def hc_reader() -> ResponseReader:
    sync = in_process_sync(create_app(api_key=API_KEY), hc_config())
    return ResponseReader(sync.action.response)


@pytest.mark.parametrize("items", [
    [{"status": "created", "id": "1"}, {"status": "updated", "id": 2}],
    [{"status": "created", "id": "1"}, {"status": "failed", "errors": [{"code": "invalid_email", "message": "no"}]}],
    [{"status": "failed", "errors": [{"code": "temporarily_unavailable"}]}, {"status": "created"}],
    [{"status": "archived", "id": "1"}, "not an object"],
    [{"status": ["created"]}, {"status": 7}],
])
def test_failures_are_the_results_read_says_are_no_success_with_their_positions(items: list[Any]) -> None:
    reader, keys = hc_reader(), [f"k{i}" for i in range(len(items))]
    results = reader.read({"data": items}, list(keys))
    assert not isinstance(results, str)
    assert reader.failures({"data": items}, list(keys)) == [(i, r) for i, r in enumerate(results) if not r.ok]


@pytest.mark.parametrize("answer", [{"data": [{"status": "created"}]}, {"data": "x"}, None])
def test_an_unreadable_answer_gets_the_same_explanation_from_failures_as_from_read(answer: Any) -> None:
    reader = hc_reader()
    assert reader.failures(answer, ["a", "b"]) == reader.read(answer, ["a", "b"])
