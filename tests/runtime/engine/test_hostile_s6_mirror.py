"""Mirror mode with unreadable rows: no member is removed when a row of the input could not be read.

An unreadable row (a line that is not UTF-8, a row group cut short) has no key, so any member may be that
row. Before, a run over a file in the wrong encoding, every line `malformed_input`, removed the whole
audience; now its removals are skipped, and the summary says why.
"""

from __future__ import annotations

from typing import Any

from mirror_kit import Audience, emails, mirror_sync, people

from destkit.runtime import Status
from destkit.runtime.engine.sources import Malformed
from destkit.runtime.engine.state import StateStore


def test_a_run_whose_every_row_is_unreadable_removes_nobody(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(10)), state=store)

    unreadable = [Malformed(row, f"line {row} is not valid UTF-8; re-export the file as UTF-8.") for row in range(1, 11)]
    summary = sync.run(unreadable, state=store).summary

    assert (audience.removed, audience.members) == ([], emails(range(10)))
    assert (summary.count(Status.INVALID), summary.removed) == (10, 0)
    assert summary.removals_skipped == ("10 rows of the input could not be read (malformed_input): no member was "
                                        "removed; fix the input and run again")


def test_one_unreadable_row_among_readable_ones_removes_nobody(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(10)), state=store)

    records: list[Any] = [*people(range(5)), Malformed(6, "line 6 is not valid JSON; fix or remove the line.")]
    summary = sync.run(records, state=store).summary

    assert audience.removed == []
    assert summary.removals_skipped == ("1 row of the input could not be read (malformed_input): no member was "
                                        "removed; fix the input and run again")


def test_a_readable_input_still_removes_the_members_it_left_out(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(10)), state=store)

    summary = sync.run(people(range(7)), state=store).summary

    assert sorted(audience.removed) == sorted(emails(range(7, 10)))
    assert (summary.removed, summary.removals_skipped) == (3, None)
