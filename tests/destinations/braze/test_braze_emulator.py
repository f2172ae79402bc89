"""The Braze emulator on its own: bearer auth, /users/track's failures-only answer, rate-limit headers, subscriptions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from destkit.destinations.braze.emulator import DEFAULT_GROUPS, NO_VALID_DATA, create_app
from destkit.destinations.braze.store import EmulatorState

KEY = "rest-key-1"
BEARER = {"Authorization": f"Bearer {KEY}"}
GROUP = DEFAULT_GROUPS[0]


def post(app: Starlette, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """One request to the emulator, in process, through httpx."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rest.iad-01.braze.test") as client:
            return await client.post(path, json=body, headers=BEARER if headers is None else headers)

    return asyncio.run(go())


def state_of(app: Starlette) -> EmulatorState:
    state: EmulatorState = app.state.emulator
    return state


@pytest.fixture
def app() -> Starlette:
    return create_app(api_key=KEY)


# --- auth --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer another-key"}, {"Authorization": KEY}])
def test_a_request_without_the_workspace_key_as_bearer_is_refused_with_401(
    app: Starlette, headers: dict[str, str]
) -> None:
    answer = post(app, "/users/track", {"attributes": [{"external_id": "u1"}]}, headers=headers)

    assert answer.status_code == 401
    assert answer.json()["message"].startswith("Invalid API key")
    assert state_of(app).contacts == {}


def test_the_recorded_request_keeps_the_auth_scheme_not_the_key(app: Starlette) -> None:
    post(app, "/users/track", {"attributes": [{"external_id": "u1"}]})

    assert [r.authorization for r in state_of(app).requests] == ["Bearer"]


# --- /users/track -----------------------------------------------------------------------------------


def test_all_valid_attributes_answer_201_success_with_the_count_and_no_errors(app: Starlette) -> None:
    answer = post(app, "/users/track", {"attributes": [
        {"external_id": "u1", "email": "ann@example.com", "first_name": "Ann"},
        {"external_id": "u2", "gender": "F", "dob": "1990-02-28", "loyalty": ["gold"]},
    ]})

    assert (answer.status_code, answer.json()) == (201, {"message": "success", "attributes_processed": 2})
    assert state_of(app).contacts["u1"].attributes == {"email": "ann@example.com", "first_name": "Ann"}
    assert state_of(app).contacts["u2"].attributes == {"gender": "F", "dob": "1990-02-28", "loyalty": ["gold"]}


def test_an_invalid_email_fails_only_its_object_which_is_listed_by_index(app: Starlette) -> None:
    answer = post(app, "/users/track", {"attributes": [
        {"external_id": "u1", "email": "ann@example.com"},
        {"external_id": "u2", "email": "bo@localhost"},
        {"external_id": "u3", "email": "cy@example.org"},
    ]})

    assert answer.status_code == 201
    assert answer.json() == {
        "message": "success",
        "attributes_processed": 2,
        "errors": [{"type": "'email' is not valid", "input_array": "attributes", "index": 1}],
    }
    assert set(state_of(app).contacts) == {"u1", "u3"}


def test_a_bad_attribute_type_fails_only_its_object(app: Starlette) -> None:
    answer = post(app, "/users/track", {"attributes": [
        {"external_id": "u1", "first_name": 5},
        {"external_id": "u2", "first_name": "Bo"},
    ]})

    assert answer.json()["errors"] == [{"type": "'first_name' is not valid", "input_array": "attributes", "index": 0}]
    assert set(state_of(app).contacts) == {"u2"}


def test_an_object_naming_no_user_fails_with_the_identifier_error(app: Starlette) -> None:
    answer = post(app, "/users/track", {"attributes": [{"first_name": "Ann"}, {"external_id": "u2"}]})

    assert answer.json()["errors"] == [{
        "type": "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required",
        "input_array": "attributes",
        "index": 0,
    }]


def test_a_request_whose_every_object_fails_is_a_fatal_400_with_the_message_and_errors(app: Starlette) -> None:
    answer = post(app, "/users/track", {"attributes": [{"external_id": "u1", "gender": "female"}]})

    assert answer.status_code == 400
    assert answer.json() == {
        "message": NO_VALID_DATA,
        "errors": [{"type": "'gender' is not valid", "input_array": "attributes", "index": 0}],
    }


def test_more_than_75_attributes_objects_are_refused_whole(app: Starlette) -> None:
    answer = post(app, "/users/track", {"attributes": [{"external_id": f"u{i}"} for i in range(76)]})

    assert answer.status_code == 400
    assert answer.json() == {"message": "Too many attributes: at most 75 per request, got 76"}
    assert state_of(app).contacts == {}


def test_null_removes_an_attribute_of_a_stored_user(app: Starlette) -> None:
    post(app, "/users/track", {"attributes": [{"external_id": "u1", "first_name": "Ann", "country": "US"}]})
    post(app, "/users/track", {"attributes": [{"external_id": "u1", "country": None}]})

    assert state_of(app).contacts["u1"].attributes == {"first_name": "Ann"}
    assert state_of(app).upsert_counts["u1"] == 2


# --- rate limits --------------------------------------------------------------------------------------


def test_every_answer_carries_the_x_ratelimit_headers_with_the_reset_in_epoch_seconds() -> None:
    app = create_app(api_key=KEY, track_limit=(3, 3.0), clock=lambda: 1_000.2)

    answer = post(app, "/users/track", {"attributes": [{"external_id": "u1"}]})

    assert (answer.headers["x-ratelimit-limit"], answer.headers["x-ratelimit-remaining"],
            answer.headers["x-ratelimit-reset"]) == ("3", "2", "1004")


def test_over_the_budget_braze_answers_429_until_the_window_resets() -> None:
    now = [1_000.0]
    app = create_app(api_key=KEY, track_limit=(2, 3.0), clock=lambda: now[0])
    body = {"attributes": [{"external_id": "u1"}]}

    statuses = [post(app, "/users/track", body).status_code for _ in range(3)]
    refused = post(app, "/users/track", body)
    now[0] = 1_003.0
    after_reset = post(app, "/users/track", body)

    assert statuses == [201, 201, 429]
    assert (refused.status_code, refused.json(), refused.headers["x-ratelimit-remaining"]) == (
        429, {"message": "Too Many Requests"}, "0")
    assert (after_reset.status_code, after_reset.headers["x-ratelimit-remaining"]) == (201, "1")


# --- /subscription/status/set -----------------------------------------------------------------------


def test_unsubscribing_external_ids_keeps_the_state_per_user(app: Starlette) -> None:
    answer = post(app, "/subscription/status/set", {
        "subscription_group_id": GROUP, "subscription_state": "unsubscribed", "external_id": ["u1", "u2"]})

    assert (answer.status_code, answer.json()) == (201, {"message": "success"})
    assert state_of(app).subscription_state(GROUP, external_id="u1") == "unsubscribed"
    assert state_of(app).subscription_state(GROUP, external_id="u2") == "unsubscribed"
    assert state_of(app).subscription_state(GROUP, external_id="u3") is None


def test_more_than_50_external_ids_are_refused_whole(app: Starlette) -> None:
    answer = post(app, "/subscription/status/set", {
        "subscription_group_id": GROUP, "subscription_state": "unsubscribed",
        "external_id": [f"u{i}" for i in range(51)]})

    assert (answer.status_code, answer.json()) == (400, {"message": "'external_id' may include up to 50 values, got 51"})
    assert state_of(app).subscriptions == {}


def test_an_unknown_subscription_group_is_refused(app: Starlette) -> None:
    answer = post(app, "/subscription/status/set", {
        "subscription_group_id": "no-such-group", "subscription_state": "unsubscribed", "external_id": ["u1"]})

    assert (answer.status_code, answer.json()) == (400, {"message": "Subscription group no-such-group not found"})


def test_email_and_phone_in_one_subscription_request_are_refused(app: Starlette) -> None:
    answer = post(app, "/subscription/status/set", {
        "subscription_group_id": GROUP, "subscription_state": "unsubscribed",
        "email": ["a@example.com"], "phone": ["+14155552671"]})

    assert (answer.status_code, answer.json()) == (400, {"message": "the endpoint accepts email or phone, not both"})
