"""A per-record result naming its record by a position that is digits to `str.isdigit` but no
integer to `int()` ("²", or 5,000 digits) makes the answer unreadable, as any position outside the
batch does: the records are dead-lettered as `unexpected_response`. It raised out of the reader and
the batch was dead-lettered as a `connection_error` ("delivery failed unexpectedly (ValueError)")."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from destkit.runtime import Outcome, Status, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.retry import RetryPolicy

CONFIG = {"destination": "braze", "action": "track_users", "settings": {"instance": "US-03"},
          "secrets": {"api_key": "braze-key"}, "mapping": {"external_id": "user_id"}}


def braze_failing_the_record_at(index: object) -> Starlette:
    async def track(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"message": "success", "errors": [
            {"type": "bad_thing", "input_array": "attributes", "index": index}]}, status_code=201)

    return Starlette(routes=[Route("/users/track", track, methods=["POST"])])


def outcomes_when_the_answer_names(index: object) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with running_server(braze_failing_the_record_at(index)) as url:
        sync = build_sync(CONFIG, base_url=url, allow_http=True, retry=RetryPolicy(max_attempts=1))
        records = [{"user_id": "u1"}, {"user_id": "u2"}]
        asyncio.run(asyncio.wait_for(sync.arun(records, on_outcome=outcomes.append), 60))
    return sorted(outcomes, key=lambda o: o.row)


@pytest.mark.parametrize("index", ["²", "1" * 5000, "٣"], ids=["superscript", "5000-digits", "arabic-indic"])
def test_a_position_int_cannot_read_dead_letters_the_batch_as_unexpected_response(index: str) -> None:
    outcomes = outcomes_when_the_answer_names(index)
    assert [(o.status, o.reason, o.destination_status) for o in outcomes] == [
        (Status.DEAD_LETTERED, "unexpected_response", 201)] * 2
    assert (outcomes[0].message or "").startswith(f"the destination answered 201 but a result whose index is {index!r}"[:120])


def test_a_position_given_as_ascii_digits_still_names_its_record() -> None:
    outcomes = outcomes_when_the_answer_names("1")
    assert [(o.row, o.status, o.reason, o.destination_code) for o in outcomes] == [
        (1, Status.DELIVERED, None, None), (2, Status.REJECTED, "destination_rejected", "bad_thing")]
