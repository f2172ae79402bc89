"""Settings checks: a destination's settings schema, a user's settings checked against it in full, and
the settings derived from a secret (`derive:`)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

import jsonschema

from destkit.runtime.config.model import SyncConfig
from destkit.runtime.config.secrets import Secret
from destkit.runtime.errors import Issue
from destkit.runtime.spec.models import DestinationSpec, SettingSchema


def settings_schema(spec: DestinationSpec, action: str | None = None) -> dict[str, Any]:
    """The JSON Schema of a destination's settings (drives config checks, editors and docs); with `action`,
    for a sync of that action (a setting `actions:` limits is required only for those)."""
    # a derived setting is not the user's to give: it is read from a secret when the sync is built
    props = {name: setting_property(s) for name, s in spec.settings.items() if s.derive is None}
    required = [n for n, s in spec.settings.items() if s.required_for(action)]
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def setting_property(s: SettingSchema) -> dict[str, Any]:
    """One setting's JSON Schema."""
    prop: dict[str, Any] = {"type": s.type}
    for kw in ("title", "description", "default", "pattern", "enum", "minimum", "maximum", "examples"):
        value = getattr(s, kw)
        if value is not None:
            prop[kw] = value
    return prop


def check_settings(spec: DestinationSpec, config: SyncConfig) -> tuple[dict[str, Any], list[Issue]]:
    """The settings a sync uses (the spec's defaults, then the config's) and every problem with them."""
    settings: dict[str, Any] = {n: s.default for n, s in spec.settings.items()
                                if s.default is not None and s.derive is None}
    settings.update(config.settings)
    issues = given_derived_settings(spec, config, settings)
    issues += partial_pattern_matches(spec, config, settings)
    validator = jsonschema.Draft202012Validator(settings_schema(spec, config.action))
    for err in sorted(validator.iter_errors(settings), key=lambda e: list(e.path)):
        issues += schema_error_issues(spec, config, settings, err)
    return settings, issues


def given_derived_settings(spec: DestinationSpec, config: SyncConfig, settings: dict[str, Any]) -> list[Issue]:
    """A setting the spec derives from a secret, given in the config anyway: an issue (and left out)."""
    issues = []
    for name, setting in spec.settings.items():
        if setting.derive is not None and name in settings:
            del settings[name]
            issues.append(Issue(f"settings.{name}", f"'{name}' is read from the secret '{setting.derive.secret}', "
                                "not set in the config.", f"remove settings.{name}.", config.source_file,
                                config.line_of(f"settings.{name}")))
    return issues


def derive_settings(spec: DestinationSpec, config: SyncConfig, secrets: Mapping[str, Secret],
                    settings: dict[str, Any], needs_secrets: bool = True) -> list[Issue]:
    """Each derived setting into `settings`, read from its secret; a secret that does not match is an issue
    naming the secret, never showing it. Without the secret (an offline preview), the default or the
    first example stands in."""
    issues = []
    for name, setting in spec.settings.items():
        rule = setting.derive
        if rule is None:
            continue
        secret = secrets.get(rule.secret)
        if secret is None:
            stand_in = setting.default if setting.default is not None else (setting.examples or [None])[0]
            if stand_in is not None and not needs_secrets:
                settings[name] = stand_in
            continue
        found = re.search(rule.pattern, secret.reveal())
        if found is None or not found.group(1):
            issues.append(Issue(f"secrets.{rule.secret}", f"the secret '{rule.secret}' does not have the form the "
                                f"setting '{name}' is read from (pattern {rule.pattern}).",
                                f"check the value of the secret '{rule.secret}': {setting.description or 'copy it again'}"
                                .rstrip(".") + ".", config.source_file, config.line_of(f"secrets.{rule.secret}")))
            continue
        settings[name] = found.group(1)
    return issues


def partial_pattern_matches(spec: DestinationSpec, config: SyncConfig, settings: dict[str, Any]) -> list[Issue]:
    """Values a setting's pattern finds inside but does not match in full.

    JSON Schema patterns search, and "$" also matches before a final newline. Settings build URLs
    and request bodies, so a pattern must match the whole value (a subdomain `evil.com/x` is refused).
    """
    issues = []
    for name, value in settings.items():
        setting = spec.settings.get(name)
        if setting is None or not setting.pattern or not isinstance(value, str):
            continue
        if re.fullmatch(setting.pattern, value) is None and re.search(setting.pattern, value) is not None:
            what = f" ({setting.description})" if setting.description else ""
            issues.append(Issue(f"settings.{name}", f"{value!r} is not a valid {setting.title or name} (it has extra characters).",
                                f"remove the extra characters: {name} must match {setting.pattern} in full{what}.",
                                config.source_file, config.line_of(f"settings.{name}")))
    return issues


def schema_error_issues(spec: DestinationSpec, config: SyncConfig, settings: dict[str, Any],
                        err: jsonschema.ValidationError) -> list[Issue]:
    """The issues one schema error stands for: each unknown setting, each missing one, or the bad value."""
    if err.validator == "additionalProperties":
        return unknown_settings(spec, config, settings)
    if err.validator == "required":
        return missing_settings(spec, config, settings)
    return [invalid_value(spec, config, err)]


def unknown_settings(spec: DestinationSpec, config: SyncConfig, settings: dict[str, Any]) -> list[Issue]:
    return [Issue(f"settings.{key}", f"'{key}' is not a setting of {spec.name}.", _closest(key, list(spec.settings)),
                  config.source_file, config.line_of(f"settings.{key}"))
            for key in sorted(set(settings) - set(spec.settings))]


def _closest(wrong: Any, choices: list[Any]) -> str:
    """`did you mean 'x'?` for the choice closest to `wrong`, else the list of choices."""
    close = difflib.get_close_matches(str(wrong), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(map(str, choices))}."


def missing_settings(spec: DestinationSpec, config: SyncConfig, settings: dict[str, Any]) -> list[Issue]:
    issues = []
    for key, setting in spec.settings.items():
        if key not in settings and setting.required_for(config.action):
            by = f" by the action '{config.action}'" if setting.actions is not None else ""
            issues.append(Issue(f"settings.{key}", f"the setting '{key}' ({setting.title or key}) is required{by}.",
                                f"add it under settings: {setting.description or ''}".strip(), config.source_file,
                                config.line_of("settings")))
    return issues


def invalid_value(spec: DestinationSpec, config: SyncConfig, err: jsonschema.ValidationError) -> Issue:
    """A value of the wrong type or outside its enum, range or pattern; the fix says what to write instead."""
    key = "settings." + ".".join(str(p) for p in err.path)
    name = str(err.path[-1]) if err.path else ""
    setting: SettingSchema | None = spec.settings.get(name)
    if err.validator == "pattern":
        message = f"{err.instance!r} is not a valid {setting.title if setting and setting.title else name}."
    else:
        message = f"{err.message}."
    return Issue(key, message, value_fix(name, setting, err), config.source_file, config.line_of(key))


_TYPE_FIXES = {"boolean": "true or false", "integer": "a whole number", "number": "a number", "string": "text"}


def value_fix(name: str, setting: SettingSchema | None, err: jsonschema.ValidationError) -> str:
    """What to change, by the rule the value broke (the setting's description only says what it is for)."""
    if err.validator == "enum":
        return _closest(err.instance, list(err.validator_value or []))  # type: ignore[arg-type]
    if err.validator == "type":
        return f"set {name} to {_TYPE_FIXES.get(str(err.validator_value), str(err.validator_value))}."
    if err.validator in ("minimum", "maximum"):
        bound = "at least" if err.validator == "minimum" else "at most"
        return f"set {name} to a number {bound} {err.validator_value}."
    if err.validator == "pattern":
        what = f" ({setting.description})" if setting and setting.description else ""
        return f"set {name} to a value matching {err.validator_value}{what}."
    return setting.description if setting and setting.description else ""


__all__ = ["check_settings", "derive_settings", "setting_property", "settings_schema"]
