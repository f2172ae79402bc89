"""A stop request that arrives while a mirror run removes departed members ends the removals and marks the run stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mirror_kit import Audience, config, create_app, emails, people, spec

from destkit.runtime import Outcome, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine.state import StateStore
from destkit.runtime.engine.stopping import StopRequest


@pytest.fixture
def audience() -> Audience:
    return Audience()


@pytest.fixture
def url(audience: Audience) -> Iterator[str]:
    with running_server(create_app(audience)) as base_url:
        yield base_url


def test_a_stop_during_the_removals_sets_result_stopped_and_leaves_the_rest_for_the_next_run(
        url: str, audience: Audience, store: StateStore) -> None:
    sync = build_sync(config(concurrency=1), spec=spec(), base_url=url, allow_http=True)  # one 2,000-member request a round
    sync.run(people(range(6_000)), state=store)
    stop = StopRequest()

    def stop_at_the_first_removal(outcome: Outcome) -> None:
        if outcome.operation == "remove":
            stop.request("SIGTERM")

    stopped = sync.run(people(range(5_000, 6_000)), state=store, stop=stop, on_outcome=stop_at_the_first_removal)

    assert stopped.stopped == "SIGTERM"
    assert (len(audience.removed), stopped.summary.removed) == (2_000, 2_000)  # the round in flight, then no more
    finished = sync.run(people(range(5_000, 6_000)), state=store)
    assert finished.stopped is None
    assert (len(audience.removed), finished.summary.removed) == (5_000, 3_000)
    assert audience.members == emails(range(5_000, 6_000))
