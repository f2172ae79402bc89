"""A stop request that arrives while a mirror run removes departed members ends the removals and marks the run stopped."""

from __future__ import annotations

from mirror_kit import Audience, emails, mirror_sync, people

from destkit.runtime import Outcome
from destkit.runtime.engine.state import StateStore
from destkit.runtime.engine.stopping import StopRequest


def test_a_stop_during_the_removals_sets_result_stopped_and_leaves_the_rest_for_the_next_run(
        url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url, concurrency=1)  # one 2,000-member request a round
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
