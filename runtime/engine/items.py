"""What a record source yields: a record (a dict of fields) or a `Malformed` item naming the unreadable line or row.

A base module of the engine's sources (CSV, JSON Lines, Arrow): it imports nothing of destkit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Malformed:
    """An input item that cannot be a record: `line` is its line (or row) and `message` says why and how to fix it."""

    line: int
    message: str


Item = dict[str, Any] | Malformed

__all__ = ["Item", "Malformed"]
