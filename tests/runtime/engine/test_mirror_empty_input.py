"""Mirror mode over an input that holds no record: nobody is removed unless `options.allow_empty_mirror` says so.

An export that came out empty (a failed query, a file cut to its header) would otherwise read as "every member
left the audience" and empty it. Hightouch and Census guard the same way against zero-row syncs.
"""

from __future__ import annotations

from mirror_kit import Audience, emails, mirror_sync, people

from destkit.runtime.engine.state import StateStore


def test_an_empty_input_removes_nobody_and_says_how_to_allow_it(url: str, audience: Audience, store: StateStore) -> None:
    mirror_sync(url).run(people(range(10)), state=store)

    summary = mirror_sync(url).run([], state=store).summary

    assert (audience.removed, audience.members, summary.removed) == ([], emails(range(10)), 0)
    assert summary.removals_skipped == ("the input held no records: no member was removed (it would have removed "
                                        "them all); set options.allow_empty_mirror: true to empty the audience")


def test_with_allow_empty_mirror_an_empty_input_removes_every_member(url: str, audience: Audience,
                                                                    store: StateStore) -> None:
    mirror_sync(url, allow_empty_mirror=True).run(people(range(10)), state=store)

    summary = mirror_sync(url, allow_empty_mirror=True).run([], state=store).summary

    assert (sorted(audience.removed), audience.members, summary.removed) == (sorted(emails(range(10))), set(), 10)
    assert summary.removals_skipped is None


def test_one_record_is_enough_for_the_others_to_be_removed(url: str, audience: Audience, store: StateStore) -> None:
    mirror_sync(url).run(people(range(10)), state=store)

    summary = mirror_sync(url).run(people(range(1)), state=store).summary

    assert (sorted(audience.removed), summary.removals_skipped) == (sorted(emails(range(1, 10))), None)
