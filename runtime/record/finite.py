"""Values JSON cannot carry faithfully: NaN and infinity (orjson writes them as null, which would clear
the value in the destination) and integers over 64 bits; and where a field's checked value can hold a
float, so the generated checks test only there. Imports destkit.mapping and spec."""

from __future__ import annotations

import math
from typing import Any

from destkit.mapping import MappingReason, RecordError
from destkit.runtime.spec.models import FieldSchema


def find_unsendable(value: Any) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    if isinstance(value, int) and not isinstance(value, bool):
        return None if -(2**63) <= value < 2**64 else "the number is too large to send (over 64 bits)"
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((why for v in children if (why := find_unsendable(v)) is not None), None)


class Unsendable(RecordError):
    """A checked value JSON cannot carry faithfully (NaN, infinity: orjson writes them as null, which
    would clear the value in the destination). `key` is the record's checked key, for its outcome."""

    __slots__ = ("key",)

    def __init__(self, name: str, value: Any, key: Any) -> None:
        why = find_unsendable(value) or "a value is not a finite number"
        super().__init__(MappingReason.TYPE_MISMATCH, name, f"{name}: {why}; fix the source value.")
        self.key = key


def has_nonfinite(value: Any) -> bool:
    """Whether a float that is NaN or infinite sits anywhere in `value` (nested lists and objects too)."""
    if value.__class__ is float:
        return value - value != 0.0  # 0.0 for every finite float; NaN for NaN and the infinities
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    return any(has_nonfinite(v) for v in children)


_SCALARS = frozenset({"string", "number", "integer", "boolean"})


def float_holding(f: FieldSchema) -> str | None:
    """Where a field's checked value can hold a float (so a NaN or an infinity): "scalar" (the value
    itself), "values" (an object's values or a list's items, one level), "nested" (anywhere), or None.

    Strings, integers and booleans are coerced or refused, and catalog lists hold catalog strings, so
    only these places need a finiteness check: the others cost nothing."""
    types = set(f.types)
    places: set[str] = set()
    if "number" in types:
        places.add("scalar")
    if "array" in types and not (f.catalog or (f.items is not None and f.items.catalog)):
        places.add(_inner_floats(f.items))
    if "object" in types:
        places.add(_inner_floats(f.values))
    places.discard("")
    if not places:
        return None
    if len(places) == 1 and len(types) == 1:
        return places.pop()
    return "nested"


def _inner_floats(inner: FieldSchema | None) -> str:
    """What an array's items or an object's values (schema `inner`) can hold: "" (no float) or a place."""
    if inner is None or not set(inner.types) <= _SCALARS:
        return "nested"
    return "values" if "number" in inner.types else ""


__all__ = ["Unsendable", "find_unsendable", "float_holding", "has_nonfinite"]
