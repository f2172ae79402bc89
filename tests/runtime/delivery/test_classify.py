"""classify: how an answer is handled, decided from (status, headers, body, spec) alone — no HTTP here.

One test per action, then Retry-After, the order of the classes, and where the destination's own
code and message are found.
"""

from __future__ import annotations

import email.utils

import httpx
import pytest

from destkit.runtime import load_spec
from destkit.runtime.delivery.classify import (
    OK,
    Action,
    ErrorTable,
    Resolution,
    classify,
    classify_exception,
    destination_error,
)
from destkit.runtime.outcomes import Reason
from destkit.runtime.spec.models import ErrorClasses, ResponseSpec

DEFAULTS = ErrorTable.from_spec(ErrorClasses())
NOW = 1_800_000_000.0


def hc_errors(code: str, message: str) -> dict[str, object]:
    return {"errors": [{"code": code, "message": message}]}


# --- one test per action ------------------------------------------------------------------------


def test_a_2xx_is_ok() -> None:
    assert classify(201, {}, {"anything": 1}, DEFAULTS) == Resolution(Action.OK)
    assert classify(200, {}, None, DEFAULTS) is OK


def test_a_503_is_retried_as_a_server_error_with_the_destinations_code_and_message() -> None:
    assert classify(503, {}, hc_errors("busy", "try later"), DEFAULTS) == Resolution(
        Action.RETRY, wait=None, reason=Reason.SERVER_ERROR, message="the destination answered HTTP 503",
        destination_code="busy", destination_message="try later",
    )


def test_a_429_is_rate_limited_and_waits_the_retry_after_seconds() -> None:
    assert classify(429, {"retry-after": "7"}, None, DEFAULTS) == Resolution(
        Action.RATE_LIMITED, wait=7.0, reason=Reason.RATE_LIMITED, message="the destination answered HTTP 429",
    )


def test_a_400_in_the_split_class_is_split() -> None:
    assert classify(400, {}, hc_errors("invalid", "bad batch"), DEFAULTS) == Resolution(
        Action.SPLIT, reason=Reason.DESTINATION_REJECTED,
        message="the destination refused the request (HTTP 400); see destination_message.",
        destination_code="invalid", destination_message="bad batch",
    )


def test_a_404_is_rejected() -> None:
    assert classify(404, {}, {"message": "no such list"}, DEFAULTS) == Resolution(
        Action.REJECT, reason=Reason.DESTINATION_REJECTED,
        message="the destination refused the request (HTTP 404); see destination_message.",
        destination_message="no such list",
    )


def test_a_401_stops_the_run_with_the_destinations_message() -> None:
    assert classify(401, {}, {"msg": "Unauthorized"}, DEFAULTS) == Resolution(
        Action.STOP, reason=Reason.AUTH_FAILED, message="Unauthorized", destination_message="Unauthorized",
    )


def test_a_403_without_a_message_stops_the_run_as_unauthorized() -> None:
    resolution = classify(403, {}, None, DEFAULTS)
    assert (resolution.action, resolution.message) == (Action.STOP, "unauthorized")


# --- redirects ----------------------------------------------------------------------------------


def test_a_301_is_rejected_as_a_redirect_naming_the_location() -> None:
    assert classify(301, {"Location": "https://elsewhere.test/"}, None, DEFAULTS) == Resolution(
        Action.REJECT, reason=Reason.REDIRECT,
        message="the destination answered 301, redirecting to https://elsewhere.test/; "
        "redirects are not followed, check the base URL.",
    )


def test_a_redirect_without_a_location_says_elsewhere() -> None:
    assert "redirecting to elsewhere;" in classify(308, {}, None, DEFAULTS).message


# --- Retry-After --------------------------------------------------------------------------------


def test_retry_after_as_an_http_date_is_the_seconds_until_that_date() -> None:
    headers = {"Retry-After": email.utils.formatdate(NOW + 30, usegmt=True)}
    assert classify(503, headers, None, DEFAULTS, now=NOW).wait == 30.0


def test_retry_after_is_read_from_httpx_headers_too() -> None:
    assert classify(429, httpx.Headers({"RETRY-AFTER": "2.5"}), None, DEFAULTS).wait == 2.5


def test_an_unreadable_retry_after_leaves_the_wait_to_the_backoff() -> None:
    assert classify(429, {"retry-after": "soon"}, None, DEFAULTS).wait is None


def test_a_rejected_status_has_no_wait_even_with_retry_after() -> None:
    assert classify(422, {"retry-after": "5"}, None, DEFAULTS).wait is None


# --- the order of the classes -------------------------------------------------------------------


def test_a_status_class_covers_its_whole_hundred() -> None:
    assert classify(599, {}, None, DEFAULTS).action is Action.RETRY


def test_a_2xx_is_ok_even_when_listed_under_auth() -> None:
    table = ErrorTable.from_spec(ErrorClasses(auth=["2xx"]))
    assert classify(200, {}, None, table).action is Action.OK


def test_the_auth_class_wins_over_3xx_and_the_retry_class() -> None:
    table = ErrorTable.from_spec(ErrorClasses(auth=[302, 503], retry=["5xx"]))
    assert [classify(s, {}, None, table).action for s in (302, 503, 502)] == [Action.STOP, Action.STOP, Action.RETRY]


def test_a_429_outside_the_retry_class_is_rejected() -> None:
    table = ErrorTable.from_spec(ErrorClasses(retry=["5xx"]))
    assert classify(429, {}, None, table).action is Action.REJECT


def test_a_status_in_no_class_is_rejected() -> None:
    assert classify(418, {}, None, DEFAULTS).action is Action.REJECT


def test_no_status_at_all_is_retried_as_a_connection_error() -> None:
    resolution = classify(None, {}, None, DEFAULTS)
    assert (resolution.action, resolution.reason) == (Action.RETRY, Reason.CONNECTION_ERROR)


# --- transport failures -------------------------------------------------------------------------


def test_a_timeout_is_retried_as_a_timeout() -> None:
    assert classify_exception(httpx.ReadTimeout("slow")) == Resolution(
        Action.RETRY, reason=Reason.TIMEOUT, message="the request timed out (ReadTimeout)"
    )


def test_a_failed_connection_is_retried_as_a_connection_error() -> None:
    assert classify_exception(httpx.ConnectError("refused")) == Resolution(
        Action.RETRY, reason=Reason.CONNECTION_ERROR, message="the connection failed (ConnectError)"
    )


# --- the destination's own code and message -----------------------------------------------------


def test_the_spec_request_error_paths_come_before_the_conventions() -> None:
    table = ErrorTable.from_spec(ErrorClasses(), ResponseSpec(request_error={"code": "fault.id", "message": "fault.text"}))
    body = {"fault": {"id": 17, "text": "quota"}, "message": "generic"}
    assert destination_error(body, table.paths) == ("17", "quota")


def test_the_response_error_paths_apply_to_a_whole_answer_when_request_error_finds_nothing() -> None:
    response = ResponseSpec(request_error={"message": "fault.text"}, error={"code": "problem.code"})
    table = ErrorTable.from_spec(ErrorClasses(), response)
    assert destination_error({"problem": {"code": "E1"}}, table.paths) == ("E1", None)


def test_an_empty_message_by_the_spec_paths_falls_back_to_the_conventions() -> None:
    table = ErrorTable.from_spec(ErrorClasses(), ResponseSpec(request_error={"message": "text"}))
    assert destination_error({"text": "", "error": "bad key"}, table.paths) == (None, "bad key")


@pytest.mark.parametrize("key", ["message", "msg", "error"])
def test_a_top_level_message_is_found_by_convention(key: str) -> None:
    assert destination_error({key: "nope"}) == (None, "nope")


def test_a_body_that_is_not_json_is_the_message_cut_to_300_characters() -> None:
    assert destination_error(b"  " + b"x" * 400 + b"\n") == (None, "x" * 300)


def test_an_empty_body_says_nothing() -> None:
    assert destination_error(None) == (None, None)
    assert destination_error(b"   ") == (None, None)


def test_a_destination_specific_key_is_not_guessed() -> None:
    assert destination_error({"replyCode": 1, "replyText": "Unauthorized"}) == (None, None)


def test_the_emarsys_spec_reads_reply_text_for_whole_request_refusals() -> None:
    spec = load_spec("emarsys")
    action = spec.actions["upsert_contacts"]
    table = ErrorTable.from_spec(spec.errors_for(action), action.response)
    body = {"replyCode": 2002, "replyText": "The list of contacts exceeds the maximum size", "data": ""}
    resolution = classify(400, {}, body, table)
    assert (resolution.action, resolution.destination_code, resolution.destination_message) == (
        Action.SPLIT, None, "The list of contacts exceeds the maximum size",
    )
    assert classify(401, {}, {"replyCode": 1, "replyText": "Unauthorized", "data": ""}, table).message == "Unauthorized"
