"""What destkit's checks say about a value, mirrored for the strategies (no hypothesis here).

The expectations follow `destkit.runtime.record.checks` where those are the contract (reason
codes, check order, what counts as empty) and JSON Schema where the runtime must agree with it:
a `pattern` is matched the ECMA-262 way, so ``$`` does not match before a final newline.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from destkit.runtime.outcomes import Reason
from destkit.runtime.record.checks import is_date, is_datetime, strict_email
from destkit.runtime.spec.models import FieldSchema
from destkit.runtime.spec.vocabulary import E164

__all__ = ["FORMAT_REASON", "catalog_of", "ecma_pattern", "pattern_matches", "string_reason"]

_LENIENT_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

#: The reason code of a string that does not have its field's `format`.
FORMAT_REASON: dict[str, Reason] = {
    "e164": Reason.INVALID_PHONE,
    "email": Reason.INVALID_EMAIL,
    "date": Reason.INVALID_VALUE,
    "date-time": Reason.INVALID_VALUE,
}


def catalog_of(f: FieldSchema) -> str | None:
    """The catalog a field's values (or its array items) come from."""
    return f.catalog or (f.items.catalog if f.items else None)


def ecma_pattern(pattern: str) -> str:
    """`pattern` with every bare ``$`` made an end-of-input anchor, as in ECMA-262 (JSON Schema)."""
    out: list[str] = []
    in_class = escaped = False
    for ch in pattern:
        anchor = not (escaped or in_class) and ch == "$"
        out.append(r"(?!\n)$" if anchor else ch)
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        else:
            in_class = ch == "["
    return "".join(out)


def pattern_matches(pattern: str, value: str) -> bool:
    """JSON Schema's `pattern`: a search, with ``$`` matching only at the very end."""
    return re.search(ecma_pattern(pattern), value) is not None


# --- one check each, in the runtime's order --------------------------------------------------------


def _email_ok(f: FieldSchema, value: str) -> bool:
    if f.strictness == "strict":
        return strict_email(value)
    return _LENIENT_EMAIL.fullmatch(value) is not None


_FORMAT_OK: dict[str, Callable[[FieldSchema, str], bool]] = {
    "e164": lambda _f, v: E164.fullmatch(v) is not None,
    "email": _email_ok,
    "date": lambda _f, v: is_date(v),
    "date-time": lambda _f, v: is_datetime(v),
}


def _length_reason(f: FieldSchema, value: str) -> Reason | None:
    if f.maxLength is not None and len(value) > f.maxLength:
        return Reason.TOO_LONG
    if f.minLength and len(value) < f.minLength:
        return Reason.INVALID_VALUE
    return None


def _format_reason(f: FieldSchema, value: str) -> Reason | None:
    if f.format is None or _FORMAT_OK[f.format](f, value):
        return None
    return FORMAT_REASON[f.format]


def _pattern_reason(f: FieldSchema, value: str) -> Reason | None:
    if f.pattern is not None and not pattern_matches(f.pattern, value):
        return Reason.INVALID_VALUE
    return None


def _enum_reason(f: FieldSchema, value: str) -> Reason | None:
    if f.enum is not None and value not in f.enum:
        return Reason.INVALID_VALUE
    return None


_STRING_CHECKS = (_length_reason, _format_reason, _pattern_reason, _enum_reason)


def string_reason(f: FieldSchema, value: str, required: bool) -> Reason | None:
    """The reason code a string in this single-type string field gets (None: accepted or absent)."""
    if value == "" or (required and value.isspace()):
        return Reason.MISSING_REQUIRED if required else None
    for check in _STRING_CHECKS:
        reason = check(f, value)
        if reason is not None:
            return reason
    return None
