"""A run over time in bounded memory: outcomes, requests, retries, throttle waits and latencies per time bucket.

`RunTimeline` keeps at most `BUCKETS` buckets; when a run outlasts them, neighbouring buckets are merged
and the bucket width doubles, so a run of a day costs what a run of a minute does. Latencies go into a
fixed log-scale histogram (percentiles within a bucket's width). The pipeline feeds it once per batch
(`observe`), never per record; the HTML report draws it.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from destkit.runtime.outcomes import Status

BUCKETS = 60
"""Most buckets kept; a longer run merges pairs of them (the width doubles)."""

LATENCY_BOUNDS_S = tuple(round(0.001 * 1.5**i, 6) for i in range(30))
"""Upper bounds of the latency histogram's bins: 1 ms growing by half each, up to about 2 minutes (then one more)."""


@dataclass
class Bucket:
    """What happened in one slice of the run."""

    outcomes: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    throttle_waits: int = 0
    latency_n: int = 0
    latency_sum_s: float = 0.0
    latency_max_s: float = 0.0

    def merge(self, other: Bucket) -> None:
        for status, n in other.outcomes.items():
            self.outcomes[status] = self.outcomes.get(status, 0) + n
        self.requests += other.requests
        self.retries += other.retries
        self.throttle_waits += other.throttle_waits
        self.latency_n += other.latency_n
        self.latency_sum_s += other.latency_sum_s
        self.latency_max_s = max(self.latency_max_s, other.latency_max_s)

    @property
    def records(self) -> int:
        return sum(self.outcomes.values())

    @property
    def latency_mean_s(self) -> float | None:
        return self.latency_sum_s / self.latency_n if self.latency_n else None


class RunTimeline:
    """Per-bucket figures of a run, fed from cumulative counters (`observe`), in O(BUCKETS) memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, width_s: float = 1.0) -> None:
        self.clock = clock
        self.started = clock()
        self.width_s = width_s
        self.buckets: list[Bucket] = []
        self.latency_bins = [0] * (len(LATENCY_BOUNDS_S) + 1)
        self.throttled_s = 0.0  # seconds every sender was held by the destination's pacing, in all
        self._seen_outcomes: dict[str, int] = {}
        self._seen = {"requests": 0, "retries": 0, "throttle_waits": 0, "latencies": 0}

    def _current(self) -> Bucket:
        """The bucket of now, merging pairs of buckets while the run has outlasted `BUCKETS` of them."""
        index = int((self.clock() - self.started) / self.width_s)
        while index >= BUCKETS:
            self._halve()
            index = int((self.clock() - self.started) / self.width_s)
        while len(self.buckets) <= index:
            self.buckets.append(Bucket())
        return self.buckets[index]

    def _halve(self) -> None:
        merged: list[Bucket] = []
        for i in range(0, len(self.buckets), 2):
            pair = self.buckets[i]
            if i + 1 < len(self.buckets):
                pair.merge(self.buckets[i + 1])
            merged.append(pair)
        self.buckets = merged
        self.width_s *= 2

    def observe(self, counts: Mapping[str, int], requests: int, retries: int, throttle_waits: int,
                latencies: Sequence[float], throttled_s: float = 0.0) -> None:
        """Take the run's cumulative figures; what grew since the last call lands in the bucket of now.

        `latencies` is the run's list of request latencies so far (only the new tail is read).
        """
        bucket = self._current()
        for status, n in counts.items():
            grown = n - self._seen_outcomes.get(status, 0)
            if grown > 0:
                bucket.outcomes[status] = bucket.outcomes.get(status, 0) + grown
                self._seen_outcomes[status] = n
        seen = self._seen
        bucket.requests += max(0, requests - seen["requests"])
        bucket.retries += max(0, retries - seen["retries"])
        bucket.throttle_waits += max(0, throttle_waits - seen["throttle_waits"])
        seen.update(requests=max(requests, seen["requests"]), retries=max(retries, seen["retries"]),
                    throttle_waits=max(throttle_waits, seen["throttle_waits"]))
        for latency in latencies[seen["latencies"]:]:
            self._latency(bucket, latency)
        seen["latencies"] = max(seen["latencies"], len(latencies))
        self.throttled_s = max(self.throttled_s, throttled_s)

    def _latency(self, bucket: Bucket, seconds: float) -> None:
        bucket.latency_n += 1
        bucket.latency_sum_s += seconds
        bucket.latency_max_s = max(bucket.latency_max_s, seconds)
        self.latency_bins[bisect.bisect_left(LATENCY_BOUNDS_S, seconds)] += 1

    def latency_percentile(self, share: float) -> float | None:
        """The upper bound of the histogram bin holding the `share` (0.5: median) latency; None without requests."""
        total = sum(self.latency_bins)
        if not total:
            return None
        wanted, running = share * total, 0
        for i, n in enumerate(self.latency_bins):
            running += n
            if running >= wanted and n:
                return LATENCY_BOUNDS_S[i] if i < len(LATENCY_BOUNDS_S) else max(b.latency_max_s for b in self.buckets)
        return None

    @property
    def elapsed_s(self) -> float:
        return self.clock() - self.started

    def to_dict(self) -> dict[str, Any]:
        """The timeline as JSON-able figures (what the HTML report draws)."""
        return {
            "bucket_s": self.width_s,
            "throttled_s": round(self.throttled_s, 3),
            "buckets": [{"outcomes": dict(b.outcomes), "records": b.records, "requests": b.requests,
                         "retries": b.retries, "throttle_waits": b.throttle_waits,
                         "latency_mean_ms": None if b.latency_mean_s is None else round(b.latency_mean_s * 1000, 1),
                         "latency_max_ms": round(b.latency_max_s * 1000, 1)} for b in self.buckets],
            "latency_ms": {name: None if (v := self.latency_percentile(q)) is None else round(v * 1000, 1)
                           for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        }


STATUSES = tuple(s.value for s in Status)

__all__ = ["BUCKETS", "LATENCY_BOUNDS_S", "STATUSES", "Bucket", "RunTimeline"]
