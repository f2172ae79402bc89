"""Source paths (`a.b.0.c`) compiled to getters.

A path that runs into a missing key, a None, or a value of the wrong kind yields None rather
than raising: a CDP profile is sparse, and "absent" is the meaning the user expects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Getter = Callable[[Any], Any]

_SEGMENT = re.compile(r"[^.\[\]]+")


def split_path(path: str) -> list[str]:
    """`a.b[0].c` and `a.b.0.c` both give ['a', 'b', '0', 'c']; the empty path is an error."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("a source path must be a non-empty string such as 'email' or 'attributes.tier'")
    parts = _SEGMENT.findall(path.strip())
    if not parts:
        raise ValueError(f"'{path}' is not a source path")
    return parts


def _step(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part)
    if isinstance(value, list | tuple) and part.lstrip("-").isdigit():
        index = int(part)
        return value[index] if -len(value) <= index < len(value) else None
    return None


def compile_path(path: str) -> Getter:
    """A getter for `path`; one-segment paths get the cheapest possible form."""
    parts = split_path(path)
    if len(parts) == 1:
        key = parts[0]

        def get_top(record: Any) -> Any:
            return record.get(key) if isinstance(record, dict) else None

        return get_top

    def get_nested(record: Any) -> Any:
        value = record
        for part in parts:
            value = _step(value, part)
            if value is None:
                return None
        return value

    return get_nested
