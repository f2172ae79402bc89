"""The Meta Custom Audiences emulator on its own, served on a real local port: what it answers to
well-formed and malformed uploads, and the audience membership it keeps."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from destkit.destinations.meta_custom_audiences.emulator import EmulatorState, create_app
from destkit.runtime.cli.server import running_server

TOKEN = "EAAB-test-token"
AUDIENCE = "23850000000000001"
URL = f"/v21.0/{AUDIENCE}/users"
SCHEMA = ["EXTERN_ID", "EMAIL", "PHONE"]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


ANN = ["c1", sha("ann@example.com"), sha("14155552671")]
BO = ["c2", sha("bo@example.com"), ""]


def body(rows: list[list[Any]], seq: int = 1, last: bool = True, session_id: int = 77) -> dict[str, Any]:
    return {"payload": {"schema": SCHEMA, "data": rows},
            "session": {"session_id": session_id, "batch_seq": seq, "last_batch_flag": last}}


@pytest.fixture
def app() -> Starlette:
    return create_app(access_token=TOKEN, audience_ids=[AUDIENCE], throttle_after=2, throttle_requests=1)


def state(app: Starlette) -> EmulatorState:
    found: EmulatorState = app.state.emulator
    return found


_ORIGINS: dict[int, str] = {}


@pytest.fixture(autouse=True)
def served(app: Starlette) -> Iterator[None]:
    with running_server(app) as origin:
        _ORIGINS[id(app)] = origin
        yield
    _ORIGINS.pop(id(app), None)


def send(app: Starlette, method: str, payload: Any, *, url: str = URL, token: str = TOKEN,
         params: dict[str, str] | None = None) -> httpx.Response:
    origin = _ORIGINS.get(id(app))
    if origin is None:  # an app of the test's own: served for this one request
        with running_server(app) as own:
            return send_to(own, method, payload, url=url, token=token, params=params)
    return send_to(origin, method, payload, url=url, token=token, params=params)


def send_to(origin: str, method: str, payload: Any, *, url: str, token: str, params: dict[str, str] | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if params is None else {}
    with httpx.Client(base_url=origin) as client:
        return client.request(method, url, json=payload, headers=headers, params=params)


def test_an_upload_is_answered_with_meta_s_counts(app: Starlette) -> None:
    answer = send(app, "POST", body([ANN, BO]))
    assert (answer.status_code, answer.json()) == (200, {
        "audience_id": AUDIENCE, "session_id": "77", "num_received": 2, "num_invalid_entries": 0,
        "invalid_entry_samples": {}})


def test_added_users_are_members_and_removed_users_are_not(app: Starlette) -> None:
    send(app, "POST", body([ANN, BO], seq=1, last=False))
    send(app, "DELETE", body([BO], seq=2, last=True))
    assert state(app).members(AUDIENCE, "EMAIL") == {ANN[1]}
    assert state(app).members(AUDIENCE, "EXTERN_ID") == {"c1"}


def test_a_value_that_is_not_a_sha256_hash_is_an_invalid_entry_and_not_added(app: Starlette) -> None:
    answer = send(app, "POST", body([ANN, ["c3", "cara@example.com", ""]]))
    assert answer.json()["num_invalid_entries"] == 1
    assert answer.json()["invalid_entry_samples"] == {"EMAIL": "cara@example.com"}
    assert state(app).members(AUDIENCE, "EXTERN_ID") == {"c1"}


def test_a_row_with_fewer_values_than_the_schema_refuses_the_request(app: Starlette) -> None:
    answer = send(app, "POST", body([ANN, ["c2", sha("14155552671")]]))
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100
    assert state(app).members(AUDIENCE, "EXTERN_ID") == set()


def test_a_wrong_token_is_error_190(app: Starlette) -> None:
    answer = send(app, "POST", body([ANN]), token="EAAB-wrong")
    assert (answer.status_code, answer.json()["error"]["code"], answer.json()["error"]["type"]) == (
        400, 190, "OAuthException")


def test_the_token_may_come_as_the_access_token_parameter(app: Starlette) -> None:
    answer = send(app, "POST", body([ANN]), params={"access_token": TOKEN})
    assert answer.status_code == 200


def test_an_unknown_audience_is_error_100_subcode_33(app: Starlette) -> None:
    answer = send(app, "POST", body([ANN]), url="/v21.0/999/users")
    assert (answer.status_code, answer.json()["error"]["code"], answer.json()["error"]["error_subcode"]) == (400, 100, 33)


def test_more_rows_than_the_limit_refuse_the_request() -> None:
    small = create_app(access_token=TOKEN, audience_ids=[AUDIENCE], max_rows=1)
    answer = send(small, "POST", body([ANN, BO]))
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, 100)


def test_after_its_budget_the_emulator_throttles_with_400_code_80003_then_recovers(app: Starlette) -> None:
    statuses = [send(app, "POST", body([ANN], seq=seq, last=False)) for seq in (1, 2, 3, 3)]
    assert [a.status_code for a in statuses] == [200, 200, 400, 200]
    assert statuses[2].json()["error"]["code"] == 80003
    assert "x-business-use-case-usage" in statuses[2].headers


def test_a_session_records_its_batch_numbers_and_its_last_batch(app: Starlette) -> None:
    send(app, "POST", body([ANN], seq=1, last=False))
    send(app, "POST", body([BO], seq=2, last=True))
    session = state(app).sessions[77]
    assert (session.batch_seqs, session.last_batch_seq, session.rows) == ([1, 2], 2, 2)


def test_a_new_batch_after_the_last_one_is_refused(app: Starlette) -> None:
    send(app, "POST", body([ANN], seq=1, last=True))
    answer = send(app, "POST", body([BO], seq=2, last=False))
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, 100)


def test_a_batch_sent_again_is_accepted(app: Starlette) -> None:
    send(app, "POST", body([ANN], seq=1, last=True))
    assert send(app, "POST", body([ANN], seq=1, last=True)).status_code == 200


def test_a_session_id_that_is_not_an_integer_is_refused(app: Starlette) -> None:
    answer = send(app, "POST", {"payload": {"schema": SCHEMA, "data": [ANN]},
                                "session": {"session_id": "abc", "batch_seq": 1, "last_batch_flag": True}})
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, 100)


def test_the_api_key_destkit_emulate_passes_is_the_token_the_emulator_accepts() -> None:
    emulated = create_app(api_key="any-key-you-like", audience_ids=[AUDIENCE])
    assert send(emulated, "POST", body([ANN]), token="any-key-you-like").status_code == 200
