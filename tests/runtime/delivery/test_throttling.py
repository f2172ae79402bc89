"""Throttling: a 429 with Retry-After spends the time budget, never the attempts; senders resume with jitter.

A destination that says "come back in N seconds" has not failed: the records are fine and will go
through once the rate allows. So such `rate_limited` answers count against
`options.max_retry_seconds` only, and `options.max_attempts` is left for real failures (5xx,
timeouts, lost connections, and a bare 429 that gives no pace to follow).
"""

from __future__ import annotations

import asyncio
import heapq
import random
from collections.abc import Coroutine
from typing import Any

import pytest

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Status, build_sync, load_spec
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.retry import RateGate, RetryPolicy
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config
from tests.runtime.delivery.test_delivery import FakeClock, deliverer, make_batch, ok, run, scripted, status
from tests.runtime.engine.test_send_contacts import BAD_ROWS, audience


def test_a_batch_throttled_five_times_is_delivered_with_two_attempts_allowed() -> None:
    clock = FakeClock()
    throttled = status(429, {"Retry-After": "1"})
    app, seen = scripted(throttled, throttled, throttled, throttled, throttled, ok)
    policy = RetryPolicy(max_attempts=2, rng=random.Random(0))
    outcomes = run(deliverer(app, clock, policy), make_batch(3))
    assert [(o.status, o.attempts) for o in outcomes] == [(Status.DELIVERED, 6)] * 3
    assert len(seen) == 6


def test_a_throttled_batch_is_dead_lettered_when_the_time_budget_runs_out() -> None:
    clock = FakeClock()
    app, seen = scripted(status(429, {"Retry-After": "1"}))
    policy = RetryPolicy(max_attempts=2, max_seconds=10, rng=random.Random(0))
    outcomes = run(deliverer(app, clock, policy), make_batch(1))
    assert [(o.status, o.reason) for o in outcomes] == [(Status.DEAD_LETTERED, "rate_limited")]
    assert outcomes[0].attempts == len(seen)
    assert 5 <= len(seen) <= 10  # a request every 1 to 2 s (Retry-After, then the resume jitter) for 10 s
    assert clock.now <= 10


def test_after_a_429_the_sender_waits_the_retry_after_then_up_to_a_second_more() -> None:
    clock = FakeClock()
    app, _ = scripted(status(429, {"Retry-After": "7"}), ok)
    run(deliverer(app, clock, RetryPolicy(rng=random.Random(0))), make_batch(1))
    pause, spread = clock.sleeps
    assert pause == 7.0 and 0 <= spread <= 1.0


def test_after_a_short_429_pause_the_spread_is_no_longer_than_the_pause() -> None:
    clock = FakeClock()
    app, _ = scripted(status(429, {"Retry-After": "0.2"}), ok)
    run(deliverer(app, clock, RetryPolicy(rng=random.Random(0))), make_batch(1))
    pause, spread = clock.sleeps
    assert pause == 0.2 and 0 <= spread <= 0.2


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "0"}], ids=["no Retry-After", "Retry-After 0"])
def test_a_429_that_gives_no_pace_counts_as_an_attempt(headers: dict[str, str]) -> None:
    clock = FakeClock()
    app, seen = scripted(status(429, headers))
    outcomes = run(deliverer(app, clock, RetryPolicy(max_attempts=2, rng=random.Random(0))), make_batch(1))
    assert [(o.status, o.reason, o.attempts) for o in outcomes] == [(Status.DEAD_LETTERED, "rate_limited", 2)]
    assert len(seen) == 2


def test_failures_between_throttling_still_count_against_the_attempts() -> None:
    clock = FakeClock()
    throttled = status(429, {"Retry-After": "1"})
    app, seen = scripted(status(503), throttled, throttled, status(503), ok)
    outcomes = run(deliverer(app, clock, RetryPolicy(max_attempts=2, rng=random.Random(0))), make_batch(2))
    assert [(o.status, o.reason, o.attempts) for o in outcomes] == [(Status.DEAD_LETTERED, "server_error", 4)] * 2
    assert len(seen) == 4


class VirtualTime:
    """A clock for concurrent sleepers: time jumps to the next wake-up once every task is waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, id(woken), woken))
        await woken

    async def run(self, *coroutines: Coroutine[Any, Any, None]) -> None:
        tasks = [asyncio.create_task(c) for c in coroutines]
        while not all(t.done() for t in tasks):
            for _ in range(10):  # let every task that can run reach its next sleep
                await asyncio.sleep(0)
            if self._sleepers:
                self.now, _, woken = heapq.heappop(self._sleepers)
                woken.set_result(None)
        await asyncio.gather(*tasks)


def test_senders_held_by_a_pause_resume_at_different_instants_within_the_spread() -> None:
    time = VirtualTime()
    gate = RateGate(None, clock=time, sleep=time.sleep, rng=random.Random(4))
    resumed: list[float] = []

    async def sender() -> None:
        await gate.wait()
        resumed.append(time.now)

    gate.pause(1.0, spread=1.0)
    asyncio.run(time.run(*(sender() for _ in range(8))))
    assert len(set(resumed)) == 8
    assert all(1.0 <= t <= 2.0 for t in resumed)


def test_a_sender_arriving_after_the_pause_goes_at_once() -> None:
    clock = FakeClock()
    gate = RateGate(None, clock=clock, sleep=clock.sleep, rng=random.Random(4))
    gate.pause(1.0, spread=1.0)
    clock.now = 5.0
    asyncio.run(gate.wait())
    assert clock.sleeps == []


@pytest.mark.slow
def test_a_429_storm_at_concurrency_16_delivers_every_record_with_two_attempts() -> None:
    """Half of all upserts answer 429 + Retry-After: 0.2 s; with max_attempts=2 nothing is dead-lettered."""
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES,
                     faults=FaultPlan(seed=3, rate_429=0.5, retry_after=0.2))
    spec = load_spec("hello_charles").model_copy(deep=True)
    spec.actions["send_contacts"].batch.max_records = 25
    records = audience(2000)
    with running_server(app) as url:
        config = hc_config(options={"max_attempts": 2, "concurrency": 16, "max_retry_seconds": 120})
        result = build_sync(config, spec=spec, base_url=url, allow_http=True).run(records)
    summary = result.summary
    assert app.state.emulator.faults.counts["429"] > 40
    assert summary.count(Status.DEAD_LETTERED) == 0
    assert summary.count(Status.INVALID) == len([row for row in BAD_ROWS if row <= 2000])
    assert summary.delivered + summary.count(Status.INVALID) == 2000
