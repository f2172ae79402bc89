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

How each action is tested comes from the emulator module's `testing_profile(action)` (see
`destkit.testing.emulators`). Fields looked up from destination state (`resolve:
destination_id`) are mapped explicitly from the generated data like every other field; the
emulator phase then needs the profile's `prepare` hook to create that state, and without it a
not-delivered record of such an action is reported as skipped, not failed.

    report = run_conformance("hello_charles", examples=50, seed=0)
    print(report)            # or: report.ok, report.failures()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx

from destkit.runtime.engine import RunResult, Sync, build_sync
from destkit.runtime.errors import ConfigError, SpecError
from destkit.runtime.outcomes import Outcome, Status
from destkit.runtime.spec.models import DestinationSpec
from destkit.testing.emulators import (
    IN_PROCESS_URL,
    default_profile,
    load_emulator,
    point_user_url,
    profile_for,
    sync_config,
)
from destkit.testing.strategies import (
    Breakage,
    BrokenRecord,
    _breakages,
    _valid,
    normalize_catalogs,
    resolve_spec,
)

__all__ = ["ActionReport", "Check", "ConformanceReport", "main", "run_conformance"]

CheckStatus = Literal["passed", "failed", "skipped"]
_T = TypeVar("_T")
_MAX_DETAILS = 6
_EMULATOR_TIMEOUT_S = 120.0
# a conformance run must not sit out a retry budget meant for production
_OPTIONS = {"max_attempts": 2, "max_retry_seconds": 5, "max_retry_after": 1, "timeout": 15}


@dataclass
class Check:
    """One invariant of one action: passed, failed (with what was wrong) or skipped (and why)."""

    name: str
    status: CheckStatus
    message: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class ActionReport:
    action: str
    variant: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def name(self) -> str:
        if not self.variant:
            return self.action
        return f"{self.action} [{', '.join(f'{k}={v}' for k, v in self.variant.items())}]"

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def count(self, status: CheckStatus) -> int:
        return sum(1 for c in self.checks if c.status == status)

    def add(
        self, name: str, status: CheckStatus | bool, message: str = "", details: Iterable[str] = ()
    ) -> Check:
        if isinstance(status, bool):
            status = "passed" if status else "failed"
        check = Check(name, status, message, list(details))
        self.checks.append(check)
        return check


@dataclass
class ConformanceReport:
    """Per action (and settings variant): the checks, with messages; `ok` when none failed."""

    spec_id: str
    spec_name: str
    examples: int
    seed: int
    actions: list[ActionReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the suite could not run at all

    @property
    def ok(self) -> bool:
        return not self.problems and all(a.ok for a in self.actions)

    def failures(self) -> list[tuple[str, Check]]:
        return [(a.name, c) for a in self.actions for c in a.checks if c.status == "failed"]

    def action(self, name: str) -> ActionReport:
        return next(a for a in self.actions if a.name == name)

    def __str__(self) -> str:
        lines = [
            f"Conformance of {self.spec_name} ({self.spec_id}): {self.examples} examples per action, seed {self.seed}"
        ]
        for problem in self.problems:
            lines.append(f"  ERROR {problem}")
        for a in self.actions:
            lines.append("")
            if a.skipped is not None:
                lines.append(f"{a.name}: skipped: {a.skipped}")
                continue
            failed = a.count("failed")
            head = "ok" if not failed else f"FAILED ({failed} of {len(a.checks)} checks)"
            lines.append(f"{a.name}: {head}")
            for c in a.checks:
                mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[c.status]
                lines.append(f"  {mark} {c.name}" + (f": {c.message}" if c.message else ""))
                for d in c.details:
                    lines.append(f"         {d}")
            for note in a.notes:
                lines.append(f"  note {note}")
        total = [c for a in self.actions for c in a.checks]
        failed_checks = sum(1 for c in total if c.status == "failed")
        skipped_checks = sum(1 for c in total if c.status == "skipped")
        skipped_actions = sum(1 for a in self.actions if a.skipped is not None)
        tail = f"{len(total) - failed_checks - skipped_checks} passed, {failed_checks} failed, {skipped_checks} skipped"
        if skipped_actions:
            tail += f", {skipped_actions} action(s) skipped"
        lines.append("")
        if self.ok:
            lines.append(f"Result: OK ({tail})")
        else:
            where = sorted({name for name, _ in self.failures()})
            lines.append(f"Result: FAILED ({tail})" + (f" in {', '.join(where)}" if where else ""))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec_id,
            "ok": self.ok,
            "examples": self.examples,
            "seed": self.seed,
            "problems": self.problems,
            "actions": [
                {
                    "action": a.action,
                    "variant": a.variant,
                    "skipped": a.skipped,
                    "ok": a.ok,
                    "notes": a.notes,
                    "checks": [
                        {"name": c.name, "status": c.status, "message": c.message, "details": c.details}
                        for c in a.checks
                    ],
                }
                for a in self.actions
            ],
        }


# --- drawing records, outside any test runner -------------------------------------------------------


@dataclass
class _Drawn:
    valid: list[dict[str, Any]]
    broken: list[tuple[Breakage, BrokenRecord]]


def _draw(valid: Any, breaks: Sequence[Breakage], examples: int, seed: int) -> _Drawn:
    """`examples` valid records, and about as many broken ones with every breakage drawn at least once.

    Hypothesis drives the strategies (`@given`, generate phase only, no example database), so the
    draw is reproducible for a seed and works outside pytest too. Two runs: one of valid records,
    one whose every example is a tuple holding one broken record per breakage.
    """
    from hypothesis import strategies as st

    drawn = _Drawn(_collect(valid, examples, seed), [])
    if breaks:
        rounds = max(1, -(-examples // len(breaks)))
        for group in _collect(st.tuples(*(b.records(valid) for b in breaks)), rounds, seed):
            drawn.broken.extend(zip(breaks, group, strict=True))
    return drawn


def _collect(strategy: Any, n: int, seed: int) -> list[Any]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    out: list[Any] = []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
        print_blob=False,
    )
    @hypothesis_seed(seed)
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out[:n]


# --- helpers ---------------------------------------------------------------------------------------


def _run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to the end, also from code that is already inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _clip(value: Any, n: int = 70) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def _config_catalogs(catalogs: Mapping[str, Mapping[str, str | None]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, entries in catalogs.items():
        if any(label for label in entries.values()):
            out[name] = {value: (label or value) for value, label in entries.items()}
        else:
            out[name] = sorted(entries)
    return out


def _needed_catalogs(spec: DestinationSpec, action: str) -> list[str]:
    names: list[str] = []
    for f in spec.actions[action].fields.values():
        for ref in (f.catalog, f.keys_catalog, f.items.catalog if f.items else None):
            if ref and ref not in names:
                names.append(ref)
    return names


def _synthetic_catalog(name: str) -> dict[str, str | None]:
    stem = name.rstrip("s") or name
    return {
        f"{stem}_{word}": f"{stem.replace('_', ' ').title()} {word.title()}"
        for word in ("alpha", "beta", "gamma")
    }


def _forced_options(spec: DestinationSpec, profile: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's options over the conformance defaults, with every catalog set to reject."""
    options = {**_OPTIONS, **(profile.get("options") or {})}
    options["on_unknown_tag"] = "reject"
    options["on_unknown_custom_property"] = "reject"
    options["on_unknown"] = {name: "reject" for name in spec.catalogs}
    return options


def _outcome_text(o: Outcome) -> str:
    text = f"{o.status.value}"
    if o.reason:
        text += f" {o.reason}"
    text += f" on {o.field or '(no field)'}"
    if o.destination_status is not None or o.destination_code:
        text += (
            f" [HTTP {o.destination_status or '?'}{' ' + o.destination_code if o.destination_code else ''}]"
        )
    message = o.destination_message or o.message
    if message:
        text += f": {_clip(message, 110)}"
    return text


def _grouped(outcomes: Sequence[Outcome]) -> str:
    groups = Counter(
        f"{o.status.value}/{o.reason or '-'}"
        + (
            f" (HTTP {o.destination_status}{' ' + o.destination_code if o.destination_code else ''})"
            if o.destination_status
            else ""
        )
        for o in outcomes
    )
    return ", ".join(f"{n} x {g}" for g, n in groups.most_common())


def _limit(lines: list[str]) -> list[str]:
    if len(lines) <= _MAX_DETAILS:
        return lines
    return [*lines[:_MAX_DETAILS], f"… and {len(lines) - _MAX_DETAILS} more"]


def _requests_shape(result: RunResult) -> list[tuple[str, str, bytes, int]]:
    return [(r.method, r.url, r.body, r.records) for r in result.requests]


# --- one action ------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """Everything one action's passes share: the profile, the catalogs and the drawn records."""

    action: str
    profile: dict[str, Any]
    from_module: bool
    catalogs: dict[str, dict[str, str | None]]
    catalogs_source: str
    records: list[dict[str, Any]] = field(default_factory=list)
    expect: list[tuple[Breakage, BrokenRecord] | None] = field(default_factory=list)  # per row: None = valid

    @property
    def valid_rows(self) -> list[int]:
        return [i + 1 for i, e in enumerate(self.expect) if e is None]

    @property
    def broken_rows(self) -> list[int]:
        return [i + 1 for i, e in enumerate(self.expect) if e is not None]


class _Suite:
    def __init__(
        self, spec: DestinationSpec, destination: str, examples: int, seed: int, exclude: Iterable[str] = ()
    ) -> None:
        self.exclude = set(exclude)
        self.spec = spec
        self.destination = destination
        self.examples = examples
        self.seed = seed
        self.create_app: Callable[..., Any] | None = None
        self.module: Any = None
        self.emulator_problem: str | None = None
        if spec.emulator:
            try:
                self.create_app, self.module = load_emulator(spec)
            except Exception as exc:  # an import error in the emulator is a finding, not a crash
                self.emulator_problem = (
                    f"the emulator {spec.emulator} cannot be loaded: {type(exc).__name__}: {exc}"
                )
        else:
            self.emulator_problem = f"the {spec.name} spec names no emulator"

    # set-up

    def plan(self, action: str, report: ActionReport) -> _Plan | None:
        try:
            if self.module is not None:
                profile, from_module = profile_for(self.spec, action, self.module)
            else:
                profile, from_module = default_profile(self.spec, action), False
        except Exception as exc:
            report.add(
                "testing profile", False, f"testing_profile({action!r}) raised {type(exc).__name__}: {exc}"
            )
            return None
        if not from_module:
            where = (
                "the emulator module has no testing_profile(action)"
                if self.module is not None
                else "there is no emulator"
            )
            report.notes.append(f"{where}; settings and secrets come from the spec's defaults")
        needed = _needed_catalogs(self.spec, action)
        given = normalize_catalogs(profile.get("catalogs"))
        catalogs = {name: given[name] for name in needed if name in given}
        source = "the testing profile" if needed else ""
        missing = [n for n in needed if n not in catalogs]
        if missing and self.create_app is not None and not self.emulator_problem:
            try:
                fetched = self._fetch_catalogs(action, profile)
                catalogs.update({n: fetched[n] for n in missing if n in fetched})
                source = "the emulator" if not given else "the testing profile and the emulator"
            except Exception as exc:
                report.notes.append(
                    f"reading the catalogs from the emulator failed ({type(exc).__name__}: {exc})"
                )
        for name in needed:
            if name not in catalogs:
                catalogs[name] = _synthetic_catalog(name)
                source = "made-up values (no profile catalogs, no emulator to read them from)"
        return _Plan(action, profile, from_module, catalogs, source)

    def _fetch_catalogs(self, action: str, profile: Mapping[str, Any]) -> dict[str, dict[str, str | None]]:
        assert self.create_app is not None
        app = self.create_app(**(profile.get("app_options") or {}))
        sync = self._emulator_sync(action, profile, app, {}, catalogs=None)
        _run(sync.arun([], dry_run=True))
        out: dict[str, dict[str, str | None]] = {}
        for name, catalog in (sync.catalogs or {}).items():
            labels = {value: label for label, value in catalog.labels.items()}
            out[name] = {value: labels.get(value) for value in catalog.values}
        return out

    def draw(self, plan: _Plan, report: ActionReport) -> bool:
        action = self.spec.actions[plan.action]
        assume = plan.profile.get("assume")
        try:
            valid = _valid(action, plan.catalogs)
            if assume is not None:
                valid = valid.filter(assume)
            every = _breakages(self.spec, action, plan.catalogs)
            breaks = [b for b in every if not self._excluded(plan.action, b)]
            drawn = _draw(valid, breaks, self.examples, self.seed)
        except Exception as exc:
            report.add("records drawn from the field schema", False, f"{type(exc).__name__}: {exc}")
            return False
        # interleave the broken records among the valid ones, reproducibly
        rows: list[tuple[dict[str, Any], tuple[Breakage, BrokenRecord] | None]] = [
            (r, None) for r in drawn.valid
        ]
        rng = random.Random(self.seed)
        for b, rec in drawn.broken:
            rows.insert(rng.randint(0, len(rows)), (rec.record, (b, rec)))
        plan.records = [r for r, _ in rows]
        plan.expect = [e for _, e in rows]
        covered = Counter(b.label for b, _ in drawn.broken)
        missed = [b.label for b in breaks if b.label not in covered]
        text = f"{len(drawn.valid)} valid and {len(drawn.broken)} broken records"
        if plan.catalogs_source:
            text += f"; catalogs from {plan.catalogs_source}"
        if assume is not None:
            text += f"; valid records narrowed by the profile's assume ({getattr(assume, '__doc__', None) or 'a predicate'})"
        report.notes.append(text)
        if breaks:
            report.notes.append("breakages: " + ", ".join(f"{b.label}→{b.reason}" for b in breaks))
        if len(breaks) < len(every):
            report.notes.append("breakages excluded: " + ", ".join(b.label for b in every if b not in breaks))
        if missed:
            report.notes.append("breakages not drawn (hypothesis stopped early): " + ", ".join(missed))
        return True

    def _excluded(self, action: str, b: Breakage) -> bool:
        names = {b.label, b.kind, f"{action}:{b.label}", f"{action}:{b.kind}"}
        return not names.isdisjoint(self.exclude)

    def _settings(self, plan: _Plan, variant: Mapping[str, Any], origin: str) -> dict[str, Any]:
        settings: dict[str, Any] = point_user_url(
            self.spec, {**(plan.profile.get("settings") or {}), **variant}, origin
        )
        return settings

    def _config(
        self, action: str, profile: Mapping[str, Any], settings: Mapping[str, Any], catalogs: Any
    ) -> dict[str, Any]:
        config: dict[str, Any] = sync_config(
            self.spec,
            action,
            profile,
            destination=self.destination,
            settings=dict(settings),
            options=_forced_options(self.spec, profile),
            catalogs=catalogs,
        )
        return config

    def _emulator_sync(
        self, action: str, profile: Mapping[str, Any], app: Any, variant: Mapping[str, Any], catalogs: Any
    ) -> Sync:
        origin = "http://127.0.0.1" if self.spec.user_url else IN_PROCESS_URL
        settings = point_user_url(self.spec, {**(profile.get("settings") or {}), **variant}, origin)
        config = self._config(action, profile, settings, catalogs)
        config["settings"] = settings
        return build_sync(
            config,
            spec=self.spec,
            base_url=None if self.spec.user_url else IN_PROCESS_URL,
            transport=httpx.ASGITransport(app=app),
            allow_http=True,
        )

    # the dry run

    def dry_run(
        self, plan: _Plan, variant: Mapping[str, Any], report: ActionReport
    ) -> dict[int, Outcome] | None:
        name = "dry run: sync config accepted"
        user = self.spec.user_url
        settings = (
            self._settings(plan, variant, "http://127.0.0.1")
            if user
            else {**(plan.profile.get("settings") or {}), **variant}
        )
        config = self._config(plan.action, plan.profile, settings, _config_catalogs(plan.catalogs))
        try:
            sync = build_sync(config, spec=self.spec, allow_http=user)
        except ConfigError as exc:
            report.add(
                name, False, "the testing profile does not make a valid sync config", str(exc).splitlines()
            )
            return None
        action = sync.action
        limits = action.batch
        outcomes: list[Outcome] = []
        try:
            mixed = sync.dry_run(plan.records, keep_requests=True, offline=True, on_outcome=outcomes.append)
            clean = sync.dry_run(
                [r for r, e in zip(plan.records, plan.expect, strict=True) if e is None],
                keep_requests=True,
                offline=True,
            )
        except Exception as exc:
            report.add(
                "dry run",
                False,
                f"the dry run raised {type(exc).__name__}: {exc}",
                traceback.format_exc().splitlines()[-6:],
            )
            return None
        by_row = self._outcomes_check("dry run", mixed, outcomes, len(plan.records), report, dry=True)

        # every valid record accepted
        refused = [
            (row, by_row.get(row))
            for row in plan.valid_rows
            if row not in by_row or by_row[row].status is not Status.DELIVERED
        ]
        details = []
        for row, o in refused:
            record = plan.records[row - 1]
            value = f" (value {_clip(record.get(o.field))})" if o is not None and o.field in record else ""
            details.append(f"row {row}: " + (_outcome_text(o) if o else "no outcome") + value)
        report.add(
            "dry run: every valid record is accepted",
            not refused,
            f"{len(refused)} of {len(plan.valid_rows)} valid records refused"
            if refused
            else f"{len(plan.valid_rows)} valid records",
            _limit(details),
        )

        # every broken record invalid with its reason and field
        wrong: dict[str, list[str]] = {}
        for row in plan.broken_rows:
            expectation = plan.expect[row - 1]
            assert expectation is not None
            b, rec = expectation
            o = by_row.get(row)
            if (
                o is not None
                and o.status is Status.INVALID
                and o.reason == rec.reason
                and o.field == rec.field
            ):
                continue
            got = _outcome_text(o) if o is not None else "no outcome"
            wrong.setdefault(b.label, []).append(
                f"row {row} {b.label}: expected invalid {rec.reason} on {rec.field}, got {got}; value {_clip(rec.record.get(rec.field, '(absent)'))}"
            )
        details = [lines[0] for lines in wrong.values()]
        message = (
            (
                f"{sum(map(len, wrong.values()))} of {len(plan.broken_rows)} broken records not reported as expected, "
                f"in {len(wrong)} breakage(s): {', '.join(wrong)}"
            )
            if wrong
            else f"{len(plan.broken_rows)} broken records"
        )
        report.add(
            "dry run: every broken record is invalid with its expected reason and field",
            not wrong,
            message,
            _limit(details),
        )

        # limits
        over = []
        for i, r in enumerate(mixed.requests, 1):
            if r.records > limits.max_records or len(r.body) > limits.max_bytes or r.records < 1:
                over.append(f"request {i}: {r.records} records, {len(r.body)} bytes")
        in_requests = sum(r.records for r in mixed.requests)
        if in_requests != mixed.summary.delivered:
            over.append(
                f"the requests hold {in_requests} records but {mixed.summary.delivered} were accepted"
            )
        report.add(
            f"dry run: requests within max_records {limits.max_records} and max_bytes {limits.max_bytes}",
            not over,
            f"{len(mixed.requests)} requests" if not over else f"{len(over)} problem(s)",
            _limit(over),
        )

        # nothing of a broken record in any request
        same = _requests_shape(mixed) == _requests_shape(clean)
        message = f"{len(mixed.requests)} requests, byte-identical with and without the broken records"
        details = []
        if not same:
            a, b2 = _requests_shape(mixed), _requests_shape(clean)
            message = (
                f"the requests differ when broken records are in the input ({len(a)} vs {len(b2)} requests)"
            )
            for i, (x, y) in enumerate(zip(a, b2, strict=False), 1):
                if x != y:
                    details.append(
                        f"request {i}: {x[3]} records / {len(x[2])} bytes with them, {y[3]} / {len(y[2])} without"
                    )
                    break
        report.add("dry run: broken records add nothing to any request", same, message, details)
        return by_row

    def _outcomes_check(
        self,
        phase: str,
        result: RunResult,
        outcomes: list[Outcome],
        n: int,
        report: ActionReport,
        *,
        dry: bool,
    ) -> dict[int, Outcome]:
        problems = []
        summary = result.summary
        rows = Counter(o.row for o in outcomes)
        twice = sorted(r for r, k in rows.items() if k > 1)
        missing = sorted(set(range(1, n + 1)) - set(rows))
        if twice:
            problems.append(f"rows with more than one outcome: {twice[:10]}")
        if missing:
            problems.append(f"rows without an outcome: {missing[:10]}")
        if summary.received != n:
            problems.append(f"received {summary.received}, sent {n}")
        if not summary.reconciles():
            problems.append(f"counts do not add up: received {summary.received} ≠ {dict(summary.counts)}")
        if Counter(o.status.value for o in outcomes) != +summary.counts:
            problems.append(f"the summary's counts {dict(summary.counts)} are not the outcomes'")
        if dry and any(o.status not in (Status.DELIVERED, Status.INVALID) for o in outcomes):
            problems.append("a dry run gave an outcome other than delivered or invalid")
        if summary.aborted:
            problems.append(f"the run was aborted: {summary.aborted}")
        counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
        report.add(
            f"{phase}: one outcome per record, counts add up",
            not problems,
            f"{n} records: {counts}" if not problems else "; ".join(problems),
        )
        return {o.row: o for o in outcomes}

    # the emulator

    def emulator(
        self, plan: _Plan, variant: Mapping[str, Any], report: ActionReport, dry: dict[int, Outcome] | None
    ) -> None:
        profile = plan.profile
        if self.emulator_problem is not None:
            report.add("emulator", "skipped", self.emulator_problem)
            return
        if profile.get("skip_emulator"):
            report.add("emulator", "skipped", str(profile["skip_emulator"]))
            return
        assert self.create_app is not None
        try:
            app = self.create_app(**(profile.get("app_options") or {}))
        except Exception as exc:
            report.add(
                "emulator: app created from the profile's app_options", False, f"{type(exc).__name__}: {exc}"
            )
            return
        records = list(plan.records)
        prepare = profile.get("prepare")
        state_dependent = [
            n for n, f in self.spec.actions[plan.action].fields.items() if f.resolve is not None
        ]
        if prepare is not None:
            valid = [records[row - 1] for row in plan.valid_rows]
            try:
                prepared = prepare(app, [dict(r) for r in valid])
            except Exception as exc:
                report.add(
                    "emulator: the profile's prepare hook", False, f"raised {type(exc).__name__}: {exc}"
                )
                return
            if prepared is not None:
                prepared = list(prepared)
                if len(prepared) != len(valid):
                    report.add(
                        "emulator: the profile's prepare hook",
                        False,
                        f"returned {len(prepared)} records for {len(valid)}; it must return one per record, in order",
                    )
                    return
                for row, rec in zip(plan.valid_rows, prepared, strict=True):
                    records[row - 1] = rec
        fetch = profile.get("fetch_catalogs", True)
        try:
            sync = self._emulator_sync(
                plan.action, profile, app, variant, None if fetch else _config_catalogs(plan.catalogs)
            )
        except ConfigError as exc:
            report.add(
                "emulator: sync config accepted",
                False,
                "build_sync refused the config",
                str(exc).splitlines(),
            )
            return
        outcomes: list[Outcome] = []

        async def go() -> RunResult:
            return await asyncio.wait_for(sync.arun(records, on_outcome=outcomes.append), _EMULATOR_TIMEOUT_S)

        try:
            result = _run(go())
        except TimeoutError:
            report.add("emulator: the run finishes", False, f"no end after {_EMULATOR_TIMEOUT_S:.0f} s")
            return
        except ConfigError as exc:
            report.add(
                "emulator: catalogs read from the emulator",
                False,
                "the sync could not start",
                str(exc).splitlines(),
            )
            return
        except Exception as exc:
            report.add(
                "emulator: the run finishes",
                False,
                f"raised {type(exc).__name__}: {exc}",
                traceback.format_exc().splitlines()[-6:],
            )
            return
        if fetch and sync.catalogs:
            lacking = []
            for name, entries in plan.catalogs.items():
                got = sync.catalogs.get(name)
                if got is not None and not set(entries) <= got.values:
                    lacking.append(f"{name}: the emulator lacks {sorted(set(entries) - got.values)[:8]}")
            report.add(
                "emulator: catalogs read from the emulator hold the profile's",
                not lacking,
                ", ".join(f"{n} ({len(c.values)})" for n, c in sync.catalogs.items())
                if not lacking
                else "the profile's catalogs and the emulator's app_options disagree",
                lacking,
            )
        by_row = self._outcomes_check("emulator", result, outcomes, len(records), report, dry=False)

        not_delivered = [
            by_row[row]
            for row in plan.valid_rows
            if row in by_row and by_row[row].status is not Status.DELIVERED
        ]
        details = []
        for o in not_delivered:
            key = f" (key {o.key!r})" if o.key else ""
            details.append(f"row {o.row}{key}: {_outcome_text(o)}")
        name = "emulator: every valid record is delivered"
        if not not_delivered:
            report.add(name, True, f"{len(plan.valid_rows)} delivered in {result.summary.requests} requests")
        else:
            message = f"{len(not_delivered)} of {len(plan.valid_rows)} valid records not delivered: {_grouped(not_delivered)}"
            if state_dependent and prepare is None:
                report.add(
                    name,
                    "skipped",
                    message + f" — the records depend on destination state ({', '.join(state_dependent)} "
                    "resolve from earlier deliveries) and the testing profile has no prepare hook to create it",
                    _limit(details),
                )
            else:
                report.add(name, False, message, _limit(details))

        leaked = []
        for row in plan.broken_rows:
            expectation = plan.expect[row - 1]
            assert expectation is not None
            found = by_row.get(row)
            if found is None or found.status is not Status.INVALID or found.reason != expectation[1].reason:
                leaked.append(f"row {row} {expectation[0].label}: {_outcome_text(found) if found else 'no outcome'}")
        report.add(
            "emulator: broken records are kept back",
            not leaked,
            f"{len(plan.broken_rows)} invalid, none sent"
            if not leaked
            else f"{len(leaked)} not kept back as in the dry run",
            _limit(leaked),
        )

        verify = profile.get("verify")
        if verify is not None:
            delivered = [
                records[row - 1]
                for row in plan.valid_rows
                if row in by_row and by_row[row].status is Status.DELIVERED
            ]
            try:
                problems = list(verify(app, delivered) or [])
            except Exception as exc:
                problems = [f"verify raised {type(exc).__name__}: {exc}"]
            report.add(
                "emulator: holds what was delivered (profile verify)",
                not problems,
                f"{len(delivered)} records checked" if not problems else f"{len(problems)} problem(s)",
                _limit(problems),
            )


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
    suite = _Suite(
        loaded, destination if not isinstance(spec, DestinationSpec) else loaded.id, examples, seed, exclude
    )
    for action in actions or list(loaded.actions):
        if action not in loaded.actions:
            report.problems.append(f"'{action}' is not an action of {loaded.name}")
            continue
        first = ActionReport(action)
        plan = suite.plan(action, first)
        if plan is None:
            report.actions.append(first)
            continue
        if plan.profile.get("skip"):
            first.skipped = str(plan.profile["skip"])
            report.actions.append(first)
            continue
        if not suite.draw(plan, first):
            report.actions.append(first)
            continue
        variants: list[dict[str, Any]] = [{}, *(dict(v) for v in plan.profile.get("variants") or [])]
        for i, variant in enumerate(variants):
            action_report = first if i == 0 else ActionReport(action, variant, notes=list(first.notes[:1]))
            action_report.variant = variant
            dry = suite.dry_run(plan, variant, action_report)
            suite.emulator(plan, variant, action_report, dry)
            report.actions.append(action_report)
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
