"""A run's timeline: figures per time bucket in bounded memory, fed from cumulative counters."""

from __future__ import annotations

from destkit.runtime.ops.timeline import BUCKETS, RunTimeline


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_what_grew_since_the_last_observation_lands_in_the_bucket_of_now() -> None:
    clock = Clock()
    timeline = RunTimeline(clock)
    timeline.observe({"delivered": 10}, requests=1, retries=0, throttle_waits=0, latencies=[0.02])
    clock.now += 2.5
    timeline.observe({"delivered": 25, "invalid": 3}, requests=3, retries=1, throttle_waits=1, latencies=[0.02, 0.5, 0.04])
    figures = timeline.to_dict()
    assert [b["records"] for b in figures["buckets"]] == [10, 0, 18]
    assert figures["buckets"][2]["outcomes"] == {"delivered": 15, "invalid": 3}
    assert [(b["requests"], b["retries"], b["throttle_waits"]) for b in figures["buckets"]] == [(1, 0, 0), (0, 0, 0),
                                                                                              (2, 1, 1)]
    assert figures["buckets"][2]["latency_max_ms"] == 500.0


def test_a_long_run_keeps_at_most_the_fixed_number_of_buckets_and_loses_no_record() -> None:
    clock = Clock()
    timeline = RunTimeline(clock)
    for second in range(1, 10_001):
        clock.now += 1
        timeline.observe({"delivered": second}, requests=second, retries=0, throttle_waits=0, latencies=())
    figures = timeline.to_dict()
    assert len(figures["buckets"]) <= BUCKETS
    assert sum(b["records"] for b in figures["buckets"]) == 10_000
    assert figures["bucket_s"] == 256.0


def test_latency_percentiles_come_from_a_fixed_histogram() -> None:
    timeline = RunTimeline(Clock())
    timeline.observe({}, requests=100, retries=0, throttle_waits=0, latencies=[0.010] * 90 + [1.0] * 10)
    percentiles = timeline.to_dict()["latency_ms"]
    assert 10.0 <= percentiles["p50"] <= 15.0
    assert 1000.0 <= percentiles["p99"] <= 1500.0


def test_a_run_without_requests_has_no_latency_figures() -> None:
    timeline = RunTimeline(Clock())
    timeline.observe({"invalid": 4}, requests=0, retries=0, throttle_waits=0, latencies=())
    assert timeline.to_dict()["latency_ms"] == {"p50": None, "p95": None, "p99": None}
