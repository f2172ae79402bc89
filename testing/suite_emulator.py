"""The conformance suite's emulator phase: the drawn records synced against the destination's
emulator in process (httpx.ASGITransport), in named steps; a failed step ends the phase.
"""

from __future__ import annotations

import asyncio
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from destkit.runtime.engine import RunResult, Sync
from destkit.runtime.errors import ConfigError
from destkit.runtime.outcomes import Outcome, Reason, Status
from destkit.testing.report import ActionReport
from destkit.testing.suite import Plan, Suite, config_catalogs
from destkit.testing.suite_checks import check_outcomes, grouped, limit_details, outcome_text, run_to_end

__all__ = ["EMULATOR_TIMEOUT_S", "emulator_phase"]

EMULATOR_TIMEOUT_S = 120.0


@dataclass
class _Attempt:
    """One emulator pass as it is set up: each step fills in what the next one needs."""

    suite: Suite
    plan: Plan
    variant: Mapping[str, Any]
    report: ActionReport
    app: Any = None
    records: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def fetch_catalogs(self) -> bool:
        """Whether the sync reads the catalogs from the emulator (else the config gives them)."""
        return self.plan.profile.get("fetch_catalogs", True)


@dataclass
class _Delivered:
    """A finished emulator run, for the checks."""

    attempt: _Attempt
    sync: Sync
    result: RunResult
    by_row: dict[int, Outcome]

    def status(self, row: int) -> Status | None:
        found = self.by_row.get(row)
        return found.status if found is not None else None


def emulator_phase(suite: Suite, plan: Plan, variant: Mapping[str, Any], report: ActionReport) -> None:
    """Sync the plan's records against the emulator and check what happened to each."""
    attempt = _Attempt(suite, plan, variant, report)
    if not all(step(attempt) for step in _SET_UP):
        return
    sync = _build_sync(attempt)
    if sync is None:
        return
    result = _deliver(attempt, sync)
    if result is None:
        return
    delivered = _Delivered(attempt, sync, result, {o.row: o for o in attempt.outcomes})
    for check in _CHECKS:
        check(delivered)


# --- set-up steps: each returns whether the phase goes on --------------------------------------------


def _not_skipped(a: _Attempt) -> bool:
    """There is an emulator, and the profile does not skip this phase."""
    skip = a.suite.emulator_problem or a.plan.profile.get("skip_emulator")
    if skip:
        a.report.add("emulator", "skipped", str(skip))
    return not skip


def _create_app(a: _Attempt) -> bool:
    assert a.suite.create_app is not None
    try:
        a.app = a.suite.create_app(**(a.plan.profile.get("app_options") or {}))
    except Exception as exc:
        a.report.add(
            "emulator: app created from the profile's app_options", False, f"{type(exc).__name__}: {exc}"
        )
        return False
    return True


def _prepare_records(a: _Attempt) -> bool:
    """The profile's prepare hook creates the state the valid records depend on (and may rewrite them)."""
    a.records = list(a.plan.records)
    prepare = a.plan.profile.get("prepare")
    if prepare is None:
        return True
    name = "emulator: the profile's prepare hook"
    valid = [a.records[row - 1] for row in a.plan.valid_rows]
    try:
        prepared = prepare(a.app, [dict(r) for r in valid])
    except Exception as exc:
        a.report.add(name, False, f"raised {type(exc).__name__}: {exc}")
        return False
    if prepared is None:
        return True
    prepared = list(prepared)
    if len(prepared) != len(valid):
        a.report.add(
            name, False, f"returned {len(prepared)} records for {len(valid)}; it must return one per record, in order"
        )
        return False
    for row, rec in zip(a.plan.valid_rows, prepared, strict=True):
        a.records[row - 1] = rec
    return True


_SET_UP: tuple[Callable[[_Attempt], bool], ...] = (_not_skipped, _create_app, _prepare_records)


def _build_sync(a: _Attempt) -> Sync | None:
    catalogs = None if a.fetch_catalogs else config_catalogs(a.plan.catalogs)
    try:
        return a.suite.emulator_sync(a.plan.action, a.plan.profile, a.app, a.variant, catalogs)
    except ConfigError as exc:
        a.report.add(
            "emulator: sync config accepted", False, "build_sync refused the config", str(exc).splitlines()
        )
        return None


def _deliver(a: _Attempt, sync: Sync) -> RunResult | None:
    """Run the sync to its end (within EMULATOR_TIMEOUT_S), collecting the outcomes."""

    async def go() -> RunResult:
        return await asyncio.wait_for(sync.arun(a.records, on_outcome=a.outcomes.append), EMULATOR_TIMEOUT_S)

    try:
        return run_to_end(go())
    except TimeoutError:
        a.report.add("emulator: the run finishes", False, f"no end after {EMULATOR_TIMEOUT_S:.0f} s")
    except ConfigError as exc:
        a.report.add(
            "emulator: catalogs read from the emulator", False, "the sync could not start", str(exc).splitlines()
        )
    except Exception as exc:
        a.report.add(
            "emulator: the run finishes",
            False,
            f"raised {type(exc).__name__}: {exc}",
            traceback.format_exc().splitlines()[-6:],
        )
    return None


# --- checks on the finished run ----------------------------------------------------------------------


def _check_fetched_catalogs(d: _Delivered) -> None:
    """The catalogs the sync read from the emulator hold the values the records were drawn from."""
    fetched = d.sync.catalogs
    if not (d.attempt.fetch_catalogs and fetched):
        return
    lacking = []
    for name, entries in d.attempt.plan.catalogs.items():
        got = fetched.get(name)
        if got is not None and not set(entries) <= got.values:
            lacking.append(f"{name}: the emulator lacks {sorted(set(entries) - got.values)[:8]}")
    d.attempt.report.add(
        "emulator: catalogs read from the emulator hold the profile's",
        not lacking,
        ", ".join(f"{n} ({len(c.values)})" for n, c in fetched.items())
        if not lacking
        else "the profile's catalogs and the emulator's app_options disagree",
        lacking,
    )


def _check_outcome_counts(d: _Delivered) -> None:
    a = d.attempt
    check_outcomes("emulator", d.result, a.outcomes, len(a.records), a.report, dry=False)


def _unprepared_state(d: _Delivered) -> str | None:
    """Why a valid record may fairly go undelivered: it depends on destination state (fields that
    resolve from earlier deliveries) and the profile has no prepare hook to create that state."""
    plan = d.attempt.plan
    fields = d.attempt.suite.spec.actions[plan.action].fields
    state_dependent = [n for n, f in fields.items() if f.resolve is not None]
    if not state_dependent or plan.profile.get("prepare") is not None:
        return None
    return (
        f" — the records depend on destination state ({', '.join(state_dependent)} "
        "resolve from earlier deliveries) and the testing profile has no prepare hook to create it"
    )


def _check_valid_delivered(d: _Delivered) -> None:
    """Every valid record is delivered (a failure is reported as skipped where `_unprepared_state`)."""
    plan, report = d.attempt.plan, d.attempt.report
    name = "emulator: every valid record is delivered"
    not_delivered = [
        d.by_row[row] for row in plan.valid_rows if row in d.by_row and d.status(row) is not Status.DELIVERED
    ]
    if not not_delivered:
        report.add(name, True, f"{len(plan.valid_rows)} delivered in {d.result.summary.requests} requests")
        return
    details = limit_details([f"row {o.row}{f' (key {o.key!r})' if o.key else ''}: {outcome_text(o)}" for o in not_delivered])
    message = f"{len(not_delivered)} of {len(plan.valid_rows)} valid records not delivered: {grouped(not_delivered)}"
    excuse = _unprepared_state(d)
    if excuse is not None:
        report.add(name, "skipped", message + excuse, details)
    else:
        report.add(name, False, message, details)


def _check_broken_kept_back(d: _Delivered) -> None:
    plan = d.attempt.plan
    leaked = []
    for row, b, rec in plan.broken_rows:
        found = d.by_row.get(row)
        if found is None or found.status is not Status.INVALID or found.reason != rec.reason:
            leaked.append(f"row {row} {b.label}: {outcome_text(found) if found else 'no outcome'}")
    d.attempt.report.add(
        "emulator: broken records are kept back",
        not leaked,
        f"{len(plan.broken_rows)} invalid, none sent" if not leaked else f"{len(leaked)} not kept back as in the dry run",
        limit_details(leaked),
    )


def _check_verify(d: _Delivered) -> None:
    """The profile's verify hook finds the emulator holding what was delivered."""
    a = d.attempt
    verify = a.plan.profile.get("verify")
    if verify is None:
        return
    delivered = [a.records[row - 1] for row in a.plan.valid_rows if d.status(row) is Status.DELIVERED]
    try:
        problems = list(verify(a.app, delivered) or [])
    except Exception as exc:
        problems = [f"verify raised {type(exc).__name__}: {exc}"]
    a.report.add(
        "emulator: holds what was delivered (profile verify)",
        not problems,
        f"{len(delivered)} records checked" if not problems else f"{len(problems)} problem(s)",
        limit_details(problems),
    )


def _check_job(d: _Delivered) -> None:
    """For an action answered with a job: every job ends, and each record sent in one has exactly one outcome."""
    if d.sync.action.response.job is None:
        return
    plan = d.attempt.plan
    sent = [row for row in plan.valid_rows if row in d.by_row]
    unfinished = [d.by_row[row] for row in sent if d.by_row[row].reason is Reason.JOB_UNFINISHED]
    counted = Counter(o.row for o in d.attempt.outcomes if o.row in set(plan.valid_rows))
    twice = sorted(row for row, n in counted.items() if n != 1)
    problems = [f"row {o.row}: {outcome_text(o)}" for o in unfinished]
    problems += [f"row {row}: {counted[row]} outcomes" for row in twice]
    missing = len(plan.valid_rows) - len(sent)
    if missing:
        problems.append(f"{missing} records sent in a job have no outcome")
    d.attempt.report.add(
        "emulator: every job ends and each of its records has exactly one outcome",
        not problems,
        f"{len(sent)} records through jobs, {grouped([d.by_row[r] for r in sent])}" if not problems
        else f"{len(problems)} problem(s)",
        limit_details(problems),
    )


_CHECKS: tuple[Callable[[_Delivered], None], ...] = (
    _check_fetched_catalogs,
    _check_outcome_counts,
    _check_valid_delivered,
    _check_broken_kept_back,
    _check_verify,
    _check_job,
)
