"""`destkit spec check`: everything a connector author can learn about a spec without a network.

`parse_spec` already checks the spec against the schema and its references (fields, settings,
catalogs, `$records`). On top of that, this module renders every template with the settings'
defaults (a placeholder where a setting has none), compiles each action's record checks and body
into the generated code the runtime would run, compiles the JMESPath expressions, resolves hook
and emulator import paths, and warns about things that are legal but probably wrong: a field no
request uses, a setting or secret nothing reads, batch limits beyond what APIs accept.

Errors make the spec unusable (a sync would fail to build or send garbage); warnings do not.
This module is the entry point; the checks live in `spec_checks` (spec-wide) and `action_checks`
(per action and variant), the loader's messages are improved in `locations`. A spec the loader
refuses is checked on past its first failing stage (`recovery`), so one run lists every error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from destkit.runtime.authoring.action_checks import check_one_action
from destkit.runtime.authoring.context import CheckContext, sample_settings
from destkit.runtime.authoring.findings import Finding, Severity
from destkit.runtime.authoring.locations import known_keys, relocate
from destkit.runtime.authoring.recovery import findings_past_errors, tidy_schema_findings, yaml_finding
from destkit.runtime.authoring.spec_checks import (
    check_auth,
    check_base_url,
    check_catalog_expressions,
    check_emulator,
    check_errors,
    check_secret_actions,
    check_settings,
    check_unused,
)
from destkit.runtime.errors import Issue, SpecError
from destkit.runtime.spec.loader import locate, parse_spec
from destkit.runtime.spec.located_yaml import LocatedYaml
from destkit.runtime.spec.models import DestinationSpec


@dataclass
class SpecCheck:
    """The result of checking one spec: its display name, the spec (if it loaded) and the findings."""

    source: str
    spec: DestinationSpec | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.errors


def check_spec(name_or_path: str | Path) -> SpecCheck:
    """Check a bundled spec by id or a spec file by path; never raises for a bad spec."""
    try:
        text, display = locate(name_or_path)
    except SpecError as exc:
        return SpecCheck(str(name_or_path), None, [Finding("error", i) for i in exc.issues])
    except UnicodeDecodeError:
        return _unreadable(name_or_path, f"{name_or_path} is not UTF-8 text.", "save it as UTF-8.")
    except OSError as exc:
        return _unreadable(name_or_path, f"cannot read {name_or_path}: {exc.strerror or exc}.", "check the path.")
    return check_spec_text(text, display)


def _unreadable(name_or_path: str | Path, message: str, fix: str) -> SpecCheck:
    issue = Issue("(file)", message, fix, str(name_or_path))
    return SpecCheck(str(name_or_path), None, [Finding("error", issue)])


def check_spec_text(text: str, file: str = "<spec>") -> SpecCheck:
    """Schema and semantic checks (`parse_spec`), then the author's checks (`deep_check`)."""
    try:
        spec = parse_spec(text, file)
    except SpecError as exc:
        if [i.key for i in exc.issues] == ["(yaml)"] and (finding := yaml_finding(text, file)) is not None:
            return SpecCheck(file, None, [finding])
        reported = tidy_schema_findings([Finding("error", relocate(i, text, file)) for i in exc.issues], text)
        return SpecCheck(file, None, reported + findings_past_errors(text, file, exc.issues, reported, deep_check))
    try:
        doc: LocatedYaml | None = LocatedYaml(text, file)
    except yaml.YAMLError:  # pragma: no cover - parse_spec read the same text
        doc = None
    return SpecCheck(file, spec, deep_check(spec, doc))


def deep_check(spec: DestinationSpec, doc: LocatedYaml | None = None) -> list[Finding]:
    """The author's checks on a spec that already loaded (see the module docstring)."""
    ctx = CheckContext(spec, doc)
    try:
        _run_checks(ctx)
    except Exception as exc:  # a bug in the checker must not hide what it found so far behind a traceback
        ctx.error(
            ["(check)"],
            f"destkit could not finish checking this spec: {type(exc).__name__}: {exc}.",
            "this is a bug in destkit's spec checker; please report it with the spec.",
        )
    return ctx.findings


def _run_checks(ctx: CheckContext) -> None:
    # the order findings are reported in: the spec's top-level sections, each action, then what
    # nothing used (known only once every action was checked)
    check_settings(ctx)
    check_base_url(ctx)
    check_auth(ctx, ["auth"], ctx.spec.auth)
    check_errors(ctx, ["errors"], ctx.spec.errors)
    check_secret_actions(ctx)
    check_catalog_expressions(ctx)
    for action_id, action in ctx.spec.actions.items():
        check_one_action(ctx, action_id, action)
    check_unused(ctx)
    check_emulator(ctx)


__all__ = [
    "Finding",
    "Severity",
    "SpecCheck",
    "check_spec",
    "check_spec_text",
    "deep_check",
    "known_keys",
    "sample_settings",
]
