"""An object field's values (`values:` in the field schema): their types, and no NaN or infinity among them.

The generated code checks both in one loop over the values, which for a record of good values is the whole
cost; the first value of another type, or the first non-finite float, hands the object to
`checked_values`, which checks it again in the schema's order (types, then finiteness), so a record with
both faults is refused as it always was. Imports destkit.mapping, spec and the `finite` module; nothing above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from destkit.mapping import MappingReason, RecordError
from destkit.runtime.record.finite import Unsendable, float_holding
from destkit.runtime.spec.models import FieldSchema


def _fix_values(name: str, obj: dict[str, Any], allowed: frozenset[type], expected: str) -> dict[str, Any]:
    """Drop keys whose value is None (absent); any other value of a wrong type fails the record."""
    out = {}
    for k, v in obj.items():
        if v is None:
            continue
        if type(v) not in allowed:
            raise RecordError(MappingReason.TYPE_MISMATCH, name,
                              f"{name}.{k} must be {expected}, got {type(v).__name__}; flatten it or map it to another key.")
        out[k] = v
    return out


def _checked_values(name: str, obj: dict[str, Any], allowed: frozenset[type], expected: str,
                    key: Any) -> dict[str, Any] | None:
    """`obj` once its None values are dropped (None: none is left); a value of another type, or a NaN or
    an infinity (`key`: the record's key, for the outcome), fails the record."""
    if not allowed.issuperset(map(type, obj.values())):
        obj = _fix_values(name, obj, allowed, expected)
        if not obj:
            return None
    for x in obj.values():
        if x.__class__ is float and x - x != 0.0:
            raise Unsendable(name, obj, key)
    return obj


def values_in_one_loop(f: FieldSchema) -> bool:
    """Whether an object field's values are checked for their type and finiteness in one loop: when it is an
    object and nothing else (no enum, no limit on its values' length or items) checks them in between."""
    v = f.values
    return (f.types == ("object",) and v is not None and f.enum is None and v.maxLength is None and v.items is None
            and float_holding(f) == "values")


def emit_values_loop(emit: Callable[[str, int], None], slow: str, var: str, allowed: str, at: int) -> None:
    """The loop over `var`'s values (at indent level `at`): a float must be finite and anything else of a
    type in `allowed`; the first value that is not hands the object to `slow` (`_checked_values(...)`)."""
    emit(f"for x in {var}.values():", at)
    emit("if x.__class__ is float:", at + 1)
    emit("if x - x != 0.0:", at + 2)
    emit(f"{var} = {slow}", at + 3)
    emit("break", at + 3)
    emit(f"elif x.__class__ not in {allowed}:", at + 1)
    emit(f"{var} = {slow}", at + 2)
    emit("break", at + 2)


VALUE_HELPERS = (_fix_values, _checked_values)  # called by the generated code, under their own names

__all__ = ["VALUE_HELPERS", "emit_values_loop", "values_in_one_loop"]
