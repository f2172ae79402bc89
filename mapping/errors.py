"""Errors of the mapping language.

Two kinds, kept apart on purpose: a `MappingIssue` is found once, while checking a user's
mapping before any record is read; a `RecordError` is raised while mapping one record and
becomes that record's outcome. Neither carries record values beyond what the message needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DestkitError(Exception):
    """The root of every exception destkit defines (the tree is drawn in `destkit.runtime.errors`).

    It lives here, in the bottom package, because mapping imports nothing of ours and its
    errors must derive from it too.
    """


@dataclass(frozen=True, slots=True)
class MappingIssue:
    """A problem with the mapping itself: `key` is the dotted config key, `fix` says what to do."""

    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message} Fix: {self.fix}"


class MappingConfigError(DestkitError, ValueError):
    """Raised when a mapping cannot be compiled; holds every issue found, not only the first."""

    def __init__(self, issues: list[MappingIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))


class MappingReason(StrEnum):
    """The reason codes a record can get from mapping and checking it: the `code` of a RecordError.

    Each value is also a value of the outcome contract's `Reason` (in `destkit.runtime.outcomes`,
    which mapping may not import); tests/test_reasons.py keeps the two in step.
    """

    MISSING_REQUIRED = "missing_required"
    INVALID_PHONE = "invalid_phone"
    INVALID_EMAIL = "invalid_email"
    INVALID_VALUE = "invalid_value"
    UNKNOWN_TAG = "unknown_tag"
    UNKNOWN_CUSTOM_PROPERTY = "unknown_custom_property"
    UNKNOWN_VALUE = "unknown_value"
    TYPE_MISMATCH = "type_mismatch"
    TOO_LONG = "too_long"
    MAPPING_ERROR = "mapping_error"
    # raised by the resolver the record compiler calls for a field it looks up by the record's key
    UNRESOLVED_ID = "unresolved_id"


def not_unicode_message(name: str) -> str:
    """What a record is told when `name`'s value holds a lone surrogate ('\\ud800'): Python text that is not
    Unicode, which no request body (UTF-8) can carry. JSON's escapes can spell one; json reads it as is."""
    return (f"{name} holds text that is not Unicode (a lone surrogate such as \\ud800, e.g. from a JSON escape or a "
            "broken decoding); fix the source value.")


class RecordError(DestkitError):
    """One record could not be mapped or validated; `code` says why, as a reason of the outcome contract."""

    __slots__ = ("code", "field", "message")

    def __init__(self, code: MappingReason, field: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message


class TransformError(DestkitError):
    """A transform could not handle a value; the compiler adds which field it was mapping."""

    def __init__(self, code: MappingReason, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TemplateError(DestkitError, ValueError):
    """A template that does not compile, renders an undefined name, breaks the sandbox or its limits."""
