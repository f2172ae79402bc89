"""Mirror mode: the destination's audience follows the input, against a real membership emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mirror_kit import TOKEN, Audience, emails, mirror_sync, people

from destkit.runtime import Outcome, Reason, Status
from destkit.runtime.engine.state import StateStore


def removals(outcomes: list[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.operation == "remove"]


def test_a_first_run_adds_everyone_and_removes_nobody(url: str, audience: Audience, store: StateStore) -> None:
    result = mirror_sync(url).run(people(range(50)), state=store)

    assert audience.removed == []
    assert audience.members == emails(range(50))
    assert (result.summary.delivered, result.summary.removed, result.summary.removals_failed) == (50, 0, 0)


def test_ten_thousand_members_then_1000_leave_and_500_join(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(10_000)), state=store)
    audience.added.clear()
    outcomes: list[Outcome] = []

    second = sync.run(people(range(1_000, 10_500)), state=store, on_outcome=outcomes.append)

    assert sorted(audience.removed) == sorted(emails(range(1_000)))
    assert sorted(audience.added) == sorted(emails(range(10_000, 10_500)))
    assert audience.members == emails(range(1_000, 10_500))
    s = second.summary
    assert (s.received, s.delivered, s.count(Status.SKIPPED), s.removed, s.removals_failed) == (9_500, 500, 9_000, 1_000, 0)
    assert s.reconciles()
    assert len(outcomes) == s.received + s.removed  # one outcome per input record, one per removal
    assert {o.key for o in removals(outcomes)} == emails(range(1_000))


def test_a_removal_has_its_own_outcome_marked_remove(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(3)), state=store)
    outcomes: list[Outcome] = []

    sync.run(people([0, 1]), state=store, on_outcome=outcomes.append)

    assert [o.to_dict() for o in removals(outcomes)] == [
        {"row": 0, "key": "user2@example.com", "outcome": "delivered", "operation": "remove", "attempts": 1}]


def test_the_summary_counts_removals_apart_from_the_received_records(url: str, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(4)), state=store)

    summary = sync.run(people([0]), state=store).summary.to_dict()

    assert (summary["received"], summary["skipped"], summary["removed"], summary["removals_failed"]) == (1, 1, 3, 0)


def test_refused_removals_are_reported_with_their_reason_and_retried_by_the_next_run(
        url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(10)), state=store)
    audience.refuse_removal = emails([7, 8])
    outcomes: list[Outcome] = []

    refused = sync.run(people(range(5)), state=store, on_outcome=outcomes.append)

    failed = sorted((o.key, o.status, o.reason, o.destination_code) for o in removals(outcomes) if o.status is not Status.DELIVERED)
    assert failed == [("user7@example.com", Status.REJECTED, Reason.DESTINATION_REJECTED, "LOCKED"),
                      ("user8@example.com", Status.REJECTED, Reason.DESTINATION_REJECTED, "LOCKED")]
    assert (refused.summary.removed, refused.summary.removals_failed) == (3, 2)
    assert refused.summary.removal_reasons == {"destination_rejected": 2}
    assert not refused.ok

    audience.refuse_removal = set()
    audience.removed.clear()
    retried = sync.run(people(range(5)), state=store)

    assert sorted(audience.removed) == sorted(emails([7, 8]))
    assert audience.members == emails(range(5))
    assert (retried.summary.removed, retried.summary.removals_failed) == (2, 0)


def test_a_member_who_comes_back_before_a_failed_removal_is_retried_stays(
        url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(3)), state=store)
    audience.refuse_removal = emails([2])
    sync.run(people(range(2)), state=store)
    audience.removed.clear()

    sync.run(people(range(3)), state=store)

    assert audience.removed == []
    assert audience.members == emails(range(3))


def test_an_aborted_run_removes_nobody(url: str, audience: Audience, store: StateStore) -> None:
    mirror_sync(url).run(people(range(10)), state=store)

    aborted = mirror_sync(url, token="revoked").run(people([*range(5), 99]), state=store)

    assert aborted.summary.aborted is not None
    assert audience.removed == []
    assert aborted.summary.removed == 0
    assert aborted.summary.removals_skipped == "the run was aborted before the end of its input: no member was removed"


def test_a_run_whose_input_fails_midway_removes_nobody(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(10)), state=store)

    def cut_short() -> Iterator[dict[str, str]]:
        yield from people(range(3))
        raise OSError("the input went away")

    with pytest.raises(OSError, match="the input went away"):
        sync.run(cut_short(), state=store)

    assert audience.removed == []
    assert audience.members == emails(range(10))


def test_a_record_that_is_invalid_this_run_is_not_removed(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(3)), state=store)

    result = sync.run([*people(range(2)), {"email": "user2@example.com", "name": "x" * 21}], state=store)

    assert result.summary.count(Status.INVALID) == 1
    assert audience.removed == []


def test_a_record_invalid_this_run_whose_key_is_normalised_is_not_removed(url: str, audience: Audience,
                                                                           store: StateStore) -> None:
    # the member is keyed by the normalised email (trim, lower); the invalid record carries it as the source had it
    sync = mirror_sync(url)
    sync.run(people(range(3)), state=store)

    result = sync.run([*people(range(2)), {"email": "  USER2@Example.com ", "name": "x" * 21}], state=store)

    assert result.summary.count(Status.INVALID) == 1
    assert audience.removed == []
    assert audience.members == emails(range(3))


def test_a_dry_run_removes_nobody_and_needs_no_state_store(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(3)), state=store)

    result = sync.dry_run(people(range(1)))

    assert audience.removed == []
    assert result.summary.removed == 0


def test_one_request_with_a_per_record_operation_adds_and_removes(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url, action="sync_changes")
    sync.run(people(range(3)), state=store)
    audience.requests.clear()

    result = sync.run(people([0, 1, 3]), state=store)

    assert [r["body"] for r in audience.requests] == [
        {"changes": [{"op": "add", "email": "user3@example.com"}]},
        {"changes": [{"op": "remove", "email": "user2@example.com"}]},
    ]
    assert audience.members == emails([0, 1, 3])
    assert (result.summary.delivered, result.summary.removed) == (1, 1)


def test_the_removal_request_sends_only_what_its_record_names(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url, allow_empty_mirror=True)  # the empty second input removes the one member
    sync.run([{"email": " User0@Example.com ", "name": "Ada"}], state=store)
    audience.requests.clear()

    sync.run([], state=store)

    assert audience.requests == [{"method": "DELETE", "path": "/audiences/aud_1/members",
                                  "body": {"members": [{"email": "user0@example.com"}]}}]


def test_the_state_store_keeps_no_secret_and_no_field_the_removal_does_not_send(url: str, store: StateStore) -> None:
    mirror_sync(url).run([{"email": "user0@example.com", "name": "Ada Lovelace"}], state=store)

    stored = store.all_text()

    assert "user0@example.com" in stored
    assert "Ada Lovelace" not in stored
    assert TOKEN not in stored


def test_a_resumed_run_removes_exactly_the_members_its_whole_input_left_out(
        url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(3_000)), state=store, input_ref="v1")
    second = people([*range(2_000), 3_000])

    def crashing() -> Iterator[dict[str, str]]:
        yield from second[:1_500]
        raise OSError("the input went away")

    with pytest.raises(OSError):
        sync.run(crashing(), state=store, input_ref="v2")
    assert audience.removed == []

    resumed = sync.run(second, state=store, input_ref="v2", mode="resume")

    assert resumed.plan is not None and resumed.plan.resume is not None
    assert sorted(audience.removed) == sorted(emails(range(2_000, 3_000)))
    assert audience.members == emails([*range(2_000), 3_000])


def test_a_retry_run_removes_nobody(url: str, audience: Audience, store: StateStore) -> None:
    sync = mirror_sync(url)
    sync.run(people(range(3)), state=store)

    retry = sync.run(people(range(1)), state=store, only_keys=["user0@example.com"])

    assert audience.removed == []
    assert retry.summary.removals_skipped == "a retry reads only the records that failed: no member was removed"
