"""`workers=N`: one run over N forked processes gives the outcomes, order and limits of a one-process run.

The emulator is served on a real port (forked workers cannot share an in-process transport); a small
ASGI wrapper records when each write arrives and how many were in flight at once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mirror_kit import config as mirror_config
from mirror_kit import spec as mirror_spec

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine import PreparedRequest, StopRequest, Sync, build_sync
from destkit.runtime.errors import UsageError
from destkit.runtime.outcomes import Outcome, Reason, Status
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config

CATALOGS = {"tags": TAGS, "custom_properties": [name for name, _label in PROPERTIES]}


class Meter:
    """An ASGI wrapper noting each write's arrival time and the most writes in flight at once."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.arrivals: list[float] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        write = scope["type"] == "http" and scope["method"] != "GET"
        if write:
            with self._lock:
                self.arrivals.append(time.monotonic())
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            if write:
                with self._lock:
                    self.in_flight -= 1


@pytest.fixture
def metered() -> Iterator[tuple[Meter, str, Any]]:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, keep_bodies=True,
                     faults=FaultPlan(latency_ms=20, latency_jitter_ms=15))
    meter = Meter(app)
    with running_server(meter) as url:
        yield meter, url, app.state.emulator


def sync_to(url: str, **options: Any) -> Sync:
    return build_sync(hc_config(catalogs=CATALOGS, options=options), base_url=url, allow_http=True)


def audience(keys: list[int], bad: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    """Row r (1-based) is contact u{keys[r-1]} named F{r}; rows in `bad` have a phone the checks refuse."""
    return [{"user_id": f"u{k}", "first_name": f"F{row}", "phone": "415-555" if row in bad else f"+1415555{row:04d}",
             "segments": ["vip"]} for row, k in enumerate(keys, start=1)]


def by_row(outcomes: list[Outcome]) -> dict[int, dict[str, Any]]:
    return {o.row: o.to_dict() for o in outcomes}


def test_a_dry_run_with_workers_gives_every_row_the_outcome_it_gets_in_one_process() -> None:
    records = audience([r % 37 for r in range(2_500)], bad=frozenset({3, 700, 2_400}))
    records[1_000] = {"user_id": "", "first_name": "x", "phone": "+14155550000"}  # no key: by row
    sync = build_sync(hc_config(catalogs=CATALOGS))
    one: list[Outcome] = []
    alone = sync.dry_run(records, keep_requests=False, on_outcome=one.append)
    for workers in (2, 3):
        many: list[Outcome] = []
        spread = sync.dry_run(records, keep_requests=False, on_outcome=many.append, workers=workers)
        assert by_row(many) == by_row(one)
        assert spread.summary.counts == alone.summary.counts
        assert spread.summary.reasons == alone.summary.reasons
        assert spread.summary.received == alone.summary.received == 2_500


def test_a_dry_run_with_workers_and_no_callback_counts_what_one_process_counts() -> None:
    records = audience([r % 11 for r in range(3_000)], bad=frozenset({10, 20}))
    sync = build_sync(hc_config(catalogs=CATALOGS))
    alone = sync.dry_run(records, keep_requests=False).summary
    spread = sync.dry_run(records, keep_requests=False, workers=2).summary
    assert (spread.counts, spread.reasons, spread.received) == (alone.counts, alone.reasons, alone.received)


def contacts_sent(requests: list[PreparedRequest]) -> list[bytes]:
    return sorted(orjson.dumps(c) for r in requests for c in r.json()["contacts"])


def test_a_dry_run_with_workers_keeps_every_request_it_would_send_with_the_same_contacts() -> None:
    records = audience([r % 5 for r in range(40)])
    sync = build_sync(hc_config(catalogs=CATALOGS))
    alone = sync.dry_run(records).requests
    spread = sync.dry_run(records, workers=2).requests
    assert len(contacts_sent(spread)) == 40
    assert contacts_sent(spread) == contacts_sent(alone)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(st.integers(0, 12), max_size=60), workers=st.integers(2, 3))
def test_every_record_gets_exactly_one_outcome_across_workers(metered: tuple[Meter, str, Any], keys: list[int],
                                                              workers: int) -> None:
    _meter, url, _emulator = metered
    bad = frozenset(row for row, k in enumerate(keys, start=1) if k == 7)
    seen: list[Outcome] = []
    result = sync_to(url, concurrency=4).run(audience(keys, bad), on_outcome=seen.append, workers=workers)
    assert sorted(o.row for o in seen) == list(range(1, len(keys) + 1))
    assert {o.row for o in seen if o.status is Status.INVALID} == bad
    assert result.summary.received == len(keys)
    assert result.summary.delivered == len(keys) - len(bad)


def test_records_sharing_a_key_arrive_in_input_order_across_workers(metered: tuple[Meter, str, Any]) -> None:
    _meter, url, emulator = metered
    keys = [r % 9 for r in range(300)]  # each repeat of a key starts a new batch: many batches per key
    sync_to(url, concurrency=6).run(audience(keys), workers=3)
    arrived: dict[str, list[int]] = {}
    for request in emulator.requests:
        if request.path.endswith("/batch") and request.body:
            for contact in orjson.loads(request.body)["contacts"]:
                arrived.setdefault(contact["external_reference_id"], []).append(int(contact["first_name"][1:]))
    expected = {f"u{k}": [row for row, key in enumerate(keys, start=1) if key == k] for k in range(9)}
    assert arrived == expected


def test_the_destination_sees_at_most_the_configured_concurrency_in_total(metered: tuple[Meter, str, Any]) -> None:
    meter, url, _emulator = metered
    keys = [r % 40 for r in range(1_200)]
    result = sync_to(url, concurrency=4).run(audience(keys), workers=3)
    assert result.summary.delivered == 1_200
    assert 1 <= meter.most_in_flight <= 4


def test_the_destination_sees_the_configured_requests_per_second_in_total(metered: tuple[Meter, str, Any]) -> None:
    meter, url, _emulator = metered
    rps, workers = 20.0, 2
    keys = [r % 6 for r in range(150)]  # batches of at most 6 records: about 25 requests
    result = sync_to(url, requests_per_second=rps, concurrency=4).run(audience(keys), workers=workers)
    assert result.summary.delivered == 150
    arrivals = sorted(meter.arrivals)
    # each worker spaces its requests workers/rps apart: a second holds at most rps of them, plus one per worker
    # whose first request starts the second
    busiest = max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)
    assert len(arrivals) > rps + workers
    assert busiest <= rps + workers


def test_a_killed_worker_leaves_its_records_dead_lettered_as_unknown_delivery(metered: tuple[Meter, str, Any]) -> None:
    _meter, url, _emulator = metered
    keys = [r % 50 for r in range(4_000)]
    seen: list[Outcome] = []
    killed: list[int] = []

    def kill_a_worker(outcome: Outcome) -> None:
        seen.append(outcome)
        if not killed:
            child = multiprocessing.active_children()[0]
            assert child.pid is not None
            killed.append(child.pid)
            os.kill(child.pid, signal.SIGKILL)

    result = sync_to(url, concurrency=2).run(audience(keys), on_outcome=kill_a_worker, workers=2)
    rows = [o.row for o in seen]
    assert len(rows) == len(set(rows))  # never two outcomes for a row
    lost = [o for o in seen if o.status is Status.DEAD_LETTERED]
    assert lost and all(o.reason is Reason.UNKNOWN_DELIVERY for o in lost)
    assert all("worker process" in (o.message or "") for o in lost)
    assert result.summary.aborted is not None and "worker process" in result.summary.aborted
    assert result.summary.received == len(seen)
    assert result.summary.reconciles()


@pytest.mark.parametrize("workers", [0, 65])
def test_a_worker_count_outside_1_to_64_is_refused(workers: int) -> None:
    with pytest.raises(UsageError, match="--workers must be between 1 and 64"):
        build_sync(hc_config(catalogs=CATALOGS)).dry_run([], workers=workers)


def test_a_mirror_run_refuses_workers() -> None:
    sync = build_sync(mirror_config("sync_members"), spec=mirror_spec(), base_url="http://127.0.0.1:9", allow_http=True)
    with pytest.raises(UsageError, match="a mirror run removes the members it did not see"):
        asyncio.run(sync.arun([], dry_run=True, workers=2))


def test_one_worker_is_the_one_process_run() -> None:
    sync = build_sync(hc_config(catalogs=CATALOGS))
    before = set(multiprocessing.active_children())
    result = sync.dry_run(audience([1, 2, 3]), workers=1)
    assert result.summary.delivered == 3
    assert set(multiprocessing.active_children()) == before


def test_a_killed_worker_in_a_run_that_keeps_only_counts_is_counted_as_unknown_delivery() -> None:
    records = audience([r % 50 for r in range(20_000)])
    killed: list[int] = []

    def kill_a_worker(_summary: Any) -> None:
        if not killed:
            child = multiprocessing.active_children()[0]
            assert child.pid is not None
            killed.append(child.pid)
            os.kill(child.pid, signal.SIGKILL)

    result = build_sync(hc_config(catalogs=CATALOGS)).run(records, dry_run=True, keep_requests=False,
                                                         progress=kill_a_worker, workers=2)
    s = result.summary
    assert killed
    assert s.count(Status.DEAD_LETTERED) == s.reasons[Reason.UNKNOWN_DELIVERY.value] > 0
    assert s.aborted is not None and s.aborted.startswith("worker process")
    assert s.received == sum(s.count(status) for status in Status)


def test_refused_credentials_in_a_worker_abort_the_run_as_in_one_process(metered: tuple[Meter, str, Any]) -> None:
    _meter, url, emulator = metered
    config = hc_config(catalogs=CATALOGS, secrets={"api_key": "revoked"})
    sync = build_sync(config, base_url=url, allow_http=True)
    seen: list[Outcome] = []
    result = sync.run(audience([r % 30 for r in range(5_000)]), on_outcome=seen.append, workers=2)
    s = result.summary
    assert s.aborted is not None and s.aborted.startswith("auth_failed")
    assert "revoked" not in s.aborted
    assert s.delivered == 0 and not emulator.contacts
    assert {o.reason for o in seen} == {Reason.AUTH_FAILED}
    assert s.received == len(seen) < 5_000


def test_a_stop_requested_after_the_input_is_read_still_stops_every_worker() -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, faults=FaultPlan(latency_ms=200))
    stop = StopRequest(grace_s=5)
    seen: list[Outcome] = []

    def stop_at_the_first(outcome: Outcome) -> None:
        seen.append(outcome)
        stop.request("a test")

    with running_server(app) as url:
        result = sync_to(url, concurrency=2).run(audience([r % 40 for r in range(1_200)]), on_outcome=stop_at_the_first,
                                                 stop=stop, workers=2)
    assert result.stopped == "a test"
    assert result.summary.aborted is not None and result.summary.aborted.startswith("stopped by a test")
    rows = [o.row for o in seen]
    assert len(rows) == len(set(rows)) < 1_200
    assert result.summary.received == len(rows)
