"""A mirror sync's audience membership in the state store: who the destination holds, and who left.

One row per member the destination confirmed, keyed by (destination, action, audience, key), with
the record its removal request sends (as serialized for that request, so a member who is no longer
in the input can still be removed) and the run that last saw its key. The members who left are
those a whole run did not see: found in SQLite a page at a time, so memory stays bounded however
large the audience.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from destkit.runtime.engine.state import StateStore

PAGE = 1000  # members read (and marked) per statement


def audience_of(destination: str, action: str, settings: dict[str, Any]) -> str:
    """The audience a config mirrors: its destination, action and settings (an audience id is a setting).

    Not the mapping: changing how fields are mapped still mirrors the same audience.
    """
    relevant = {"destination": destination, "action": action, "settings": settings}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Member:
    key: str
    body: bytes  # the member's record in the removal request, serialized
    params: tuple[str, ...] | None  # its values for the removal path's {field} segments, URL-quoted


@dataclass
class MembershipChanges:
    """What one stretch of a run changed, written with its outcomes (`StateStore.record(also=...)`)."""

    confirmed: list[Member] = field(default_factory=list)  # delivered (or unchanged): members now
    seen: list[str] = field(default_factory=list)  # read this run but not confirmed: stay members, not removed

    def __bool__(self) -> bool:
        return bool(self.confirmed or self.seen)


class Membership:
    """The membership rows of one audience in a state store, seen through one run."""

    def __init__(self, store: StateStore, destination: str, action: str, audience: str) -> None:
        self.store = store
        self.scope = (destination, action, audience)

    def write(self, db: sqlite3.Connection, run_id: str, changes: MembershipChanges) -> None:
        """Upsert the confirmed members and mark the seen keys, inside the caller's transaction."""
        now = time.time()
        if changes.confirmed:
            db.executemany(
                "INSERT OR REPLACE INTO membership VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(*self.scope, m.key, m.body, None if m.params is None else json.dumps(m.params), run_id, now)
                 for m in changes.confirmed])
        if changes.seen:
            db.executemany(
                "UPDATE membership SET seen_run = ? WHERE destination = ? AND action = ? AND audience = ? AND key = ?",
                [(run_id, *self.scope, key) for key in changes.seen])

    def departed(self, run_id: str) -> Iterator[list[Member]]:
        """The members run `run_id` did not see, a page at a time, in key order.

        Paged by key (not one open cursor) so removals confirmed between pages can be deleted safely.
        """
        return self._pages("AND seen_run != ?", (run_id,))

    def members(self) -> Iterator[list[Member]]:
        """Every member of the audience, a page at a time, in key order (what Spark's state table keeps)."""
        return self._pages("", ())

    def _pages(self, condition: str, args: tuple[str, ...]) -> Iterator[list[Member]]:
        after = ""
        while True:
            rows = self.store.db.execute(
                "SELECT key, body, params FROM membership WHERE destination = ? AND action = ? AND audience = ? "
                f"{condition} AND key > ? ORDER BY key LIMIT ?", (*self.scope, *args, after, PAGE)).fetchall()
            if not rows:
                return
            yield [Member(key, bytes(body), None if params is None else tuple(json.loads(params)))
                   for key, body, params in rows]
            after = rows[-1][0]

    def forget(self, keys: list[str]) -> None:
        """The members whose removal the destination confirmed are members no more."""
        if not keys:
            return
        self.store.write_many("DELETE FROM membership WHERE destination = ? AND action = ? AND audience = ? AND key = ?",
                              [(*self.scope, key) for key in keys])

    def count(self) -> int:
        row = self.store.db.execute("SELECT COUNT(*) FROM membership WHERE destination = ? AND action = ? AND audience = ?",
                                    self.scope).fetchone()
        return int(row[0])


__all__ = ["Member", "Membership", "MembershipChanges", "audience_of"]
