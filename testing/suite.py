"""The conformance suite's set-up: the emulator loaded, and per action a `Plan` (testing profile,
catalogs, drawn records) that the dry-run and emulator phases (`suite_dry`, `suite_emulator`) share.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import httpx

from destkit.runtime.engine import Sync, build_sync
from destkit.runtime.spec.models import DestinationSpec
from destkit.runtime.spec.testing_profile import TestingProfile
from destkit.testing.breakage_builders import Breakage, BrokenRecord, breakages_of
from destkit.testing.drawing import Drawn, draw_records
from destkit.testing.emulators import (
    IN_PROCESS_URL,
    LOOPBACK_URL,
    default_profile,
    load_emulator,
    point_user_url,
    profile_for,
    sync_config,
)
from destkit.testing.report import ActionReport
from destkit.testing.strategies import normalize_catalogs
from destkit.testing.suite_checks import run_to_end
from destkit.testing.values import Catalogs, valid_record_strategy

__all__ = ["Expectation", "Plan", "Suite", "SuiteProfile", "config_catalogs"]

# a conformance run must not sit out a retry budget meant for production
_OPTIONS = {"max_attempts": 2, "max_retry_seconds": 5, "max_retry_after": 1, "timeout": 15}


class SuiteProfile(TestingProfile, total=False):
    """A testing profile with the one key only the conformance suite reads."""

    assume: Callable[[dict[str, Any]], bool]
    """draw only the valid records this predicate accepts (its docstring is named in the report)"""


Expectation = tuple[Breakage, BrokenRecord] | None
"""What a drawn row must give: None for a valid record, else its breakage and expected outcome."""


@dataclass
class Plan:
    """Everything one action's passes share: the profile, the catalogs and the drawn records."""

    action: str
    profile: SuiteProfile
    from_module: bool
    catalogs: Catalogs
    catalogs_source: str
    records: list[dict[str, Any]] = field(default_factory=list)
    expect: list[Expectation] = field(default_factory=list)  # per row

    @property
    def valid_rows(self) -> list[int]:
        return [i + 1 for i, e in enumerate(self.expect) if e is None]

    @property
    def broken_rows(self) -> list[tuple[int, Breakage, BrokenRecord]]:
        """(row, breakage, expected) of every broken record."""
        return [(i + 1, *e) for i, e in enumerate(self.expect) if e is not None]


def config_catalogs(catalogs: Mapping[str, Mapping[str, str | None]]) -> dict[str, Any]:
    """Catalogs as a sync config gives them: value → label where there are labels, else a list."""
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


def _pick(catalogs: Catalogs, names: list[str]) -> Catalogs:
    return {name: catalogs[name] for name in names if name in catalogs}


def _lacking(catalogs: Catalogs, names: list[str]) -> list[str]:
    return [name for name in names if name not in catalogs]


def _synthetic_catalog(name: str) -> dict[str, str | None]:
    stem = name.rstrip("s") or name
    return {
        f"{stem}_{word}": f"{stem.replace('_', ' ').title()} {word.title()}"
        for word in ("alpha", "beta", "gamma")
    }


def _forced_options(spec: DestinationSpec, profile: TestingProfile) -> dict[str, Any]:
    """The profile's options over the conformance defaults, with every catalog set to reject."""
    options = {**_OPTIONS, **(profile.get("options") or {})}
    options["on_unknown_tag"] = "reject"
    options["on_unknown_custom_property"] = "reject"
    options["on_unknown"] = {name: "reject" for name in spec.catalogs}
    return options


def _interleaved(drawn: Drawn, seed: int) -> list[tuple[dict[str, Any], Expectation]]:
    """The broken records put among the valid ones at random places, reproducibly for a seed."""
    rows: list[tuple[dict[str, Any], Expectation]] = [(r, None) for r in drawn.valid]
    rng = random.Random(seed)
    for b, rec in drawn.broken:
        rows.insert(rng.randint(0, len(rows)), (rec.record, (b, rec)))
    return rows


class Suite:
    """One spec under test: its emulator (or why there is none) and what every action shares."""

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

    # --- the plan ----------------------------------------------------------------------------------

    def plan(self, action: str, report: ActionReport) -> Plan | None:
        """The action's profile and catalogs; None (with a failed check) when the profile raises."""
        found = self._profile(action, report)
        if found is None:
            return None
        profile, from_module = found
        catalogs, source = self._catalogs(action, profile, report)
        return Plan(action, profile, from_module, catalogs, source)

    def _profile(self, action: str, report: ActionReport) -> tuple[SuiteProfile, bool] | None:
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
        return cast(SuiteProfile, profile), from_module

    def _catalogs(self, action: str, profile: TestingProfile, report: ActionReport) -> tuple[Catalogs, str]:
        """The catalogs the action needs, and where they came from: the profile, else the emulator,
        else made up (so catalog fields are still drawn and broken)."""
        needed = _needed_catalogs(self.spec, action)
        given = normalize_catalogs(profile.get("catalogs"))
        catalogs = _pick(given, needed)
        source = "the testing profile" if needed else ""
        missing = _lacking(catalogs, needed)
        fetched = self._fetch_catalogs(action, profile, report) if missing else None
        if fetched is not None:
            catalogs.update(_pick(fetched, missing))
            source = "the emulator" if not given else "the testing profile and the emulator"
        made_up = _lacking(catalogs, needed)
        if made_up:
            catalogs.update({name: _synthetic_catalog(name) for name in made_up})
            source = "made-up values (no profile catalogs, no emulator to read them from)"
        return catalogs, source

    def _fetch_catalogs(self, action: str, profile: TestingProfile, report: ActionReport) -> Catalogs | None:
        """The catalogs as a sync reads them from the emulator; None without a working emulator."""
        if self.create_app is None or self.emulator_problem:
            return None
        try:
            app = self.create_app(**(profile.get("app_options") or {}))
            sync = self.emulator_sync(action, profile, app, {}, catalogs=None)
            run_to_end(sync.arun([], dry_run=True))
        except Exception as exc:
            report.notes.append(f"reading the catalogs from the emulator failed ({type(exc).__name__}: {exc})")
            return None
        out: Catalogs = {}
        for name, catalog in (sync.catalogs or {}).items():
            labels = {value: label for label, value in catalog.labels.items()}
            out[name] = {value: labels.get(value) for value in catalog.values}
        return out

    # --- the records -------------------------------------------------------------------------------

    def draw(self, plan: Plan, report: ActionReport) -> bool:
        """Draw the plan's records (valid ones with broken ones among them); False when it fails."""
        action = self.spec.actions[plan.action]
        assume = plan.profile.get("assume")
        try:
            valid = valid_record_strategy(action, plan.catalogs)
            if assume is not None:
                valid = valid.filter(assume)
            every = breakages_of(self.spec, action, plan.catalogs)
            breaks = [b for b in every if not self._excluded(plan.action, b)]
            drawn = draw_records(valid, breaks, self.examples, self.seed)
        except Exception as exc:
            report.add("records drawn from the field schema", False, f"{type(exc).__name__}: {exc}")
            return False
        rows = _interleaved(drawn, self.seed)
        plan.records = [r for r, _ in rows]
        plan.expect = [e for _, e in rows]
        report.notes += _draw_notes(plan, drawn, every, breaks)
        return True

    def _excluded(self, action: str, b: Breakage) -> bool:
        names = {b.label, b.kind, f"{action}:{b.label}", f"{action}:{b.kind}"}
        return not names.isdisjoint(self.exclude)

    # --- sync configs ------------------------------------------------------------------------------

    def settings(self, profile: TestingProfile, variant: Mapping[str, Any]) -> dict[str, Any]:
        """The profile's settings with the variant's over them; a user URL aimed at the loopback
        address, which the in-process transport answers whatever the port."""
        return point_user_url(self.spec, {**(profile.get("settings") or {}), **variant}, LOOPBACK_URL)

    def config(
        self, action: str, profile: TestingProfile, variant: Mapping[str, Any], catalogs: Any
    ) -> dict[str, Any]:
        """The sync config of one pass: the profile's, the variant's settings, every catalog rejecting."""
        return sync_config(
            self.spec,
            action,
            profile,
            destination=self.destination,
            settings=self.settings(profile, variant),
            options=_forced_options(self.spec, profile),
            catalogs=catalogs,
        )

    def emulator_sync(
        self, action: str, profile: TestingProfile, app: Any, variant: Mapping[str, Any], catalogs: Any
    ) -> Sync:
        """A sync of `action` against `app`, in process."""
        return build_sync(
            self.config(action, profile, variant, catalogs),
            spec=self.spec,
            base_url=None if self.spec.user_url else IN_PROCESS_URL,
            transport=httpx.ASGITransport(app=app),
            allow_http=True,
        )


def _drawn_note(plan: Plan, drawn: Drawn) -> str:
    text = f"{len(drawn.valid)} valid and {len(drawn.broken)} broken records"
    if plan.catalogs_source:
        text += f"; catalogs from {plan.catalogs_source}"
    assume = plan.profile.get("assume")
    if assume is not None:
        text += f"; valid records narrowed by the profile's assume ({getattr(assume, '__doc__', None) or 'a predicate'})"
    return text


def _draw_notes(plan: Plan, drawn: Drawn, every: list[Breakage], breaks: list[Breakage]) -> list[str]:
    """What was drawn, from which catalogs, which breakages were offered, excluded or missed."""
    notes = [_drawn_note(plan, drawn)]
    if breaks:
        notes.append("breakages: " + ", ".join(f"{b.label}→{b.reason}" for b in breaks))
    if len(breaks) < len(every):
        notes.append("breakages excluded: " + ", ".join(b.label for b in every if b not in breaks))
    covered = Counter(b.label for b, _ in drawn.broken)
    missed = [b.label for b in breaks if b.label not in covered]
    if missed:
        notes.append("breakages not drawn (hypothesis stopped early): " + ", ".join(missed))
    return notes
