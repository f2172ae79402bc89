"""A callback marked `skipping_delivered` (a report of problems) is not handed plainly delivered
records: the run counts them instead of building an outcome for each, and every other outcome still
reaches it."""

from __future__ import annotations

from typing import Any

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Outcome
from destkit.runtime.outcomes import Status, skipping_delivered, watches_delivered
from tests.conftest import API_KEY, PROPERTIES, TAGS, in_process_sync


def audience() -> list[dict[str, Any]]:
    good = [{"user_id": f"u{i}", "email": f"u{i}@example.com", "segments": ["vip"]} for i in range(40)]
    return [*good, {"user_id": "", "email": "nobody@example.com"}, {"user_id": "u99", "segments": ["no_such_tag"]}]


def sync_of() -> Any:
    return in_process_sync(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES))


def test_a_plain_callback_watches_delivered_records_and_a_marked_one_does_not() -> None:
    def plain(outcome: Outcome) -> None:
        return None

    assert watches_delivered(plain)
    assert not watches_delivered(skipping_delivered(lambda outcome: None))


def test_a_dry_run_whose_only_callback_skips_delivered_hands_it_only_the_invalid_records() -> None:
    seen: list[Outcome] = []
    result = sync_of().dry_run(audience(), keep_requests=False, on_outcome=skipping_delivered(seen.append))
    assert sorted((o.row, o.status.value, o.reason) for o in seen) == [
        (41, "invalid", "missing_required"), (42, "invalid", "unknown_tag")]
    assert result.summary.delivered == 40
    assert result.summary.reconciles()


def test_a_sent_run_whose_only_callback_skips_delivered_counts_the_same_as_a_watched_run() -> None:
    skipped: list[Outcome] = []
    watched: list[Outcome] = []
    lean = sync_of().run(audience(), on_outcome=skipping_delivered(skipped.append))
    full = sync_of().run(audience(), on_outcome=watched.append)
    assert (lean.summary.counts, lean.summary.received) == (full.summary.counts, full.summary.received)
    assert [o for o in skipped if o.status is Status.DELIVERED] == []
    assert sorted(o.row for o in skipped) == sorted(o.row for o in watched if o.status is not Status.DELIVERED)


def test_a_marked_callback_beside_a_plain_one_still_sees_every_outcome_the_plain_one_needs() -> None:
    plain: list[Outcome] = []
    sync_of().dry_run(audience(), keep_requests=False, on_outcome=[skipping_delivered(lambda o: None), plain.append])
    assert sum(o.status is Status.DELIVERED for o in plain) == 40
