"""Meta Custom Audiences in mirror mode (issue 9's done-when): the served emulator's audience follows the input.

A first run adds an audience of 10,000; a second run, with 1,000 members gone and 500 new, sends exactly
those 1,000 rows as DELETE and those 500 as POST, and the summary accounts for every input record and removal.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from destkit.destinations.meta_custom_audiences.emulator import EmulatorState, create_app
from destkit.runtime import Outcome, Status, Sync, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.retry import RetryPolicy
from destkit.runtime.engine.state import StateStore

TOKEN = "EAAB-mirror-test-token"
AUDIENCE = "23850000000000007"


@pytest.fixture
def app() -> Starlette:
    return create_app(access_token=TOKEN, audience_ids=[AUDIENCE])


@pytest.fixture
def origin(app: Starlette) -> Iterator[str]:
    with running_server(app) as url:
        yield url


def emulator(app: Starlette) -> EmulatorState:
    found: EmulatorState = app.state.emulator
    return found


def mirror_sync(origin: str) -> Sync:
    config = {"destination": "meta_custom_audiences", "action": "add_users", "settings": {"audience_id": AUDIENCE},
              "secrets": {"access_token": TOKEN}, "mapping": {"external_id": "id", "phone": "phone"},
              "options": {"mirror": True}}
    return build_sync(config, base_url=origin, allow_http=True, retry=RetryPolicy(base=0))


def users(numbers: range) -> list[dict[str, str]]:
    return [{"id": f"u{n}", "phone": f"+4915112{n:06d}"} for n in numbers]


def ids(numbers: range) -> set[str]:
    return {f"u{n}" for n in numbers}


def rows_received(state: EmulatorState, method: str, after: int = 0) -> int:
    """The rows the emulator accepted in `method` requests, from request number `after` on."""
    return sum(r.rows or 0 for r in state.requests[after:] if r.method == method and r.status == 200)


def test_a_second_mirror_run_sends_exactly_the_1000_removals_and_500_adds(
        app: Starlette, origin: str, store: StateStore) -> None:
    sync = mirror_sync(origin)
    first = sync.run(users(range(10_000)), state=store)
    assert (first.summary.delivered, first.summary.removed) == (10_000, 0)
    assert rows_received(emulator(app), "POST") == 10_000
    before = len(emulator(app).requests)
    outcomes: list[Outcome] = []

    second = sync.run(users(range(1_000, 10_500)), state=store, on_outcome=outcomes.append)

    state = emulator(app)
    assert (rows_received(state, "POST", before), rows_received(state, "DELETE", before)) == (500, 1_000)
    assert [r.status for r in state.requests[before:]] == [200] * len(state.requests[before:])
    assert state.members(AUDIENCE, "EXTERN_ID") == ids(range(1_000, 10_500))
    s = second.summary
    assert (s.received, s.delivered, s.count(Status.SKIPPED), s.removed, s.removals_failed) == (9_500, 500, 9_000, 1_000, 0)
    assert s.reconciles()
    assert len(outcomes) == s.received + s.removed
    assert {o.key for o in outcomes if o.operation == "remove"} == ids(range(1_000))


def test_a_first_mirror_run_removes_nobody(app: Starlette, origin: str, store: StateStore) -> None:
    result = mirror_sync(origin).run(users(range(5)), state=store)
    assert rows_received(emulator(app), "DELETE") == 0
    assert (result.summary.delivered, result.summary.removed) == (5, 0)
