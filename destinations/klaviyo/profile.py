"""How generic tools (the conformance suite, `destkit test`, `destkit emulate`) drive the Klaviyo emulator.

:func:`testing_profile` is the contract function a spec's ``emulator:`` module offers (see
``destkit.runtime.spec.testing_profile``); the emulator module re-exports it.
"""

from __future__ import annotations

from typing import Any

from destkit.destinations._kit import not_a_test
from destkit.runtime.spec.testing_profile import TestingProfile

from .store import EmulatorState, ImportJob, finish_job

__all__ = ["ACTIONS", "LIST_ID", "testing_profile"]

ACTIONS = ("import_profiles_to_list", "remove_from_list")
LIST_ID = "Y6nRLr"
_API_KEY = "pk_conformance_key"


def _state(app: Any) -> EmulatorState:
    state: EmulatorState = app.state.emulator
    return state


def _imported(app: Any, delivered: list[dict[str, Any]]) -> list[str]:
    """Each delivered profile is stored, and in the list."""
    state = _state(app)
    members = state.members(LIST_ID)
    problems = []
    for record in delivered:
        profile_id = state.profile_id(record["email"])
        if profile_id is None:
            problems.append(f"{record['email']!r} was delivered but is not stored")
        elif profile_id not in members:
            problems.append(f"{record['email']!r} was delivered but is not in list {LIST_ID}")
    return problems


def _members_to_remove(app: Any, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One profile per record, in the list; the record then names it by its profile id."""
    state = _state(app)
    job = ImportJob(id="prepared", profiles=[{"attributes": {"email": f"member{i}@example.com"}}
                                             for i in range(len(records))], list_id=LIST_ID)
    finish_job(state, job)
    return [{**record, "profile_id": state.profile_id(f"member{i}@example.com")} for i, record in enumerate(records)]


def _removed(app: Any, delivered: list[dict[str, Any]]) -> list[str]:
    members = _state(app).members(LIST_ID)
    return [f"profile {r['profile_id']} was delivered but is still in the list" for r in delivered
            if r["profile_id"] in members]


@not_a_test
def testing_profile(action: str) -> TestingProfile | None:
    """How a generic tool drives this emulator for ``action`` (new objects every call).

    Jobs complete on their first poll here, so a test run waits one poll interval per job.
    Raises ``ValueError`` for an action the Klaviyo spec does not have.
    """
    # the emulator's rate limits are off here: a test paces itself faster than Klaviyo's 150/min allows
    base: TestingProfile = {"app_options": {"api_key": _API_KEY, "polls_to_complete": 1, "burst_per_second": 10_000,
                                            "steady_per_minute": 100_000},
                            "settings": {"list_id": LIST_ID}, "secrets": {"api_key": _API_KEY},
                            "options": {"requests_per_second": 200, "concurrency": 8}}
    if action == "import_profiles_to_list":
        return {**base, "verify": _imported}
    if action == "remove_from_list":
        return {**base, "prepare": _members_to_remove, "verify": _removed}
    raise ValueError(f"klaviyo has no action {action!r}; use one of: {', '.join(ACTIONS)}")
