"""The conformance suite's mirror round trip, for an action with `remove:` and an emulator.

Two runs with `options.mirror` and a temporary SQLite state store: the first adds the valid records
(and removes nobody), the second leaves some of them out and must remove exactly those, each
removal with one outcome of its own, delivered, and the counts adding up.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from destkit.runtime.engine import RunResult, Sync
from destkit.runtime.engine.state import StateStore
from destkit.runtime.outcomes import Outcome, Status
from destkit.runtime.spec.testing_profile import TestingProfile
from destkit.testing.report import ActionReport
from destkit.testing.suite import Plan, Suite, config_catalogs
from destkit.testing.suite_checks import grouped, limit_details, outcome_text, run_to_end

__all__ = ["MIRROR_CHECK", "dropped_rows", "mirror_round_trip"]

MIRROR_CHECK = "mirror: a second run removes exactly the members it left out"
_TIMEOUT_S = 120.0


@dataclass
class _Runs:
    """What the two mirror runs gave: the outcomes of each and their results."""

    first: list[Outcome] = field(default_factory=list)
    second: list[Outcome] = field(default_factory=list)
    results: list[RunResult] = field(default_factory=list)


def dropped_rows(n: int) -> list[int]:
    """The 1-based rows the second run leaves out: every third, so some stay and some go (at least one)."""
    return [row for row in range(1, n + 1) if row % 3 == 1]


def _with_mirror(profile: Mapping[str, Any]) -> TestingProfile:
    return cast(TestingProfile, {**profile, "options": {**(profile.get("options") or {}), "mirror": True}})


def _prepared(suite: Suite, plan: Plan, app: Any) -> list[dict[str, Any]]:
    """The valid records, as the profile's prepare hook rewrites them against this app."""
    valid = [dict(plan.records[row - 1]) for row in plan.valid_rows]
    prepare = plan.profile.get("prepare")
    prepared = prepare(app, [dict(r) for r in valid]) if prepare is not None else None
    return list(prepared) if prepared is not None else valid


def _run_twice(sync: Sync, records: list[dict[str, Any]], kept: list[dict[str, Any]], store: StateStore) -> _Runs:
    runs = _Runs()

    async def go(batch: list[dict[str, Any]], into: list[Outcome]) -> RunResult:
        return await asyncio.wait_for(sync.arun(batch, state=store, on_outcome=into.append), _TIMEOUT_S)

    runs.results.append(run_to_end(go(records, runs.first)))
    runs.results.append(run_to_end(go(kept, runs.second)))
    return runs


def mirror_round_trip(suite: Suite, plan: Plan, variant: Mapping[str, Any], report: ActionReport) -> None:
    """Add the valid records, then run again without every third one: exactly those are removed."""
    if suite.create_app is None or suite.emulator_problem or plan.profile.get("skip_emulator"):
        return
    if len(plan.valid_rows) < 2:
        report.add(MIRROR_CHECK, "skipped", f"{len(plan.valid_rows)} valid record(s): nothing to leave out")
        return
    profile = _with_mirror(plan.profile)
    fetch = plan.profile.get("fetch_catalogs", True)
    try:
        app = suite.create_app(**(plan.profile.get("app_options") or {}))
        records = _prepared(suite, plan, app)
        sync = suite.emulator_sync(plan.action, profile, app, variant, None if fetch else config_catalogs(plan.catalogs))
        drop = set(dropped_rows(len(records)))
        kept = [r for i, r in enumerate(records, 1) if i not in drop]
        with tempfile.TemporaryDirectory(prefix="destkit-mirror-") as folder:
            store = StateStore(Path(folder) / "state.sqlite")
            try:
                runs = _run_twice(sync, records, kept, store)
            finally:
                store.close()
    except Exception as exc:  # a crash of either run is a finding, reported like any other
        report.add(MIRROR_CHECK, False, f"raised {type(exc).__name__}: {exc}")
        return
    report.add(MIRROR_CHECK, *_judge(runs, drop, len(records), len(kept)))


def _keys_of(outcomes: list[Outcome], rows: set[int] | None = None) -> set[str]:
    return {o.key for o in outcomes if o.key and o.operation != "remove" and (rows is None or o.row in rows)}


def _judge(runs: _Runs, drop: set[int], n: int, n_kept: int) -> tuple[bool, str, list[str]]:
    """(passed, message, details): removals are the keys left out, each once and delivered; counts add up."""
    first, second = runs.results
    # a dropped record whose key a kept record shares (after normalisation) is still a member
    expected = _keys_of(runs.first, drop) - _keys_of(runs.first, set(range(1, n + 1)) - drop)
    removals = [o for o in runs.second if o.operation == "remove"]
    problems = [f"first run removed {first.summary.removed}"] if first.summary.removed else []
    problems += _first_run_problems(runs.first)
    problems += _removal_problems(removals, expected)
    s = second.summary
    if s.received != n_kept or not s.reconciles() or len(runs.second) != s.received + len(removals):
        problems.append(f"second run: received {s.received} of {n_kept}, {dict(s.counts)}, {len(removals)} removals")
    if s.removed != sum(1 for o in removals if o.status is Status.DELIVERED):
        problems.append(f"the summary counts {s.removed} removed, the outcomes {len(removals)}")
    message = f"{n} added, {len(expected)} left out and removed ({s.removed} in the summary)"
    return not problems, message if not problems else f"{len(problems)} problem(s)", limit_details(problems)


def _first_run_problems(outcomes: list[Outcome]) -> list[str]:
    refused = [o for o in outcomes if o.operation != "remove" and o.status is not Status.DELIVERED]
    return [f"first run: {len(refused)} not delivered: {grouped(refused)}"] if refused else []


def _removal_problems(removals: list[Outcome], expected: set[str]) -> list[str]:
    problems = []
    keys = [o.key or "" for o in removals]
    if sorted(set(keys)) != sorted(expected) or len(keys) != len(set(keys)):
        missing, extra = sorted(expected - set(keys)), sorted(set(keys) - expected)
        problems.append(f"removed keys differ from those left out: missing {missing[:5]}, extra {extra[:5]}, "
                        f"{len(keys)} removals for {len(expected)} keys")
    problems += [f"removal of {o.key!r}: {outcome_text(o)}" for o in removals if o.status is not Status.DELIVERED]
    return problems
