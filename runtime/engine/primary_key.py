"""`options.primary_key`: the input's own key of a record, as text, carried into each of its outcomes.

Row numbers restart per file or partition; a primary key joins an outcome back to the source row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from destkit.mapping.paths import compile_path

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
        if value is None or value == "":
            return None
        return value if value.__class__ is str else str(value)  # inlined `primary_key_text`: once per record

    return primary_key_of


def primary_key_text(value: Any) -> str | None:
    """A primary key's value as text (7 → "7"); a missing or empty value is None, never an invented one."""
    if value is None or value == "":
        return None
    return value if value.__class__ is str else str(value)


__all__ = ["PrimaryKeyOf", "primary_key_reader", "primary_key_text"]
