"""The record template checks of `destkit spec check` that the loader cannot make: a list of values
whose positions matter loses its shape when an optional value is absent (a positional row)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from destkit.runtime.authoring.context import CheckContext, Loc
from destkit.runtime.spec.body_template import MERGE, parse_ref
from destkit.runtime.spec.models import ActionSpec, PositionalRecord

POSITIONAL_FIX = (
    "if the positions matter (a row under a schema of columns), declare a positional record: "
    '`{$columns: {LABEL: $field, ...}, empty: ""}`, which sends an absent value as empty in its column; '
    "if they do not, write each value under its own key."
)


def check_value_lists(ctx: CheckContext, action: ActionSpec, loc: Loc) -> None:
    """A list of two or more values holding an optional field: an absent one is dropped and the values
    after it move up a place. As the whole record it is a row (an error); nested, maybe a set (a warning)."""
    record = action.request.record
    if isinstance(record, PositionalRecord):
        return
    for path, items in _value_lists(record, []):
        optional = _optional_fields(action, items)
        if not optional:
            continue
        names = ", ".join("$" + name for name in optional)
        ctx.add(
            "error" if not path else "warning",
            [*loc, "request", "record", *path],
            f"this list drops an absent value ({names} {'is' if len(optional) == 1 else 'are'} optional), "
            "so the values after it shift into the wrong columns.",
            POSITIONAL_FIX,
        )


def _optional_fields(action: ActionSpec, items: list[Any]) -> list[str]:
    """The fields among these items that a record may lack (not required)."""
    refs = [ref for ref in map(parse_ref, items) if ref is not None and ref.kind == "field"]
    return [ref.name for ref in refs if ref.name in action.fields and not action.fields[ref.name].required]


def _value_lists(node: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], list[Any]]]:
    """(path, items) of every list of two or more plain values (references, value maps, constants)."""
    if isinstance(node, dict) and "$map" not in node:
        for key, value in node.items():
            if key == MERGE:  # the objects merged, not a row of values
                for i, entry in enumerate(value if isinstance(value, list) else []):
                    yield from _value_lists(entry, [*path, key, i])
                continue
            yield from _value_lists(value, [*path, key])
    elif isinstance(node, list):
        if len(node) >= 2 and all(_is_value(item) for item in node):
            yield path, [item["$map"] if isinstance(item, dict) else item for item in node]
        for i, item in enumerate(node):
            yield from _value_lists(item, [*path, i])


def _is_value(node: Any) -> bool:
    return not isinstance(node, list | dict) or (isinstance(node, dict) and "$map" in node)


__all__ = ["POSITIONAL_FIX", "check_value_lists"]
