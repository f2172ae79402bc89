"""The spec language's vocabulary, defined once: what a path parameter, an HTTP method, a
settings or secrets reference, an E.164 number, an auth kind and the record key are.

Everything that reads a spec (loader, checker, compiler, engine, QA kit) asks here instead of
keeping its own copy, so the language cannot drift between them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any, Protocol

from destkit.mapping.transforms import E164_PATTERN

#: `{field}` in a request path: a record's value, URL-encoded (one record per request).
PATH_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: The methods a request may use (a template over settings must render to one of them).
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

#: `settings.name` or `settings["name"]` inside a template.
SETTING_REFERENCE = re.compile(r"settings\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")

#: `secrets.name` or `secrets["name"]` inside a template.
SECRET_REFERENCE = re.compile(r"secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")

#: A phone number in E.164 form, as seed 004 states it: `+`, a non-zero digit, 7 to 15 digits in all.
E164 = E164_PATTERN

#: The `kind:` values of an `auth:` block.
AUTH_KINDS = frozenset({"api_key", "bearer", "basic", "hook", "none", "jwt", "hmac", "oauth2"})


#: Normalisation steps a field may declare (`normalize:`), implemented in `destkit.runtime.record.normalize`.
NORMALIZE_STEPS = ("trim", "lower", "digits_only", "email", "e164", "e164_no_plus", "gmail_dots")

#: The platforms' documented match-key rules, as steps (cited in `destkit.runtime.record.normalize`).
NORMALIZE_PRESETS: dict[str, tuple[str, ...]] = {
    "meta_email": ("trim", "lower", "email"),
    "meta_phone": ("e164_no_plus",),
    "google_email": ("trim", "lower", "email", "gmail_dots"),
    "google_phone": ("e164",),
    "tiktok_email": ("trim", "lower", "email"),
    "tiktok_phone": ("e164",),
}


NORMALIZE_FIX = (f"use a step ({', '.join(NORMALIZE_STEPS)}) or a preset ({', '.join(NORMALIZE_PRESETS)}).")


def unknown_normalize_names(names: list[str]) -> list[str]:
    """The names that are neither a step nor a preset."""
    return [n for n in names if n not in NORMALIZE_STEPS and n not in NORMALIZE_PRESETS]


def unknown_normalize_message(name: str) -> str:
    """Why `name` cannot be a normalize step, with the known name it most likely meant."""
    close = difflib.get_close_matches(name, [*NORMALIZE_STEPS, *NORMALIZE_PRESETS], n=1, cutoff=0.6)
    text = f"'{name}' is not a normalize step or preset"
    return text + (f"; did you mean '{close[0]}'?" if close else ".")


def path_parameters(path: str) -> tuple[str, ...]:
    """The `{field}` names of a request path, in order."""
    return tuple(PATH_PARAMETER.findall(path))


def settings_used(template_source: str) -> set[str]:
    """Every setting a template reads (either reference form)."""
    return {a or b for a, b in SETTING_REFERENCE.findall(template_source)}


def secrets_used(template_source: str) -> set[str]:
    """Every secret a template reads (either reference form)."""
    return {a or b for a, b in SECRET_REFERENCE.findall(template_source)}


class _Field(Protocol):
    @property
    def required(self) -> bool: ...


class _Batch(Protocol):
    @property
    def key(self) -> str | None: ...


class _Action(Protocol):
    @property
    def batch(self) -> _Batch: ...

    @property
    def fields(self) -> Mapping[str, Any]: ...


def key_field(action: _Action) -> str | None:
    """The field that identifies a record: `batch.key` where the spec names one, else the first
    required field (a record's outcome, ordering and state rows are keyed by it)."""
    if action.batch.key:
        return action.batch.key
    return next((name for name, f in action.fields.items() if f.required), None)


__all__ = [
    "AUTH_KINDS",
    "E164",
    "HTTP_METHODS",
    "NORMALIZE_FIX",
    "NORMALIZE_PRESETS",
    "NORMALIZE_STEPS",
    "PATH_PARAMETER",
    "SECRET_REFERENCE",
    "SETTING_REFERENCE",
    "key_field",
    "path_parameters",
    "secrets_used",
    "settings_used",
    "unknown_normalize_message",
    "unknown_normalize_names",
]
