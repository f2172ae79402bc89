"""Braze custom attributes: a mapped `custom_attributes` object is merged ($merge) into each user's attributes
object, the named fields winning a key both have, and the served emulator stores them on the user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette

from destkit.destinations.braze.emulator import DEFAULT_GROUPS, create_app
from destkit.destinations.braze.store import EmulatorState
from destkit.runtime import Outcome, Reason, Status, Sync, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.retry import RetryPolicy

KEY = "rest-key-custom"


@pytest.fixture
def app() -> Starlette:
    return create_app(api_key=KEY)


@pytest.fixture
def origin(app: Starlette) -> Iterator[str]:
    with running_server(app) as url:
        yield url


def state_of(app: Starlette) -> EmulatorState:
    state: EmulatorState = app.state.emulator
    return state


def track(origin: str) -> Sync:
    config = {"destination": "braze", "action": "track_users",
              "settings": {"instance": "US-03", "subscription_group_id": DEFAULT_GROUPS[0]}, "secrets": {"api_key": KEY},
              "mapping": {"external_id": "id", "first_name": "first_name", "custom_attributes": "traits"}}
    return build_sync(config, base_url=origin, allow_http=True, retry=RetryPolicy(base=0))


def test_custom_attributes_are_stored_beside_the_named_ones_and_a_named_field_wins(app: Starlette, origin: str) -> None:
    ann = {"id": "u1", "first_name": "Ann", "traits": {"plan": "pro", "seats": 12, "vip": True,
                                                        "tags": ["a", "b"], "first_name": "Annie"}}
    result = track(origin).run([ann])

    assert result.summary.count(Status.DELIVERED) == 1
    assert state_of(app).contacts["u1"].attributes == {"first_name": "Ann", "plan": "pro", "seats": 12, "vip": True,
                                                        "tags": ["a", "b"]}


def test_a_user_without_custom_attributes_sends_only_the_named_fields(app: Starlette, origin: str) -> None:
    track(origin).run([{"id": "u2", "first_name": "Bo"}])
    assert state_of(app).contacts["u2"].attributes == {"first_name": "Bo"}


def test_a_custom_attribute_braze_refuses_rejects_only_that_user_with_braze_s_error(app: Starlette, origin: str) -> None:
    outcomes: list[Outcome] = []
    users: list[dict[str, Any]] = [{"id": "u3", "traits": {"$plan": "pro"}}, {"id": "u4", "traits": {"plan": "free"}}]
    track(origin).run(users, on_outcome=outcomes.append)

    assert [(o.key, o.status, o.destination_code) for o in outcomes] == [
        ("u3", Status.REJECTED, "'$plan' is not valid"), ("u4", Status.DELIVERED, None)]
    assert set(state_of(app).contacts) == {"u4"}


def test_a_custom_attribute_value_of_a_type_braze_does_not_take_is_invalid_and_never_sent(
        app: Starlette, origin: str) -> None:
    outcomes: list[Outcome] = []
    users: list[dict[str, Any]] = [{"id": "u3", "traits": {"scores": [1, 2]}}, {"id": "u4", "traits": {"plan": "free"}}]
    track(origin).run(users, on_outcome=outcomes.append)

    assert [(o.key, o.status, o.reason, o.field) for o in sorted(outcomes, key=lambda o: o.row)] == [
        ("u3", Status.INVALID, Reason.TYPE_MISMATCH, "custom_attributes.scores"), ("u4", Status.DELIVERED, None, None)]
    assert set(state_of(app).contacts) == {"u4"}
