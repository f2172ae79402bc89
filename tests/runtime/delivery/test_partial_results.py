"""Answers that list only the failed records, and keys the destination echoes in another case.

A Braze-like `/users/track` answers 201 with `{"message": "success", "errors": [...]}`, one entry per
refused record naming its position (`index`); the others were applied. `response.only: failures`
with `match: {index: index}` rejects exactly the listed record and delivers the rest. A HubSpot- or
Mailchimp-like API echoes the key lower-cased: `match: {key, result, case: insensitive}` still finds
each record's result. The destination is a Starlette app reached through httpx's ASGITransport.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.runtime import Status
from destkit.runtime.delivery.batching import Batch
from destkit.runtime.delivery.reading import ResponseReader
from destkit.runtime.delivery.retry import RateGate, RetryPolicy
from destkit.runtime.delivery.sender import Deliverer, ErrorTable
from destkit.runtime.outcomes import Outcome, Reason
from destkit.runtime.spec.body_template import build_envelope
from destkit.runtime.spec.models import ErrorClasses, ResponseSpec
from tests.runtime.delivery.test_delivery import FakeClock

EMAILS = ["Ada@Example.com", "grace@example.com", "Linus@Example.com", "ken@example.com"]

BRAZE_LIKE = {"results": "errors[?input_array=='attributes']", "only": "failures", "match": {"index": "index"},
              "error": {"code": "type", "message": "type"}}


def destination(answer: Callable[[list[dict[str, Any]]], Any], status: int = 201) -> Starlette:
    """An app at POST /users/track answering the request's `attributes` with `answer(attributes)`."""
    async def track(request: Request) -> Response:
        attributes = orjson.loads(await request.body())["attributes"]
        return JSONResponse(answer(attributes), status)
    return Starlette(routes=[Route("/users/track", track, methods=["POST"])])


def deliver(app: Starlette, response: dict[str, Any], emails: list[str] = EMAILS) -> list[Outcome]:
    clock = FakeClock()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dest.test")
    deliverer = Deliverer(client, "POST", "/users/track", build_envelope({"attributes": "$records"}, {}),
                          ResponseReader(ResponseSpec.model_validate(response)), ErrorTable.from_spec(ErrorClasses()),
                          RetryPolicy(rng=random.Random(7)), RateGate(None, clock=clock, sleep=clock.sleep),
                          clock=clock, sleep=clock.sleep)
    parts = [orjson.dumps({"email": e}) for e in emails]
    batch = Batch(list(range(1, len(emails) + 1)), list(emails), parts, sum(map(len, parts)), 1)
    return sorted(asyncio.run(deliverer.deliver(batch)), key=lambda o: o.row)


def braze_failing(*positions: int) -> Callable[[list[dict[str, Any]]], Any]:
    def answer(attributes: list[dict[str, Any]]) -> Any:
        errors = [{"type": "invalid_email", "input_array": "attributes", "index": i} for i in positions]
        return {"message": "success", **({"errors": errors} if errors else {})}
    return answer


def statuses(outcomes: list[Outcome]) -> list[tuple[int, Status, Reason | None]]:
    return [(o.row, o.status, o.reason) for o in outcomes]


# --- only failures, by index ----------------------------------------------------------------------


def test_a_failures_only_answer_rejects_exactly_the_listed_record_and_delivers_the_others() -> None:
    outcomes = deliver(destination(braze_failing(1)), BRAZE_LIKE)
    assert statuses(outcomes) == [
        (1, Status.DELIVERED, None),
        (2, Status.REJECTED, Reason.DESTINATION_REJECTED),
        (3, Status.DELIVERED, None),
        (4, Status.DELIVERED, None),
    ]
    assert (outcomes[1].destination_status, outcomes[1].destination_code, outcomes[1].destination_message) == (
        201, "invalid_email", "invalid_email")


def test_an_answer_without_the_failures_list_delivers_every_record() -> None:
    outcomes = deliver(destination(braze_failing()), BRAZE_LIKE)
    assert statuses(outcomes) == [(row, Status.DELIVERED, None) for row in (1, 2, 3, 4)]


def test_failures_about_another_input_array_are_filtered_out_by_the_results_path() -> None:
    app = destination(lambda attributes: {"message": "success", "errors": [
        {"type": "bad_event", "input_array": "events", "index": 0}]})
    assert statuses(deliver(app, BRAZE_LIKE)) == [(row, Status.DELIVERED, None) for row in (1, 2, 3, 4)]


def test_a_failure_at_an_index_outside_the_batch_dead_letters_the_batch_instead_of_delivering_it() -> None:
    outcomes = deliver(destination(braze_failing(4)), BRAZE_LIKE)
    assert statuses(outcomes) == [(row, Status.DEAD_LETTERED, Reason.UNEXPECTED_RESPONSE) for row in (1, 2, 3, 4)]
    assert outcomes[0].message.startswith(
        "the destination answered 201 but a result whose index is 4, which is no record's position in the batch;")


def test_a_listed_failure_with_a_retry_code_is_sent_again_alone() -> None:
    sent: list[list[str]] = []

    def answer(attributes: list[dict[str, Any]]) -> Any:
        sent.append([a["email"] for a in attributes])
        return {"message": "success", **({"errors": [{"type": "busy", "input_array": "attributes", "index": 2}]}
                                         if len(sent) == 1 else {})}

    outcomes = deliver(destination(answer), {**BRAZE_LIKE, "retry_codes": ["busy"]})
    assert statuses(outcomes) == [(row, Status.DELIVERED, None) for row in (1, 2, 3, 4)]
    assert sent == [EMAILS, [EMAILS[2]]]


# --- only failures, by key ------------------------------------------------------------------------


def test_failures_listed_by_an_echoed_key_reject_only_that_record() -> None:
    app = destination(lambda attributes: {"failed": [{"email_address": "linus@example.com", "reason": "bounced"}]})
    response = {"results": "failed", "only": "failures", "error": {"code": "reason"},
                "match": {"key": "email", "result": "email_address", "case": "insensitive"}}
    assert statuses(deliver(app, response)) == [
        (1, Status.DELIVERED, None),
        (2, Status.DELIVERED, None),
        (3, Status.REJECTED, Reason.DESTINATION_REJECTED),
        (4, Status.DELIVERED, None),
    ]


# --- keys echoed lower-cased ----------------------------------------------------------------------


def lower_cased_echo(attributes: list[dict[str, Any]]) -> Any:
    return {"results": [{"email_address": a["email"].lower(), "status": "subscribed"} for a in attributes]}


ECHO = {"results": "results", "match": {"key": "email", "result": "email_address", "case": "insensitive"},
        "ok": {"field": "status", "in": ["subscribed"]}}


def test_a_lower_cased_echo_matched_case_insensitively_delivers_every_record() -> None:
    assert statuses(deliver(destination(lower_cased_echo, 200), ECHO)) == [
        (row, Status.DELIVERED, None) for row in (1, 2, 3, 4)]


def test_a_lower_cased_echo_matched_case_sensitively_is_unreadable() -> None:
    sensitive = {**ECHO, "match": {"key": "email", "result": "email_address"}}
    outcomes = deliver(destination(lower_cased_echo, 200), sensitive)
    assert statuses(outcomes) == [(row, Status.DEAD_LETTERED, Reason.UNEXPECTED_RESPONSE) for row in (1, 2, 3, 4)]
    assert "no result for key 'Ada@Example.com'" in outcomes[0].message


# --- what the language refuses --------------------------------------------------------------------


def test_only_failures_cannot_be_matched_by_order() -> None:
    with pytest.raises(ValidationError, match="with only: failures the results cannot be matched by their order"):
        ResponseSpec.model_validate({"results": "errors", "only": "failures"})


def test_only_failures_takes_no_ok_rule() -> None:
    with pytest.raises(ValidationError, match="an ok rule has nothing to decide"):
        ResponseSpec.model_validate({"results": "errors", "only": "failures", "match": {"index": "index"},
                                     "ok": {"field": "status", "in": ["ok"]}})
