"""How generic tools (the conformance suite, ``destkit emulate``) drive the Braze emulator.

:func:`testing_profile` is the contract function a spec's ``emulator:`` module offers (see
``destkit.runtime.spec.testing_profile``); the emulator module re-exports it.
"""

from __future__ import annotations

from typing import Any, cast

from starlette.applications import Starlette

from destkit.destinations._kit import not_a_test
from destkit.runtime.spec.testing_profile import TestingProfile

from .store import EmulatorState

__all__ = ["ACTIONS", "PROFILE_API_KEY", "PROFILE_GROUP", "testing_profile"]

ACTIONS = ("track_users", "remove_from_subscription_group")
"""The actions of ``specs/braze.yaml``, each with a profile."""

PROFILE_API_KEY = "conformance-rest-api-key"
PROFILE_GROUP = "conformance-group-0001"


def _state(app: Starlette) -> EmulatorState:
    state: EmulatorState = app.state.emulator
    return state


def _users_stored(app: Starlette, delivered: list[dict[str, Any]]) -> list[str]:
    """Every delivered user is stored, with one of the emails sent for it (batches may land in any order)."""
    stored = _state(app).contacts
    emails: dict[str, set[Any]] = {}
    for record in delivered:
        emails.setdefault(record["external_id"], set()).add(record.get("email"))
    problems = []
    for external_id, sent in emails.items():
        user = stored.get(external_id)
        if user is None:
            problems.append(f"{external_id!r} was delivered but is not stored")
        elif sent != {None} and user.attributes.get("email") not in sent:
            problems.append(f"{external_id!r} was stored without any of the emails sent for it")
    return problems


def _users_unsubscribed(app: Starlette, delivered: list[dict[str, Any]]) -> list[str]:
    state = _state(app)
    return [
        f"{r['external_id']!r} was delivered but is not unsubscribed"
        for r in delivered
        if state.subscription_state(PROFILE_GROUP, external_id=r["external_id"]) != "unsubscribed"
    ]


def _stricter_email(record: dict[str, Any]) -> bool:
    """emails with a dotted domain: the spec checks emails leniently, Braze (and its emulator) strictly"""
    email = record.get("email")
    return email is None or ("." in str(email).rpartition("@")[2] and " " not in str(email))


@not_a_test
def testing_profile(action: str) -> TestingProfile | None:
    """How a generic tool (e.g. a conformance suite) drives this emulator for ``action``.

    ``app_options`` are keyword arguments for ``create_app``; ``settings`` and ``secrets`` (literal
    values the app accepts) go into the sync config. Every call returns new objects.

    Raises ``ValueError`` for an action the Braze spec does not have.
    """
    common: dict[str, Any] = {
        "app_options": {"api_key": PROFILE_API_KEY, "subscription_groups": [PROFILE_GROUP]},
        "settings": {"instance": "US-03", "subscription_group_id": PROFILE_GROUP},
        "secrets": {"api_key": PROFILE_API_KEY},
    }
    if action == "track_users":
        # `assume` is read by the conformance suite only (its SuiteProfile): narrow its drawn emails
        return cast(TestingProfile, {**common, "verify": _users_stored, "assume": _stricter_email})
    if action == "remove_from_subscription_group":
        return cast(TestingProfile, {**common, "verify": _users_unsubscribed})
    raise ValueError(f"braze has no action {action!r}; use one of: {', '.join(ACTIONS)}")
