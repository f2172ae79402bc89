"""A run whose refused records nobody but the summary sees (no state store, no outcome callback) only
counts them: its summary is the one a run with a callback gets, reason for reason."""

from __future__ import annotations

from typing import Any

from destkit.runtime import Outcome
from destkit.runtime.outcomes import RunSummary
from tests.runtime.record.test_batch_loop import make_sync


def contact(i: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"c{i}", "name": f"Name{i}", "segments": ["vip"], "props": {"plan": "pro"}, **fields}


AUDIENCE: list[Any] = [
    contact(1), contact(2, id=""), contact(3, segments=["nope"]), contact(4, props={"Plan": "pro"}),
    contact(5, props={"score": float("nan")}), ["not", "a", "record"], contact(7, name="x" * 300), contact(8),
]


def counted(summary: RunSummary) -> tuple[dict[str, int], dict[str, int], int]:
    return dict(summary.counts), dict(summary.reasons), summary.received


def test_an_unwatched_dry_run_counts_each_refusal_by_its_reason() -> None:
    summary = make_sync().dry_run(AUDIENCE, keep_requests=False).summary
    assert summary.count("invalid") == 6
    assert dict(summary.reasons) == {"missing_required": 1, "unknown_tag": 1, "unknown_custom_property": 1,
                                     "type_mismatch": 1, "malformed_input": 1, "too_long": 1}
    assert (summary.delivered, summary.received) == (2, 8)


def test_an_unwatched_dry_run_has_the_summary_of_a_watched_one() -> None:
    seen: list[Outcome] = []
    watched = make_sync().dry_run(AUDIENCE, keep_requests=False, on_outcome=seen.append).summary
    unwatched = make_sync().dry_run(AUDIENCE, keep_requests=False).summary
    assert counted(unwatched) == counted(watched)
    assert len(seen) == 8
