"""How generic tools (the conformance suite, ``destkit emulate``) drive the Hello Charles emulator.

:func:`testing_profile` is the contract function a spec's ``emulator:`` module offers (see
``destkit.runtime.spec.testing_profile``); the emulator module re-exports it.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from destkit.destinations._kit import not_a_test
from destkit.runtime.spec.testing_profile import TestingProfile

from .store import EmulatorState, upsert_contact

__all__ = ["ACTIONS", "testing_profile"]

ACTIONS = ("send_contacts", "delete_contacts", "trigger_flow")
"""The actions of ``specs/hello_charles.yaml``, each with a profile."""

_API_KEY = "conformance-api-key"
_JWT_SECRET = "conformance-jwt-secret"
_SETTINGS: dict[str, Any] = {"subdomain": "conformance"}


def _state(app: Starlette) -> EmulatorState:
    state: EmulatorState = app.state.emulator
    return state


def _create_people(app: Starlette, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One stored contact per record, whose person id the record then deletes."""
    state = _state(app)
    out = []
    for i, record in enumerate(records):
        contact, _ = upsert_contact(state, {"external_reference_id": f"prepared-{i}", "source_type": "zeotap"})
        out.append({**record, "person_id": contact.id})
    return out


def _create_event_contacts(app: Starlette, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flow events may name a contact by external reference id alone: it must exist first."""
    state = _state(app)
    for record in records:
        ext = record.get("external_reference_id")
        if isinstance(ext, str) and ext.strip():
            upsert_contact(state, {"external_reference_id": ext, "source_type": "zeotap"})
    return records


def _contacts_stored(app: Starlette, delivered: list[dict[str, Any]]) -> list[str]:
    stored = _state(app).contacts
    problems = []
    for record in delivered:
        contact = stored.get(record["external_reference_id"])
        if contact is None:
            problems.append(f"{record['external_reference_id']!r} was delivered but is not stored")
        elif not set(record.get("tags") or []) <= set(contact.tags):
            problems.append(f"{record['external_reference_id']!r} lacks tags {record.get('tags')}")
    return problems


def _people_deleted(app: Starlette, delivered: list[dict[str, Any]]) -> list[str]:
    deleted = set(_state(app).deleted)
    return [f"person {r['person_id']} was delivered but not deleted" for r in delivered if r["person_id"] not in deleted]


@not_a_test
def testing_profile(action: str) -> TestingProfile | None:
    """How a generic tool (e.g. a conformance suite) drives this emulator for ``action``.

    ``app_options`` are keyword arguments for ``create_app``; ``settings`` and ``secrets``
    (literal values matching ``app_options``) go into the sync config; a ``catalogs`` key would
    hold the config's ``catalogs:`` values, and is left out here so the sync reads the tags and
    custom properties from the emulator, as it does in production. Every call returns new
    objects, so a caller may mutate what it gets.

    Raises ``ValueError`` for an action the Hello Charles spec does not have.
    """
    if action == "send_contacts":
        return {
            "app_options": {"api_key": _API_KEY},
            "settings": dict(_SETTINGS),
            "secrets": {"api_key": _API_KEY},
            "variants": [{"batch_api": False}],  # the single-contact endpoint too
            "verify": _contacts_stored,
        }
    if action == "delete_contacts":
        return {
            "app_options": {"api_key": _API_KEY},
            "settings": dict(_SETTINGS),
            "secrets": {"api_key": _API_KEY},
            "prepare": _create_people,
            "verify": _people_deleted,
        }
    if action == "trigger_flow":
        return {
            "app_options": {"jwt_secret": _JWT_SECRET},
            "settings": {**_SETTINGS, "event_source": "conformance"},
            "secrets": {"jwt_secret": _JWT_SECRET},
            "prepare": _create_event_contacts,
        }
    raise ValueError(f"hello_charles has no action {action!r}; use one of: {', '.join(ACTIONS)}")
