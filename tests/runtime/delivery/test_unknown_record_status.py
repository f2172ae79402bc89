"""A per-record status the spec does not know is an unexpected answer, not a refusal.

Hello Charles says `created`/`updated` (success) or `failed` (refused, with an error code) for each
contact. A status in neither list (say `queued`) tells us nothing about whether the contact was
applied: the record is dead-lettered as `unexpected_response` (sent again by the next run, as a
Segment or Hightouch sync retries rows it could not confirm), never reported as refused by the
destination, which it was not.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from destkit.runtime import Status, load_spec
from destkit.runtime.delivery.reading import ItemResult, ResponseReader
from destkit.runtime.spec.models import ResponseSpec
from tests.runtime.delivery.test_delivery import FakeClock, deliverer, make_batch, run, scripted

QUEUED = ("the destination answered 200 but this record's status is 'queued', which the spec lists neither as "
          "a success (created, updated) nor as a failure (failed); the record may or may not have been applied "
          "and is dead-lettered, to be sent again by the next run.")


def answer_by_key(statuses: dict[str, str]) -> Any:
    def handler(contacts: list[dict[str, Any]]) -> Response:
        data = []
        for c in contacts:
            key = c["external_reference_id"]
            state = statuses.get(key, "created")
            errors = [{"code": "invalid_phone_number", "message": "bad phone"}] if state == "failed" else []
            data.append({"status": state, "id": f"id-{key}" if state == "created" else None,
                         "external_reference_id": key, "errors": errors})
        return JSONResponse({"status": 200, "data": data})
    return handler


def test_a_record_with_an_unknown_status_is_dead_lettered_as_unexpected_response() -> None:
    app, seen = scripted(answer_by_key({"k2": "queued", "k3": "failed"}))
    outcomes = {o.row: o for o in run(deliverer(app, FakeClock()), make_batch(4))}
    assert {row: (o.status, o.reason) for row, o in outcomes.items()} == {
        1: (Status.DELIVERED, None),
        2: (Status.DEAD_LETTERED, "unexpected_response"),
        3: (Status.REJECTED, "destination_rejected"),
        4: (Status.DELIVERED, None),
    }
    assert outcomes[2].message == QUEUED
    assert (outcomes[2].destination_status, outcomes[2].attempts) == (200, 1)
    assert len(seen) == 1  # not resent within the run: the same answer would come back


def test_a_record_with_the_failed_status_keeps_the_destinations_code_and_message() -> None:
    app, _ = scripted(answer_by_key({"k1": "failed"}))
    [outcome] = run(deliverer(app, FakeClock()), make_batch(1))
    assert (outcome.status, outcome.reason, outcome.destination_code, outcome.destination_message) == (
        Status.REJECTED, "destination_rejected", "invalid_phone_number", "bad phone")


def test_the_hello_charles_spec_lists_its_failure_status() -> None:
    ok = load_spec("hello_charles").actions["send_contacts"].response.ok
    assert ok is not None
    assert (ok.field, ok.in_, ok.failed) == ("status", ["created", "updated"], ["failed"])


def test_without_a_failed_list_any_status_that_is_not_ok_is_a_failure() -> None:
    reader = ResponseReader(ResponseSpec.model_validate({"results": "data", "ok": {"field": "status", "in": ["created"]}}))
    assert reader.read({"data": [{"status": "queued"}]}, ["k1"]) == [ItemResult(False)]


def test_the_reader_names_the_unknown_status() -> None:
    spec = ResponseSpec.model_validate(
        {"results": "data", "ok": {"field": "status", "in": ["created"], "failed": ["failed"]}})
    [result] = ResponseReader(spec).read({"data": [{"status": None}]}, ["k1"])
    assert result == ItemResult(False, unexpected="status is None, which the spec lists neither as a success "
                                "(created) nor as a failure (failed)")
