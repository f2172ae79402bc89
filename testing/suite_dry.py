"""The conformance suite's dry-run phase (no network): the drawn records through `Sync.dry_run`,
once with the broken records and once without, and one check per invariant.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from destkit.runtime.engine import RunResult, Sync, build_sync
from destkit.runtime.errors import ConfigError
from destkit.runtime.outcomes import Outcome, Status
from destkit.runtime.spec.models import BatchSpec
from destkit.testing.report import ActionReport
from destkit.testing.suite import Plan, Suite, config_catalogs
from destkit.testing.suite_checks import check_outcomes, clip, limit_details, outcome_text
from destkit.testing.suite_shapes import check_positional_rows

__all__ = ["dry_run"]


@dataclass
class _DryRuns:
    """The two dry runs of one pass: with the broken records among the valid ones, and without."""

    mixed: RunResult
    clean: RunResult
    outcomes: list[Outcome] = field(default_factory=list)  # the mixed run's


def dry_run(suite: Suite, plan: Plan, variant: Mapping[str, Any], report: ActionReport) -> None:
    """Check the action's dry run: outcomes, valid records accepted, broken ones refused as
    expected, requests within the batch limits and untouched by the broken records."""
    sync = _build(suite, plan, variant, report)
    if sync is None:
        return
    runs = _run_both(sync, plan, report)
    if runs is None:
        return
    by_row = check_outcomes("dry run", runs.mixed, runs.outcomes, len(plan.records), report, dry=True)
    _check_valid_accepted(plan, by_row, report)
    _check_broken_refused(plan, by_row, report)
    _check_limits(sync.action.batch, runs.mixed, report)
    _check_broken_add_nothing(runs, report)
    check_positional_rows(sync.action, runs.mixed, report)


def _build(suite: Suite, plan: Plan, variant: Mapping[str, Any], report: ActionReport) -> Sync | None:
    config = suite.config(plan.action, plan.profile, variant, config_catalogs(plan.catalogs))
    try:
        return build_sync(config, spec=suite.spec, allow_http=suite.spec.user_url)
    except ConfigError as exc:
        report.add(
            "dry run: sync config accepted",
            False,
            "the testing profile does not make a valid sync config",
            str(exc).splitlines(),
        )
        return None


def _run_both(sync: Sync, plan: Plan, report: ActionReport) -> _DryRuns | None:
    outcomes: list[Outcome] = []
    valid_only = [r for r, e in zip(plan.records, plan.expect, strict=True) if e is None]
    try:
        mixed = sync.dry_run(plan.records, keep_requests=True, offline=True, on_outcome=outcomes.append)
        clean = sync.dry_run(valid_only, keep_requests=True, offline=True)
    except Exception as exc:
        report.add(
            "dry run",
            False,
            f"the dry run raised {type(exc).__name__}: {exc}",
            traceback.format_exc().splitlines()[-6:],
        )
        return None
    return _DryRuns(mixed, clean, outcomes)


def _check_valid_accepted(plan: Plan, by_row: dict[int, Outcome], report: ActionReport) -> None:
    refused = [
        (row, by_row.get(row))
        for row in plan.valid_rows
        if row not in by_row or by_row[row].status is not Status.DELIVERED
    ]
    details = []
    for row, o in refused:
        record = plan.records[row - 1]
        value = f" (value {clip(record.get(o.field))})" if o is not None and o.field in record else ""
        details.append(f"row {row}: " + (outcome_text(o) if o else "no outcome") + value)
    report.add(
        "dry run: every valid record is accepted",
        not refused,
        f"{len(refused)} of {len(plan.valid_rows)} valid records refused"
        if refused
        else f"{len(plan.valid_rows)} valid records",
        limit_details(details),
    )


def _check_broken_refused(plan: Plan, by_row: dict[int, Outcome], report: ActionReport) -> None:
    wrong: dict[str, list[str]] = {}  # by breakage label: the rows not reported as expected
    for row, b, rec in plan.broken_rows:
        o = by_row.get(row)
        if o is not None and o.status is Status.INVALID and o.reason == rec.reason and o.field == rec.field:
            continue
        got = outcome_text(o) if o is not None else "no outcome"
        wrong.setdefault(b.label, []).append(
            f"row {row} {b.label}: expected invalid {rec.reason} on {rec.field}, got {got}; value {clip(rec.record.get(rec.field, '(absent)'))}"
        )
    n = len(plan.broken_rows)
    message = (
        (
            f"{sum(map(len, wrong.values()))} of {n} broken records not reported as expected, "
            f"in {len(wrong)} breakage(s): {', '.join(wrong)}"
        )
        if wrong
        else f"{n} broken records"
    )
    report.add(
        "dry run: every broken record is invalid with its expected reason and field",
        not wrong,
        message,
        limit_details([lines[0] for lines in wrong.values()]),
    )


def _check_limits(limits: BatchSpec, mixed: RunResult, report: ActionReport) -> None:
    over = [
        f"request {i}: {r.records} records, {len(r.body)} bytes"
        for i, r in enumerate(mixed.requests, 1)
        if r.records > limits.max_records or len(r.body) > limits.max_bytes or r.records < 1
    ]
    in_requests = sum(r.records for r in mixed.requests)
    if in_requests != mixed.summary.delivered:
        over.append(f"the requests hold {in_requests} records but {mixed.summary.delivered} were accepted")
    report.add(
        f"dry run: requests within max_records {limits.max_records} and max_bytes {limits.max_bytes}",
        not over,
        f"{len(mixed.requests)} requests" if not over else f"{len(over)} problem(s)",
        limit_details(over),
    )


def _requests_shape(result: RunResult) -> list[tuple[str, str, bytes, int]]:
    return [(r.method, r.url, r.body, r.records) for r in result.requests]


def _first_difference(
    with_broken: list[tuple[str, str, bytes, int]], without: list[tuple[str, str, bytes, int]]
) -> list[str]:
    for i, (x, y) in enumerate(zip(with_broken, without, strict=False), 1):
        if x != y:
            return [f"request {i}: {x[3]} records / {len(x[2])} bytes with them, {y[3]} / {len(y[2])} without"]
    return []


def _check_broken_add_nothing(runs: _DryRuns, report: ActionReport) -> None:
    """The requests are byte-identical with and without the broken records in the input."""
    with_broken, without = _requests_shape(runs.mixed), _requests_shape(runs.clean)
    if with_broken == without:
        message = f"{len(runs.mixed.requests)} requests, byte-identical with and without the broken records"
        report.add("dry run: broken records add nothing to any request", True, message, [])
        return
    message = f"the requests differ when broken records are in the input ({len(with_broken)} vs {len(without)} requests)"
    report.add(
        "dry run: broken records add nothing to any request",
        False,
        message,
        _first_difference(with_broken, without),
    )
