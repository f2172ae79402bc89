"""What a record source yields: a record (a dict of fields) or a `Malformed` item naming the unreadable line or row.

A base module of the engine's sources (CSV, JSON Lines, Arrow): it imports nothing of destkit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Malformed:
    """An input item that cannot be a record: `line` is its line (or row) and `message` says why and how to fix it."""

    line: int
    message: str


Item = dict[str, Any] | Malformed


def not_a_record(row: int, item: Any) -> Malformed:
    """The `Malformed` item of an input item that is no object of fields (a list, a number...), naming its row."""
    return Malformed(row, f"record {row} is a {type(item).__name__}, not an object of fields; fix the input.")


class ItemSource(Iterator[Item]):
    """A file reader's items: records and `Malformed` items only, never Arrow data (a run takes them as they are)."""


__all__ = ["Item", "ItemSource", "Malformed", "not_a_record"]
