"""Error classes read from the body, and rate-limit headers that pace every sender before a 429.

A destination may throttle with a 400 whose body says so (Meta: `{"error": {"code": 17}}`); the spec's
`errors.when` rules read the body before the status table. A spec that declares `rate_limit.headers`
lets a spent budget (remaining 0) pause every sender until the reset, so the 429 never comes.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.runtime import Status, load_spec
from destkit.runtime.authoring.check import check_spec_text
from destkit.runtime.delivery.classify import Action, ErrorTable, classify
from destkit.runtime.delivery.reading import ResponseReader
from destkit.runtime.delivery.retry import RateGate, RateHeaders, RetryPolicy, budget_reset
from destkit.runtime.delivery.sender import Deliverer
from destkit.runtime.outcomes import Reason
from destkit.runtime.spec.body_template import build_envelope
from destkit.runtime.spec.models import ErrorClasses, ResponseSpec
from tests.runtime.delivery.test_delivery import FakeClock, make_batch, ok

META_THROTTLE = {"error": {"code": 17, "message": "User request limit reached"}}
THROTTLE_CODES = ErrorClasses.model_validate(
    {"when": [{"path": "error.code", "in": [4, 17, 613, 80003], "then": "rate_limited"}]})


META_ERROR = ResponseSpec.model_validate({"error": {"code": "error.code", "message": "error.message"}})


def table(classes: ErrorClasses = THROTTLE_CODES) -> ErrorTable:
    return ErrorTable.from_spec(classes, META_ERROR)


# classify: the body rules, pure

def test_a_400_whose_body_code_is_listed_is_rate_limited() -> None:
    resolution = classify(400, {"retry-after": "3"}, META_THROTTLE, table())
    assert (resolution.action, resolution.reason, resolution.wait) == (Action.RATE_LIMITED, Reason.RATE_LIMITED, 3.0)
    assert (resolution.destination_code, resolution.destination_message) == ("17", "User request limit reached")


def test_a_code_given_as_text_matches_the_same_number() -> None:
    assert classify(400, {}, {"error": {"code": "613"}}, table()).action is Action.RATE_LIMITED


def test_a_400_whose_body_code_is_not_listed_keeps_its_status_class() -> None:
    resolution = classify(400, {}, {"error": {"code": 100, "message": "Invalid parameter"}}, table())
    assert (resolution.action, resolution.reason) == (Action.SPLIT, Reason.DESTINATION_REJECTED)


def test_a_non_json_body_is_classified_by_its_status() -> None:
    assert classify(400, {}, b"17", table()).action is Action.SPLIT


def test_the_first_matching_rule_decides() -> None:
    classes = ErrorClasses.model_validate({"when": [
        {"path": "error.type", "in": ["OAuthException"], "then": "stop"},
        {"path": "error.code", "in": [190], "then": "retry"},
    ]})
    resolution = classify(400, {}, {"error": {"type": "OAuthException", "code": 190}}, table(classes))
    assert (resolution.action, resolution.reason) == (Action.STOP, Reason.AUTH_FAILED)


def test_a_body_rule_can_refuse_a_2xx_answer() -> None:
    classes = ErrorClasses.model_validate({"when": [{"path": "success", "in": [False], "then": "reject"}]})
    resolution = classify(200, {}, {"success": False, "message": "no"}, table(classes))
    assert (resolution.action, resolution.reason) == (Action.REJECT, Reason.DESTINATION_REJECTED)


def test_spec_check_refuses_a_body_rule_path_that_is_not_jmespath() -> None:
    text = load_spec_text("hello_charles") + "\nerrors:\n  when: [{path: 'error.code[', in: [17], then: retry}]\n"
    problems = [f.issue.key for f in check_spec_text(text).errors]
    assert problems == ["errors.when.0.path"]


def load_spec_text(name: str) -> str:
    return (Path(__file__).resolve().parents[3] / "specs" / f"{name}.yaml").read_text(encoding="utf-8")


# end to end: a throttle sent as HTTP 400 is retried, not rejected

def throttle_once_app() -> tuple[Starlette, list[int]]:
    seen: list[int] = []

    async def batch(request: Request) -> Response:
        contacts = orjson.loads(await request.body())["contacts"]
        seen.append(len(contacts))
        return JSONResponse(META_THROTTLE, 400) if len(seen) == 1 else ok(contacts)

    return Starlette(routes=[Route("/api/v1beta/contacts/batch", batch, methods=["PUT"])]), seen


def deliverer(app: Starlette, clock: FakeClock, errors: ErrorTable, *, rate_headers: RateHeaders | None = None,
              wall_clock: float = 0.0) -> Deliverer:
    action = load_spec("hello_charles").actions["send_contacts"]
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hc.test")
    return Deliverer(client, "PUT", "/api/v1beta/contacts/batch", build_envelope(action.request.body, {}),
                     ResponseReader(action.response), errors, RetryPolicy(rng=random.Random(7)),
                     RateGate(None, clock=clock, sleep=clock.sleep), clock=clock, sleep=clock.sleep,
                     rate_headers=rate_headers, wall_clock=lambda: wall_clock)


def test_a_record_throttled_by_a_400_with_code_17_is_delivered_on_the_next_attempt() -> None:
    app, seen = throttle_once_app()
    outcomes = asyncio.run(deliverer(app, FakeClock(), table()).deliver(make_batch(1)))
    assert [(o.status, o.attempts) for o in outcomes] == [(Status.DELIVERED, 2)]
    assert seen == [1, 1]


# rate-limit headers pace the senders

def test_budget_reset_reads_x_ratelimit_reset_as_epoch_seconds() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1030"}
    assert budget_reset(headers, "x-ratelimit", now=1000.0) == 30.0


def test_budget_reset_reads_ratelimit_reset_as_seconds_from_now() -> None:
    headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": "12"}
    assert budget_reset(headers, "ratelimit", now=1000.0) == 12.0


def test_a_budget_not_yet_spent_pauses_nothing() -> None:
    headers = {"RateLimit-Remaining": "5", "RateLimit-Reset": "12"}
    assert budget_reset(headers, "ratelimit", now=1000.0) is None


def test_headers_of_the_undeclared_family_pause_nothing() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1030"}
    assert budget_reset(headers, "ratelimit", now=1000.0) is None


def gate_sleeps(headers: dict[str, str], family: RateHeaders, cap: float = 120.0) -> list[float]:
    clock = FakeClock()
    gate = RateGate(None, clock=clock, sleep=clock.sleep)
    gate.pause_for_budget(headers, family, now=1000.0, cap=cap)
    asyncio.run(gate.wait())
    return clock.sleeps


def test_the_gate_waits_until_an_x_ratelimit_reset() -> None:
    assert gate_sleeps({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1030"}, "x-ratelimit") == [30.0]


def test_the_gate_waits_until_a_ratelimit_reset() -> None:
    assert gate_sleeps({"RateLimit-Remaining": "0", "RateLimit-Reset": "12"}, "ratelimit") == [12.0]


def test_the_gate_pause_is_capped_by_max_retry_after() -> None:
    assert gate_sleeps({"RateLimit-Remaining": "0", "RateLimit-Reset": "3600"}, "ratelimit", cap=120.0) == [120.0]


def spent_budget_app() -> Starlette:
    async def batch(request: Request) -> Response:
        response = ok(orjson.loads(await request.body())["contacts"])
        response.headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1045"})
        return response

    return Starlette(routes=[Route("/api/v1beta/contacts/batch", batch, methods=["PUT"])])


def deliver_twice(rate_headers: RateHeaders | None) -> list[float]:
    clock = FakeClock()
    sender = deliverer(spent_budget_app(), clock, table(ErrorClasses()), rate_headers=rate_headers, wall_clock=1000.0)

    async def both() -> Any:
        await sender.deliver(make_batch(1))
        await sender.deliver(make_batch(1))

    asyncio.run(both())
    return clock.sleeps


def test_after_an_answer_that_spends_the_budget_the_next_request_waits_for_the_reset() -> None:
    assert deliver_twice("x-ratelimit") == [45.0]


def test_a_spec_without_rate_limit_headers_is_not_paced_by_them() -> None:
    assert deliver_twice(None) == []
