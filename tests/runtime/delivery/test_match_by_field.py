"""Results matched on any field of the record (`response.match: {field: email, result: email_address}`):
a Mailchimp-like batch keyed by the user's id answers with failures that name the member's email,
lower-cased. Each listed failure refuses exactly the record with that email, the others are delivered,
and records sharing an email never share a batch (their results could not be told apart). The
destination is a Starlette app reached through httpx's ASGITransport."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.runtime import Outcome, Status, build_sync
from destkit.runtime.authoring.check import check_spec_text
from destkit.runtime.errors import SpecError
from destkit.runtime.outcomes import Reason
from destkit.runtime.spec.loader import parse_spec

SPEC = """\
spec_version: 1
id: members
name: Members
base_url: "https://api.example.com"
auth: {kind: none}
actions:
  upsert:
    title: Upsert members
    fields:
      external_id: {type: string, required: true}
      email: {type: string, required: true}
    batch: {max_records: 500, key: external_id}
    request:
      path: /lists/l1
      body: {members: $records}
      record: {merge_fields: {CUSTOMER_ID: $external_id}, email_address: $email}
    response:
      results: errors
      only: failures
      match: {field: email, result: email_address, case: insensitive}
      error: {code: error_code, message: error}
"""

CONFIG = {"destination": "members", "action": "upsert", "mapping": {"external_id": "id", "email": "email"}}


class Members:
    """Answers each batch with an `errors` entry for every member whose email is in `refused` (lower-cased)."""

    def __init__(self, refused: set[str], extra: list[dict[str, Any]] | None = None) -> None:
        self.refused = refused
        self.extra = extra or []
        self.batches: list[list[str]] = []
        self.app = Starlette(routes=[Route("/lists/l1", self.upsert, methods=["POST"])])

    async def upsert(self, request: Request) -> Response:
        emails = [m["email_address"] for m in orjson.loads(await request.body())["members"]]
        self.batches.append(emails)
        errors = [{"email_address": e.lower(), "error_code": "ERROR_CONTACT_EXISTS", "error": f"{e.lower()} exists"}
                  for e in emails if e.lower() in self.refused]
        return JSONResponse({"new_members": [], "errors": errors + self.extra})


def run(members: Members, records: list[dict[str, Any]], spec: str = SPEC) -> list[Outcome]:
    sync = build_sync(CONFIG, spec=parse_spec(spec, "members.yaml"), base_url="http://members.test", allow_http=True,
                      transport=httpx.ASGITransport(app=members.app))
    outcomes: list[Outcome] = []
    sync.run(records, on_outcome=outcomes.append)
    return sorted(outcomes, key=lambda o: o.row)


def test_a_listed_email_refuses_exactly_its_record_and_the_others_are_delivered() -> None:
    outcomes = run(Members({"bo@example.com"}), [{"id": "1", "email": "ann@example.com"},
                                                 {"id": "2", "email": "bo@example.com"},
                                                 {"id": "3", "email": "cy@example.com"}])
    assert [(o.key, o.status, o.destination_code) for o in outcomes] == [
        ("1", Status.DELIVERED, None), ("2", Status.REJECTED, "ERROR_CONTACT_EXISTS"), ("3", Status.DELIVERED, None)]


def test_the_lower_cased_echo_finds_a_mixed_case_email() -> None:
    outcomes = run(Members({"bo@example.com"}), [{"id": "1", "email": "Bo@Example.com"},
                                                 {"id": "2", "email": "ann@example.com"}])
    assert [(o.key, o.status) for o in outcomes] == [("1", Status.REJECTED), ("2", Status.DELIVERED)]


def test_records_sharing_an_email_are_sent_in_different_batches() -> None:
    members = Members(set())
    run(members, [{"id": "1", "email": "ann@example.com"}, {"id": "2", "email": "ANN@example.com"},
                  {"id": "3", "email": "bo@example.com"}])
    assert members.batches == [["ann@example.com"], ["ANN@example.com", "bo@example.com"]]


def test_a_failure_naming_an_email_no_record_has_dead_letters_the_batch() -> None:
    stranger = [{"email_address": "zed@example.com", "error_code": "ERROR_GENERIC", "error": "?"}]
    outcomes = run(Members(set(), stranger), [{"id": "1", "email": "ann@example.com"}])
    assert [(o.status, o.reason) for o in outcomes] == [(Status.DEAD_LETTERED, Reason.UNEXPECTED_RESPONSE)]


def test_matching_on_an_optional_field_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(SPEC.replace("email: {type: string, required: true}", "email: {type: string}"), "members.yaml")
    assert [i.message for i in caught.value.issues] == [
        "'email' is optional: a record without it could not be matched to its result."]


def test_matching_on_a_field_the_record_does_not_send_as_is_is_a_spec_error() -> None:
    text = SPEC.replace("email_address: $email}", "email_address: {$map: $email, values: {}}}")
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "members.yaml")
    assert [i.message for i in caught.value.issues] == [
        "$email is not sent as a plain value in the record template, so its value cannot be read back to match "
        "a result."]


def test_a_spec_matching_by_field_checks_clean() -> None:
    assert [str(f) for f in check_spec_text(SPEC, "members.yaml").findings] == []
