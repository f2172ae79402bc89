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


class ItemSource(Iterator[Item]):
    """A file reader's items: records and `Malformed` items only, never Arrow data (a run takes them as they are)."""


__all__ = ["Item", "ItemSource", "Malformed"]
