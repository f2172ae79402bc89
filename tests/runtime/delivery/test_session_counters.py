"""Per-request session counters: `$session.id`, `$session.batch_seq` and `$session.last_batch` in a body.

An audience upload (Meta Custom Audiences' `session: {session_id, batch_seq, last_batch_flag}`) numbers
the requests of one upload and flags the final one. The counters follow the order the requests are
built, only the final request of the input says `last_batch: true`, and a request sent again (a retry,
or the halves of a split) carries the counters it was built with.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.runtime import Status, build_sync
from destkit.runtime.delivery.batching import SessionCounters
from destkit.runtime.delivery.retry import RetryPolicy
from destkit.runtime.errors import SpecError
from destkit.runtime.spec.body_template import build_envelope
from destkit.runtime.spec.loader import parse_spec

SPEC = """\
spec_version: 1
id: sessions
name: Sessions
base_url: "https://api.example.com"
auth: {kind: none}
errors:
  split: [400]
actions:
  add:
    title: Add to audience
    fields:
      email: {type: string, required: true}
    batch: {max_records: 2}
    request:
      path: /audience/users
      body:
        data: $records
        session: {session_id: $session.id, batch_seq: $session.batch_seq, last_batch_flag: $session.last_batch}
      record: $email
"""
CONFIG = {"destination": "sessions", "action": "add", "mapping": {"email": "email"}}


def emails(n: int) -> list[dict[str, str]]:
    return [{"email": f"user{i}@example.com"} for i in range(1, n + 1)]


def sessions_of(n: int) -> list[dict[str, Any]]:
    result = build_sync(CONFIG, spec=parse_spec(SPEC, "sessions.yaml")).dry_run(emails(n))
    return [request.json()["session"] for request in result.requests]


def test_requests_are_numbered_in_build_order_and_only_the_final_one_is_the_last_batch() -> None:
    sessions = sessions_of(5)
    assert [(s["batch_seq"], s["last_batch_flag"]) for s in sessions] == [(1, False), (2, False), (3, True)]


def test_every_request_of_a_run_carries_the_same_positive_integer_session_id() -> None:
    ids = {s["session_id"] for s in sessions_of(5)}
    assert len(ids) == 1
    [session_id] = ids
    assert isinstance(session_id, int) and 0 < session_id < 2**63


def test_a_batch_that_fills_up_with_the_input_s_last_record_is_the_last_batch() -> None:
    sessions = sessions_of(4)  # the batcher hands out the second batch full, before the input ends
    assert [(s["batch_seq"], s["last_batch_flag"]) for s in sessions] == [(1, False), (2, True)]


def test_a_single_request_is_both_the_first_and_the_last() -> None:
    assert [(s["batch_seq"], s["last_batch_flag"]) for s in sessions_of(1)] == [(1, True)]


def test_the_envelope_size_is_an_upper_bound_of_a_body_with_counters() -> None:
    envelope = build_envelope({"data": "$records", "seq": "$session.batch_seq", "id": "$session.id"}, {})
    body = envelope.join([b"1", b"2"], {"id": 2**62, "batch_seq": 10**18, "last_batch": True})
    assert body == b'{"data":[1,2],"seq":1000000000000000000,"id":4611686018427387904}'
    assert len(body) <= envelope.size(2, 2)


def test_a_body_without_session_values_renders_as_before() -> None:
    envelope = build_envelope({"data": "$records"}, {})
    assert (envelope.session, envelope.join([b"1"])) == ((), b'{"data":[1]}')


def recording_destination(answers: list[int]) -> tuple[Starlette, list[dict[str, Any]]]:
    """An app that records each request's body and answers with the next status of `answers` (then 200)."""
    seen: list[dict[str, Any]] = []

    async def users(request: Request) -> Response:
        body = orjson.loads(await request.body())
        seen.append(body)
        status = answers.pop(0) if answers else 200
        return JSONResponse({}, status)

    return Starlette(routes=[Route("/audience/users", users, methods=["POST"])]), seen


def run_against(app: Starlette, n: int) -> Any:
    sync = build_sync(CONFIG, spec=parse_spec(SPEC, "sessions.yaml"), base_url="http://api.test", allow_http=True,
                      transport=httpx.ASGITransport(app=app), retry=RetryPolicy(base=0))
    return sync.run(emails(n))


def test_a_retried_request_keeps_its_counters() -> None:
    app, seen = recording_destination([503])
    result = run_against(app, 1)
    assert result.summary.count(Status.DELIVERED) == 1
    assert [body["session"]["batch_seq"] for body in seen] == [1, 1]
    assert [body["session"]["last_batch_flag"] for body in seen] == [True, True]


def test_the_halves_of_a_split_request_keep_its_counters() -> None:
    app, seen = recording_destination([400])
    result = run_against(app, 2)
    assert result.summary.count(Status.DELIVERED) == 2
    assert [(len(body["data"]), body["session"]["batch_seq"], body["session"]["last_batch_flag"]) for body in seen] == [
        (2, 1, True), (1, 1, True), (1, 1, True)]


def test_an_unknown_session_value_is_refused_with_the_name_meant() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(SPEC.replace("$session.batch_seq", "$session.batchseq"), "sessions.yaml")
    assert [str(i) for i in info.value.issues] == [
        "sessions.yaml:16: actions.add.request.body: $session.batchseq is not a session value; did you mean "
        "$session.batch_seq? the body may use $session.id, $session.batch_seq, $session.last_batch.",
    ]


def test_a_session_value_in_the_record_body_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(SPEC.replace("record: $email", "record: {email: $email, seq: $session.batch_seq}"), "sessions.yaml")
    assert [str(i) for i in info.value.issues] == [
        "sessions.yaml:19: actions.add.request.record: $session.batch_seq is a value of the whole request; it "
        "belongs in request.body, not in the record body.",
    ]


def test_a_run_s_session_id_is_derived_from_its_run_id_and_two_runs_are_two_sessions() -> None:
    app, seen = recording_destination([])
    sync = build_sync(CONFIG, spec=parse_spec(SPEC, "sessions.yaml"), base_url="http://api.test", allow_http=True,
                      transport=httpx.ASGITransport(app=app))
    first = sync.run(emails(1), run_id="run-a")
    sync.run(emails(1), run_id="run-b")
    sync.run(emails(1), run_id="run-a")
    ids = [body["session"]["session_id"] for body in seen]
    assert ids[0] == ids[2] == SessionCounters.id_of(first.summary.run_id)
    assert ids[0] != ids[1]


def test_a_dry_run_shows_one_fixed_session_id() -> None:
    assert sessions_of(1)[0]["session_id"] == sessions_of(3)[0]["session_id"] == SessionCounters.id_of("dry run")


def test_when_the_input_fails_the_batch_held_back_is_still_sent_but_not_as_the_last() -> None:
    def failing_input() -> Any:
        yield from emails(3)
        raise OSError("the source broke")

    app, seen = recording_destination([])
    sync = build_sync(CONFIG, spec=parse_spec(SPEC, "sessions.yaml"), base_url="http://api.test", allow_http=True,
                      transport=httpx.ASGITransport(app=app))
    with pytest.raises(Exception, match="the source broke"):
        sync.run(failing_input())
    assert [(len(b["data"]), b["session"]["batch_seq"], b["session"]["last_batch_flag"]) for b in seen] == [(2, 1, False)]
