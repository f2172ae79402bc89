"""A record's key value as joinable text: what `options.primary_key` (and a refused record's key) becomes.

An outcome's key is joined back to the source row by its text, in a report, a Parquet outcomes file or a
warehouse. Python's `str` would write a struct as `{'a': 1}`, bytes as `b'..'` and a bool as `True`: text no
other tool writes or reads back. So each kind is written as the formats around destkit write it: an object
or a list as compact JSON, bytes as hex, a date or time as ISO 8601, a bool as `true`/`false`. A missing,
empty or not-a-number value is no key (None), never an invented one.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
from collections.abc import Mapping
from typing import Any


def key_text(value: Any) -> str | None:
    """`value` as joinable text (7 → "7", {"a": 1} → '{"a":1}', b"\\x01" → "01"); None for no key."""
    kind = value.__class__
    if kind is str:
        return value or None
    if kind is int:
        return str(value)
    if value is None or isinstance(value, bool):
        return None if value is None else ("true" if value else "false")
    if isinstance(value, float | decimal.Decimal):
        return _number_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex() or None
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    text = str(value)
    return text or None


def shown_value(value: Any) -> str:
    """A value quoted in a message as the data writes it: a list, an object or true/false as JSON (never a
    Python repr like ['a'] or True), null, bytes as Python shows them."""
    text = value if isinstance(value, str) else repr(value) if isinstance(value, bytes | bytearray) else key_text(value)
    if text is None:
        return "null" if value is None else str(value)
    return text


def _number_text(value: float | decimal.Decimal) -> str | None:
    """A finite number as Python writes it (1.5, 1e+20, Decimal 1.10); NaN or infinity is no key."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, decimal.Decimal) and not value.is_finite():
        return None
    return str(value)


def _json_default(value: Any) -> Any:
    """A value inside an object or list key that JSON has no type for: its own key text (a set as a list)."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return key_text(value)


__all__ = ["key_text", "shown_value"]
