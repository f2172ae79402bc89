"""Delivery: classification, retries with backoff and Retry-After, per-record retries, batch splitting.

The destination here is a scripted Starlette app reached through httpx's ASGITransport (the same
client code as production); time is a fake clock, so backoff is asserted exactly, not waited for.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.runtime import AuthFailed, Status, load_spec
from destkit.runtime.delivery.batching import Batch
from destkit.runtime.delivery.reading import ResponseReader
from destkit.runtime.delivery.retry import RateGate, RetryPolicy, parse_retry_after
from destkit.runtime.delivery.sender import Deliverer, ErrorTable
from destkit.runtime.spec.body_template import build_envelope

Handler = Callable[[list[dict[str, Any]]], Response]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(*handlers: Handler) -> tuple[Starlette, list[list[dict[str, Any]]]]:
    """An app answering the n-th batch request with the n-th handler (the last one repeats)."""
    seen: list[list[dict[str, Any]]] = []

    async def batch(request: Request) -> Response:
        contacts = orjson.loads(await request.body())["contacts"]
        seen.append(contacts)
        return handlers[min(len(seen), len(handlers)) - 1](contacts)

    return Starlette(routes=[Route("/api/v1beta/contacts/batch", batch, methods=["PUT"])]), seen


def ok(contacts: list[dict[str, Any]]) -> Response:
    return JSONResponse({"status": 200, "data": [
        {"status": "created", "id": f"id-{c['external_reference_id']}", "external_reference_id": c["external_reference_id"], "errors": []}
        for c in contacts]})


def status(code: int, headers: dict[str, str] | None = None) -> Handler:
    return lambda contacts: JSONResponse({"status": code, "errors": [{"code": "x", "message": f"HTTP {code}"}]}, code, headers)


def make_batch(n: int) -> Batch:
    keys: list[object] = [f"k{i}" for i in range(1, n + 1)]
    parts = [orjson.dumps({"external_reference_id": k, "source_type": "t"}) for k in keys]
    return Batch(list(range(1, n + 1)), keys, parts, sum(map(len, parts)), 1)


def deliverer(app: Starlette, clock: FakeClock, policy: RetryPolicy | None = None, rps: float | None = None) -> Deliverer:
    action = load_spec("hello_charles").actions["send_contacts"]
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hc.test")
    return Deliverer(client, "PUT", "/api/v1beta/contacts/batch", build_envelope(action.request.body, {}),
                     ResponseReader(action.response), ErrorTable.from_spec(load_spec("hello_charles").errors),
                     policy or RetryPolicy(rng=random.Random(7)), RateGate(rps, clock=clock, sleep=clock.sleep),
                     clock=clock, sleep=clock.sleep)


def run(d: Deliverer, batch: Batch) -> list[Any]:
    return asyncio.run(d.deliver(batch))


def test_429_with_retry_after_seconds_waits_exactly_that_long_then_delivers() -> None:
    clock = FakeClock()
    app, seen = scripted(status(429, {"Retry-After": "7"}), ok)
    outcomes = run(deliverer(app, clock), make_batch(3))
    assert [o.status for o in outcomes] == [Status.DELIVERED] * 3
    assert [o.attempts for o in outcomes] == [2, 2, 2]
    assert 7.0 in clock.sleeps
    assert len(seen) == 2


def test_retry_after_http_date_is_seconds_until_that_date() -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == 30.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_is_capped() -> None:
    clock = FakeClock()
    app, _ = scripted(status(503, {"Retry-After": "86400"}), ok)
    run(deliverer(app, clock, RetryPolicy(max_retry_after=60, rng=random.Random(1))), make_batch(1))
    assert clock.sleeps == [60.0]


def test_backoff_is_exponential_with_full_jitter() -> None:
    clock = FakeClock()
    app, seen = scripted(status(503), status(503), status(503), status(503), ok)
    policy = RetryPolicy(max_attempts=6, base=0.5, cap=30, rng=random.Random(3))
    outcomes = run(deliverer(app, clock, policy), make_batch(2))
    assert [o.status for o in outcomes] == [Status.DELIVERED] * 2
    assert len(seen) == 5
    assert len(clock.sleeps) == 4
    for attempt, slept in enumerate(clock.sleeps, 1):
        assert 0 <= slept <= 0.5 * 2 ** (attempt - 1)
    expected = random.Random(3)
    assert clock.sleeps == [expected.uniform(0, 0.5 * 2 ** (a - 1)) for a in range(1, 5)]


def test_exhausted_attempts_dead_letter_every_record_with_the_reason() -> None:
    clock = FakeClock()
    app, seen = scripted(status(500))
    outcomes = run(deliverer(app, clock, RetryPolicy(max_attempts=3, rng=random.Random(0))), make_batch(4))
    assert {(o.status, o.reason, o.attempts) for o in outcomes} == {(Status.DEAD_LETTERED, "server_error", 3)}
    assert len(seen) == 3
    assert "gave up after 3 attempts" in (outcomes[0].message or "")


def test_time_budget_stops_retrying_before_the_attempts_run_out() -> None:
    clock = FakeClock()
    app, seen = scripted(status(429, {"Retry-After": "40"}))
    outcomes = run(deliverer(app, clock, RetryPolicy(max_attempts=50, max_seconds=100, rng=random.Random(0))), make_batch(1))
    assert outcomes[0].status is Status.DEAD_LETTERED and outcomes[0].reason == "rate_limited"
    assert len(seen) == 3  # 0 s, 40 s, 80 s; a fourth would end at 120 s, over the budget


def test_only_records_with_a_transient_per_record_failure_are_sent_again() -> None:
    def first(contacts: list[dict[str, Any]]) -> Response:
        data = []
        for c in contacts:
            key = c["external_reference_id"]
            if key == "k2":
                data.append({"status": "failed", "id": None, "external_reference_id": key,
                             "errors": [{"code": "temporarily_unavailable", "message": "try again"}]})
            elif key == "k3":
                data.append({"status": "failed", "id": None, "external_reference_id": key,
                             "errors": [{"code": "invalid_phone_number", "message": "bad phone"}]})
            else:
                data.append({"status": "created", "id": f"id-{key}", "external_reference_id": key, "errors": []})
        return JSONResponse({"status": 200, "data": data})

    clock = FakeClock()
    app, seen = scripted(first, ok)
    outcomes = {o.row: o for o in run(deliverer(app, clock), make_batch(4))}
    assert [[c["external_reference_id"] for c in req] for req in seen] == [["k1", "k2", "k3", "k4"], ["k2"]]
    assert {r: o.status for r, o in outcomes.items()} == {
        1: Status.DELIVERED, 2: Status.DELIVERED, 3: Status.REJECTED, 4: Status.DELIVERED}
    assert (outcomes[3].destination_code, outcomes[3].destination_message) == ("invalid_phone_number", "bad phone")
    assert outcomes[2].attempts == 2


def test_a_whole_batch_refused_is_split_until_the_poison_record_stands_alone() -> None:
    poison = "k613"

    def refuse_poison(contacts: list[dict[str, Any]]) -> Response:
        if any(c["external_reference_id"] == poison for c in contacts):
            return JSONResponse({"status": 400, "errors": [{"code": "bad_request", "message": "invalid payload"}]}, 400)
        return ok(contacts)

    clock = FakeClock()
    app, seen = scripted(refuse_poison)
    outcomes = run(deliverer(app, clock), make_batch(1000))
    rejected = [o for o in outcomes if o.status is Status.REJECTED]
    assert [(o.key, o.reason, o.destination_status) for o in rejected] == [(poison, "destination_rejected", 400)]
    assert sum(o.status is Status.DELIVERED for o in outcomes) == 999
    extra = len(seen) - 1
    assert extra <= 2 * math.ceil(math.log2(1000))


def test_a_redirect_is_not_followed() -> None:
    clock = FakeClock()
    app, seen = scripted(lambda c: Response(status_code=301, headers={"location": "https://elsewhere.test/"}))
    outcomes = run(deliverer(app, clock), make_batch(2))
    assert {(o.status, o.reason) for o in outcomes} == {(Status.REJECTED, "redirect")}
    assert len(seen) == 1


def test_401_raises_auth_failed() -> None:
    clock = FakeClock()
    app, _ = scripted(status(401))
    try:
        run(deliverer(app, clock), make_batch(1))
    except AuthFailed as exc:
        assert exc.status == 401
    else:
        raise AssertionError("AuthFailed not raised")


def test_a_429_pauses_every_sender_sharing_the_gate() -> None:
    clock = FakeClock()
    gate = RateGate(None, clock=clock, sleep=clock.sleep)
    gate.pause(5)
    asyncio.run(gate.wait())
    assert clock.sleeps == [5]


def test_requests_per_second_spaces_requests() -> None:
    clock = FakeClock()
    gate = RateGate(2.0, clock=clock, sleep=clock.sleep)

    async def three() -> None:
        for _ in range(3):
            await gate.wait()

    asyncio.run(three())
    assert clock.now == 1.0  # t=0, 0.5, 1.0


def test_an_unreadable_success_dead_letters_rather_than_guessing() -> None:
    clock = FakeClock()
    app, _ = scripted(lambda c: JSONResponse({"status": 200, "data": []}))
    outcomes = run(deliverer(app, clock), make_batch(2))
    assert {(o.status, o.reason) for o in outcomes} == {(Status.DEAD_LETTERED, "unexpected_response")}


def test_a_retried_older_value_never_lands_after_a_newer_one_for_the_same_key() -> None:
    from destkit.runtime import build_sync
    from tests.conftest import hc_config

    stored: dict[str, str] = {}
    calls = {"n": 0}

    async def batch(request: Request) -> Response:
        contacts = orjson.loads(await request.body())["contacts"]
        calls["n"] += 1
        if calls["n"] == 1:  # the first batch (holding a=v1) fails once and is retried
            return JSONResponse({"errors": [{"code": "busy", "message": "try later"}]}, 503)
        for c in contacts:
            stored[c["external_reference_id"]] = c["first_name"]
        return ok(contacts)

    app = Starlette(routes=[Route("/api/v1beta/contacts/batch", batch, methods=["PUT"])])
    config = hc_config(catalogs={"tags": ["vip"], "custom_properties": ["plan"]}, options={"concurrency": 4})
    sync = build_sync(config, base_url="http://hc.test", transport=httpx.ASGITransport(app=app), allow_http=True,
                      retry=RetryPolicy(base=0.05, cap=0.05, rng=random.Random(0)))
    records = [{"user_id": "a", "first_name": "v1"}, {"user_id": "b", "first_name": "x"},
               {"user_id": "a", "first_name": "v2"}]
    result = sync.run(records)
    assert result.summary.delivered == 3
    assert stored == {"a": "v2", "b": "x"}
