"""The conformance suite: does a spec, the runtime and the destination's emulator agree?

For every action of a spec, `run_conformance` draws valid records and records broken in exactly
one way (`destkit.testing.strategies`, reproducible by `seed`), maps them by field name and checks:

dry run (no network)
    one outcome per record and the counts add up; every valid record is accepted; every broken
    record is invalid with its expected reason code and field; every request is within the
    action's `max_records` and `max_bytes`; broken records add nothing to any request body (the
    requests are byte-identical to those of the valid records alone)
emulator (in process, through httpx.ASGITransport)
    the sync config is accepted; catalogs read from the emulator hold the profile's; one outcome
    per record and the counts add up; every valid record is delivered (those that are not are
    named, with what the emulator answered); broken records are kept back; the profile's
    `verify` hook, if any, finds the emulator holding what was delivered
the constructs an action uses
    positional records (`$columns`): every row of every request has one value per column (dry run);
    a failures-only answer (`response.only: failures`): answered in process with every other record
    listed as failed, each listed failure rejects exactly one record and the rest are delivered;
    an answer that is a job (`response.job`): every job ends and each of its records has exactly one
    outcome (emulator); `remove:` (mirror mode): two runs with a temporary SQLite state store, the
    second leaving every third record out, remove exactly those, each once, delivered (emulator)

How each action is tested comes from the emulator module's `testing_profile(action)` (see
`destkit.testing.emulators`). Fields looked up from destination state (`resolve:
destination_id`) are mapped explicitly from the generated data like every other field; the
emulator phase then needs the profile's `prepare` hook to create that state, and without it a
not-delivered record of such an action is reported as skipped, not failed.

    report = run_conformance("hello_charles", examples=50, seed=0)
    print(report)            # or: report.ok, report.failures()

The pieces: `suite` (set-up and the per-action plan), `suite_dry` and `suite_emulator` (the two
phases), `suite_shapes`, `suite_failures` and `suite_mirror` (the construct checks), `report` (the
report), `drawing` (records drawn outside a test runner).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from destkit.runtime.errors import SpecError
from destkit.runtime.spec.models import DestinationSpec
from destkit.testing.report import ActionReport, Check, ConformanceReport
from destkit.testing.strategies import resolve_spec
from destkit.testing.suite import Suite
from destkit.testing.suite_dry import dry_run
from destkit.testing.suite_emulator import emulator_phase
from destkit.testing.suite_failures import failures_only_check
from destkit.testing.suite_mirror import mirror_round_trip

__all__ = ["ActionReport", "Check", "ConformanceReport", "main", "run_conformance"]


def _action_reports(suite: Suite, action: str) -> list[ActionReport]:
    """One report per settings variant of the action (one, when its set-up fails or it is skipped)."""
    first = ActionReport(action)
    plan = suite.plan(action, first)
    if plan is None:
        return [first]
    if plan.profile.get("skip"):
        first.skipped = str(plan.profile["skip"])
        return [first]
    if not suite.draw(plan, first):
        return [first]
    variants: list[dict[str, Any]] = [{}, *(dict(v) for v in plan.profile.get("variants") or [])]
    reports = []
    for i, variant in enumerate(variants):
        report = first if i == 0 else ActionReport(action, variant, notes=list(first.notes[:1]))
        report.variant = variant
        dry_run(suite, plan, variant, report)
        if suite.spec.actions[action].response.only == "failures":
            failures_only_check(suite, plan, variant, report)
        emulator_phase(suite, plan, variant, report)
        if suite.spec.actions[action].remove is not None:
            mirror_round_trip(suite, plan, variant, report)
        reports.append(report)
    return reports


def run_conformance(
    spec: str | Path | DestinationSpec,
    *,
    examples: int = 50,
    seed: int = 0,
    actions: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
) -> ConformanceReport:
    """Run the conformance suite over every action of `spec` (or those named in `actions`).

    `exclude` leaves breakages out, named by kind (`pattern_trailing_newline`), by label
    (`wrong_type(tags)`) or either prefixed with the action (`send_contacts:wrong_type(tags)`).
    """
    destination = spec.id if isinstance(spec, DestinationSpec) else str(spec)
    try:
        loaded = resolve_spec(spec)
    except SpecError as exc:
        report = ConformanceReport(destination, destination, examples, seed)
        report.problems.append(f"the spec does not load: {exc}")
        return report
    report = ConformanceReport(loaded.id, loaded.name, examples, seed)
    suite = Suite(loaded, destination, examples, seed, exclude)
    for action in actions or list(loaded.actions):
        if action not in loaded.actions:
            report.problems.append(f"'{action}' is not an action of {loaded.name}")
            continue
        report.actions += _action_reports(suite, action)
    return report


def main(spec: str, *, examples: int = 50, seed: int = 0) -> int:
    """Print the conformance report of `spec`; 0 when every check passed, else 1."""
    report = run_conformance(spec, examples=examples, seed=seed)
    print(report)
    return 0 if report.ok else 1


if __name__ == "__main__":  # python -m destkit.testing.conformance SPEC [EXAMPLES [SEED]]
    args = sys.argv[1:]
    if not args:
        print("usage: python -m destkit.testing.conformance SPEC [EXAMPLES [SEED]]", file=sys.stderr)
        sys.exit(2)
    sys.exit(
        main(
            args[0], examples=int(args[1]) if len(args) > 1 else 50, seed=int(args[2]) if len(args) > 2 else 0
        )
    )
