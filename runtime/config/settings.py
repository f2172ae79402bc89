"""Settings checks: a destination's settings schema, and a user's settings checked against it in full."""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from destkit.runtime.config.model import SyncConfig
from destkit.runtime.errors import Issue
from destkit.runtime.spec.models import DestinationSpec, SettingSchema


def settings_schema(spec: DestinationSpec) -> dict[str, Any]:
    """The JSON Schema of a destination's settings (drives config checks, editors and docs)."""
    props: dict[str, Any] = {}
    for name, s in spec.settings.items():
        prop: dict[str, Any] = {"type": s.type}
        for kw in ("title", "description", "default", "pattern", "enum", "minimum", "maximum"):
            value = getattr(s, kw)
            if value is not None:
                prop[kw] = value
        props[name] = prop
    required = [n for n, s in spec.settings.items() if s.is_required]
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def check_settings(spec: DestinationSpec, config: SyncConfig) -> tuple[dict[str, Any], list[Issue]]:
    settings: dict[str, Any] = {n: s.default for n, s in spec.settings.items() if s.default is not None}
    settings.update(config.settings)
    issues = []
    for name, value in settings.items():
        s0 = spec.settings.get(name)
        # JSON Schema patterns search; "$" also matches before a final newline. Settings build URLs
        # and request bodies, so a pattern must match the whole value.
        if s0 is not None and s0.pattern and isinstance(value, str) and re.fullmatch(s0.pattern, value) is None \
                and re.search(s0.pattern, value) is not None:
            issues.append(Issue(f"settings.{name}", f"{value!r} is not a valid {s0.title or name} (it has extra characters).",
                                s0.description or "", config.source_file, config.line_of(f"settings.{name}")))
    validator = jsonschema.Draft202012Validator(settings_schema(spec))
    for err in sorted(validator.iter_errors(settings), key=lambda e: list(e.path)):
        if err.validator == "additionalProperties":
            extra = sorted(set(settings) - set(spec.settings))
            for key in extra:
                issues.append(Issue(f"settings.{key}", f"'{key}' is not a setting of {spec.name}.",
                                    f"use one of: {', '.join(spec.settings)}.", config.source_file, config.line_of(f"settings.{key}")))
            continue
        if err.validator == "required":
            missing = [n for n in spec.settings if n not in settings and spec.settings[n].is_required]
            for key in missing:
                s: SettingSchema = spec.settings[key]
                issues.append(Issue(f"settings.{key}", f"the setting '{key}' ({s.title or key}) is required.",
                                    f"add it under settings: {s.description or ''}".strip(), config.source_file, config.line_of("settings")))
            continue
        key = "settings." + ".".join(str(p) for p in err.path)
        name = str(err.path[-1]) if err.path else ""
        s2 = spec.settings.get(name)
        fix = s2.description if s2 and s2.description else ""
        value = err.instance
        if err.validator == "pattern":
            message = f"{value!r} is not a valid {s2.title if s2 and s2.title else name}."
        else:
            message = f"{err.message}."
        issues.append(Issue(key, message, fix, config.source_file, config.line_of(key)))
    return settings, issues
