"""Why a record is not sent: the `invalid` outcome of a record the record function refused or failed on.

The slow path only, off the per-record hot path; imports the record checks and the run's error groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from destkit.mapping import RecordError
from destkit.mapping.errors import not_unicode_message
from destkit.runtime.engine.error_groups import offending_value
from destkit.runtime.engine.items import Malformed, not_a_record
from destkit.runtime.outcomes import Outcome, Reason, Status
from destkit.runtime.record.checks import unsendable
from destkit.runtime.record.finite import Unsendable
from destkit.runtime.record.key_text import key_text

if TYPE_CHECKING:  # the sync builds pipelines, which build this
    from destkit.runtime.engine.sync import Sync


class Refusals:
    """The outcomes of one sync's refused records, with the offending value (and payload, if asked)."""

    def __init__(self, sync: Sync) -> None:
        self.sync = sync

    def refused(self, row: int, record: Mapping[str, Any], error: Exception) -> Outcome:
        """The `invalid` outcome of a record the record function raised on."""
        if isinstance(error, Unsendable):
            # orjson writes NaN and infinity as null, which would clear the value in the destination;
            # the first such field in the mapping's order is named
            try:
                found = unsendable(self.sync.mapping.apply(record))
            except Exception:  # the fused function mapped this record, so this is not expected: its error stands
                found = None
            return _invalid(row, None if error.key is None else str(error.key), found or error)
        if isinstance(error, RecordError):
            return self._with_payload(_invalid(row, self.key_of(record), error), record)
        # a transform failed (the mapping names the field) or a value no check expected
        return self._with_payload(self._explain_failure(row, record, error), record)

    @staticmethod
    def too_large(row: int, key: str | None, size: int, limit: int) -> Outcome:
        return Outcome(row=row, status=Status.INVALID, key=key, reason=Reason.TOO_LARGE,
                       message=f"the record's body is {size} bytes, over the limit of {limit}; trim large fields.")

    def _with_payload(self, outcome: Outcome, record: Mapping[str, Any]) -> Outcome:
        """An invalid record's report line shows the field's offending value; with include_payloads, all it mapped to."""
        outcome.value = offending_value(self.sync, record, outcome.field)
        if self.sync.options.include_payloads:
            try:
                outcome.payload = {k: v for k, v in self.sync.mapping.apply(record).items() if v is not None}
            except Exception:
                outcome.payload = {"source": dict(record)}
        return outcome

    def _explain_failure(self, row: int, record: Mapping[str, Any], failure: Exception) -> Outcome:
        """The slow path after the fused function raised something other than RecordError."""
        key = self.key_of(record)
        try:
            payload = self.sync.mapping.apply(record)
        except RecordError as exc:
            return _invalid(row, key, exc)
        error = unsendable(payload)
        if error is not None:
            return _invalid(row, key, error)
        if isinstance(failure, orjson.JSONEncodeError) and "Recursion" in str(failure):
            return _too_deep(row, key, payload)
        field = next((name for name, value in payload.items() if _holds_surrogate(value)), None)
        if field is not None:  # orjson refuses such text ("surrogates not allowed"): name the field
            return Outcome(row=row, status=Status.INVALID, key=key, reason=Reason.INVALID_VALUE, field=field,
                           message=not_unicode_message(field))
        return Outcome(row=row, status=Status.INVALID, key=key, reason=Reason.TYPE_MISMATCH,
                       message="a value has an unexpected type; check the record's fields against the action's schema.")

    def key_of(self, record: Mapping[str, Any]) -> str | None:
        if self.sync.key_field is None:
            return None
        # joinable text, as the primary key's: a struct as JSON, never a Python repr like {'a': 1}
        return key_text(self.sync.mapping.field_value(record, self.sync.key_field))


def _holds_surrogate(value: Any) -> bool:
    """Whether a lone surrogate sits in `value`'s text (keys of objects too), at any depth."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, Mapping):
        return any(_holds_surrogate(k) or _holds_surrogate(v) for k, v in value.items())
    return isinstance(value, list | tuple) and any(map(_holds_surrogate, value))


JSON_MAX_DEPTH = 254  # nested objects and arrays orjson writes in one document (as most JSON stacks, about)


def _too_deep(row: int, key: str | None, payload: Mapping[str, Any]) -> Outcome:
    """The `invalid` outcome of a record with a value nested too deep to be written as JSON.

    `invalid_value`, not `too_large`: the value's shape is wrong whatever its size (a 300-deep
    object is a few hundred bytes); the field named is the most deeply nested one.
    """
    depth, field = max((nesting_depth(value), name) for name, value in payload.items())
    return Outcome(row=row, status=Status.INVALID, key=key, reason=Reason.INVALID_VALUE, field=field,
                   message=f"{field} is nested {depth} levels deep, deeper than a request body may nest "
                           f"({JSON_MAX_DEPTH} levels in all); flatten it.")


def unreadable_item(row: int, record: Any) -> Outcome | None:
    """The outcome of an input item that is not a record (a line the source could not read); None for a record."""
    if isinstance(record, Mapping):
        return None
    malformed = record if isinstance(record, Malformed) else not_a_record(row, record)
    return Outcome(row=row, status=Status.INVALID, reason=Reason.MALFORMED_INPUT, message=malformed.message)


def nesting_depth(value: Any) -> int:
    """How many objects and arrays deep `value` nests (breadth first: no recursion, however deep)."""
    depth, level = 0, [value]
    while True:
        containers = [v for v in level if isinstance(v, dict | list | tuple)]
        if not containers:
            return depth
        depth += 1
        level = [child for c in containers for child in (c.values() if isinstance(c, dict) else c)]


_REASONS: dict[str, Reason] = {reason.value: reason for reason in Reason}  # a dict lookup, not an enum call


def _invalid(row: int, key: str | None, error: RecordError) -> Outcome:
    """The `invalid` outcome of a record a check refused (`error.code` is a reason code)."""
    reason = _REASONS.get(error.code) or Reason(error.code)  # an unknown code raises, as before
    return Outcome(row=row, status=Status.INVALID, key=key, reason=reason, field=error.field, message=error.message)


__all__ = ["JSON_MAX_DEPTH", "Refusals", "nesting_depth", "unreadable_item"]
