"""Values nested deeper than a JSON request body may nest: the `invalid` outcome that names the field.

Imports only base modules (`destkit.runtime.outcomes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from destkit.runtime.outcomes import Outcome, Reason, Status

JSON_MAX_DEPTH = 254  # nested objects and arrays orjson writes in one document (as most JSON stacks, about)


def too_deep(row: int, key: str | None, payload: Mapping[str, Any]) -> Outcome:
    """The `invalid` outcome of a record with a value nested too deep to be written as JSON.

    `invalid_value`, not `too_large`: the value's shape is wrong whatever its size (a 300-deep
    object is a few hundred bytes); the field named is the most deeply nested one.
    """
    depth, field = max((nesting_depth(value), name) for name, value in payload.items())
    return Outcome(row=row, status=Status.INVALID, key=key, reason=Reason.INVALID_VALUE, field=field,
                   message=f"{field} is nested {depth} levels deep, deeper than a request body may nest "
                           f"({JSON_MAX_DEPTH} levels in all); flatten it.")


def nesting_depth(value: Any) -> int:
    """How many objects and arrays deep `value` nests (breadth first: no recursion, however deep)."""
    depth, level = 0, [value]
    while True:
        containers = [v for v in level if isinstance(v, dict | list | tuple)]
        if not containers:
            return depth
        depth += 1
        level = [child for c in containers for child in (c.values() if isinstance(c, dict) else c)]


__all__ = ["JSON_MAX_DEPTH", "nesting_depth", "too_deep"]
