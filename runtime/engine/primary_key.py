"""`options.primary_key`: the input's own key of a record, as text, carried into each of its outcomes.

Row numbers restart per file or partition; a primary key joins an outcome back to the source row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from destkit.mapping.paths import compile_path
from destkit.runtime.record.key_text import key_text

PrimaryKeyOf = Callable[[Any], str | None]


def primary_key_reader(path: str | None) -> PrimaryKeyOf | None:
    """What reads the primary key at source path `path` from a record; None when no primary key is configured."""
    if path is None:
        return None
    get = compile_path(path)

    def primary_key_of(record: Any) -> str | None:
        if record.__class__ is not dict:  # the common record (a dict) skips the slower ABC check
            if not isinstance(record, Mapping):
                return None  # an unreadable line (a `Malformed`, a non-object) has no parsed value, so no key
            record = dict(record)
        value = get(record)
        return (value or None) if value.__class__ is str else key_text(value)  # the common str skips a call

    return primary_key_of


def primary_key_text(value: Any) -> str | None:
    """A primary key's value as joinable text (7 → "7", a struct as JSON, bytes as hex: `key_text`); a missing
    or empty value is None, never an invented one."""
    return key_text(value)


__all__ = ["PrimaryKeyOf", "primary_key_reader", "primary_key_text"]
