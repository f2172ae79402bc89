"""The state of one spec check: the findings so far, the sample settings templates are rendered
with, and what the spec's templates and requests used (for the warnings about unused names)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from destkit.mapping import Template, TemplateError
from destkit.runtime.authoring.findings import Finding, Severity
from destkit.runtime.errors import Issue
from destkit.runtime.spec.located_yaml import LocatedYaml
from destkit.runtime.spec.models import DestinationSpec, SettingSchema
from destkit.runtime.spec.vocabulary import secrets_used, settings_used

Loc = Sequence[str | int]

_PLACEHOLDER_STRINGS = ("example", "example-1", "example_1", "1", "a", "A")


# --- sample settings ----------------------------------------------------------------------------


def sample_settings(spec: DestinationSpec) -> tuple[dict[str, Any], set[str]]:
    """Settings as a sync with only the defaults would have them, plus placeholders where a setting
    has no default; and the names that got a placeholder."""
    values: dict[str, Any] = {}
    placeholders: set[str] = set()
    for name, s in spec.settings.items():
        if s.default is not None:
            values[name] = s.default
        else:  # the spec's own example where it gives one (a derived setting's value is one too)
            values[name] = s.examples[0] if s.examples else _placeholder(s)
            placeholders.add(name)
    return values, placeholders


def _placeholder(setting: SettingSchema) -> Any:
    if setting.enum:
        return setting.enum[0]
    if setting.type == "boolean":
        return False
    if setting.type in ("number", "integer"):
        low = setting.minimum if setting.minimum is not None else 1
        return int(low) if setting.type == "integer" else float(low)
    if setting.pattern:
        return _string_matching(setting.pattern)
    return "example"


def _string_matching(pattern: str) -> str:
    """The first placeholder string the pattern accepts ("example" if none does, or it does not compile)."""
    for candidate in _PLACEHOLDER_STRINGS:
        try:
            if re.fullmatch(pattern, candidate):
                return candidate
        except re.error:
            break
    return "example"


# --- the check's state --------------------------------------------------------------------------


class CheckContext:
    """One spec under check: report findings (placed on their lines) and render its templates."""

    def __init__(self, spec: DestinationSpec, doc: LocatedYaml | None) -> None:
        self.spec = spec
        self.doc = doc
        self.findings: list[Finding] = []
        self.settings, self.placeholders = sample_settings(spec)
        self.used_settings: set[str] = set()
        # a secret a setting is derived from is used by whatever uses that setting
        self.used_secrets: set[str] = {s.derive.secret for s in spec.settings.values() if s.derive is not None}
        self.used_catalogs: set[str] = set()
        self.has_hook = False

    def add(self, severity: Severity, loc: Loc, message: str, fix: str = "") -> None:
        file = self.doc.file if self.doc else None
        line = self.doc.line_of(list(loc)) if self.doc else None
        self.findings.append(Finding(severity, Issue(".".join(map(str, loc)), message, fix, file, line)))

    def error(self, loc: Loc, message: str, fix: str = "") -> None:
        self.add("error", loc, message, fix)

    def warn(self, loc: Loc, message: str, fix: str = "") -> None:
        self.add("warning", loc, message, fix)

    def render(
        self,
        loc: Loc,
        source: str,
        settings: dict[str, Any],
        secrets: Iterable[str] | None = None,
    ) -> tuple[str | None, bool]:
        """Render a template the way the runtime does; (output, whether a placeholder went in).
        Secrets (placeholders named for them) are available only where `secrets` is given: auth."""
        refs = settings_used(source)
        self.used_settings |= refs
        unknown = self._unknown_settings(loc, refs)
        context: dict[str, Any] = {"settings": settings}
        if secrets is not None:
            unknown += self._unknown_secrets(loc, source)
            context["secrets"] = {name: f"<{name}>" for name in secrets}
        elif secrets_used(source):
            self.error(loc, "secrets are only available to auth templates, not here.", "move the credential into `auth:`.")
            return None, False
        if unknown:
            return None, False
        out = self._render(loc, source, context)
        if out is None:
            return None, False
        return out, bool(refs & self.placeholders)

    def _unknown_settings(self, loc: Loc, refs: set[str]) -> list[str]:
        unknown = sorted(r for r in refs if r not in self.spec.settings)
        for name in unknown:
            self.error(
                loc,
                f"settings.{name} is not a setting of this spec.",
                f"declare it under settings, or use one of: {', '.join(self.spec.settings) or '(none)'}.",
            )
        return unknown

    def _unknown_secrets(self, loc: Loc, source: str) -> list[str]:
        refs = secrets_used(source)
        self.used_secrets |= refs
        unknown = sorted(refs - set(self.spec.secrets))
        for name in unknown:
            self.error(
                loc,
                f"secrets.{name} is not a secret of this spec.",
                f"declare it under secrets, or use one of: {', '.join(self.spec.secrets) or '(none)'}.",
            )
        return unknown

    def _render(self, loc: Loc, source: str, context: dict[str, Any]) -> str | None:
        try:
            return Template(source).render(context)
        except TemplateError as exc:
            self.error(loc, f"{exc}.", "fix the template; it is rendered with the settings' defaults.")
            return None


__all__ = ["CheckContext", "Loc", "sample_settings"]
