"""Batching: group serialized record bodies under both the record and the byte limit.

Pure and synchronous. A batch never holds two records with the same key (the destination matches
on it, so the later record waits for the next batch and both land in input order), nor, with
`match: {field: ...}`, two with the same value of that field (its results could not tell them apart).
`SessionCounters` numbers the requests of a body that names `$session.*` values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from destkit.runtime.spec.body_template import Envelope


@dataclass(slots=True)
class Batch:
    rows: list[int] = field(default_factory=list)
    keys: list[object] = field(default_factory=list)
    parts: list[bytes] = field(default_factory=list)
    parts_bytes: int = 0
    seq: int = 0
    params: tuple[str, ...] | None = None  # path parameters (one-record requests only)
    session: dict[str, Any] | None = None  # the request's `$session.*` values; a resent part keeps them
    matches: list[object] | None = None  # with match: {field: ...}, each record's value of that field
    key_set: set[object] | None = None  # the keys as a set, when the batcher kept them apart (it built it anyway)

    @property
    def match_keys(self) -> list[object]:
        """What the records' results are matched on: their match values, else their keys."""
        return self.matches if self.matches is not None else self.keys

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, indexes: list[int]) -> Batch:
        matches = None if self.matches is None else [self.matches[i] for i in indexes]
        return Batch([self.rows[i] for i in indexes], [self.keys[i] for i in indexes],
                     [self.parts[i] for i in indexes], sum(len(self.parts[i]) for i in indexes), self.seq, self.params,
                     self.session, matches)

    def halves(self) -> tuple[Batch, Batch]:
        mid = len(self.rows) // 2
        return self.subset(list(range(mid))), self.subset(list(range(mid, len(self.rows))))


class Batcher:
    """`add` returns a full batch when the next record would not fit; `flush` returns the rest."""

    def __init__(self, envelope: Envelope, max_records: int, max_bytes: int, dedupe: bool,
                 match_value: Callable[[bytes], object] | None = None) -> None:
        self.envelope = envelope
        self.match_value = match_value
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.dedupe = dedupe
        self._base = len(envelope.prefix) + len(envelope.suffix)
        self._seq = 0
        self._keys: set[object] = set()
        self._matches: set[object] = set()
        self._batch = self._new_batch()

    def _new_batch(self) -> Batch:
        return Batch(matches=[] if self.match_value is not None else None)

    def add(self, row: int, key: object, part: bytes, params: tuple[str, ...] | None = None) -> Batch | None:
        b = self._batch
        out = None
        n = len(b.rows)
        match = self.match_value(part) if self.match_value is not None else None
        if n and (
            params is not None
            or n >= self.max_records
            or self._base + b.parts_bytes + n + len(part) > self.max_bytes
            or (self.dedupe and key in self._keys)
            or (b.matches is not None and match in self._matches)
        ):
            out = self.take()
            b = self._batch
        if params is not None:
            b.params = params
        b.rows.append(row)
        b.keys.append(key)
        b.parts.append(part)
        b.parts_bytes += len(part)
        if self.dedupe:
            self._keys.add(key)
        if b.matches is not None:
            b.matches.append(match)
            self._matches.add(match)
        if len(b.rows) >= self.max_records and out is None:
            out = self.take()
        return out

    def flush(self) -> Batch | None:
        return self.take() if self._batch.rows else None

    @property
    def room(self) -> int:
        """Bytes the records of one batch may take, separators included (the envelope's are set aside)."""
        return self.max_bytes - self._base

    def current(self) -> tuple[Batch, set[object]]:
        """The batch being filled and the keys in it (for a loop that adds records itself, as `add` does)."""
        return self._batch, self._keys

    def take(self) -> Batch:
        """The batch being filled, numbered; a new one starts."""
        b = self._batch
        self._seq += 1
        b.seq = self._seq
        if self.dedupe:  # the set that kept its keys apart holds exactly its keys: the key order reuses it
            b.key_set = self._keys
        self._batch = self._new_batch()
        self._keys = set()
        self._matches = set()
        return b

    def size_of(self, batch: Batch) -> int:
        return self.envelope.size(batch.parts_bytes, len(batch.parts))


class SessionCounters:
    """The `$session.*` values of each request of one run, in the order the requests are built.

    `last_batch` must be true on the final request only, and which one that is is known only when the
    input ends: so one batch is held back until the next one (or the end of the input) arrives. The
    batches given are those that will be sent (after incremental skipping), so `batch_seq` has no gaps.
    """

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.built = 0
        self._held: Batch | None = None

    def number(self, batch: Batch | None, *, final: bool = False) -> list[Batch]:
        """The batches ready to send, numbered: the one held back (if `batch` follows it) and, when the
        input has ended (`final`), the last one flagged `last_batch`."""
        ready: list[Batch] = []
        if batch is not None:
            if self._held is not None:
                ready.append(self._stamped(self._held, last=False))
            self._held = batch
        if final and self._held is not None:
            ready.append(self._stamped(self._held, last=True))
            self._held = None
        return ready

    def release(self) -> list[Batch]:
        """The batch held back, numbered but not flagged last: the input failed, so which was last is unknown."""
        held, self._held = self._held, None
        return [] if held is None else [self._stamped(held, last=False)]

    @staticmethod
    def id_of(name: str) -> int:
        """A session id for a run named `name`: a positive int64 (what session ids are, where a destination
        has them), the same for the same name, so a run's session can be found from its run id."""
        return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 2 or 1

    def _stamped(self, batch: Batch, *, last: bool) -> Batch:
        self.built += 1
        batch.session = {"id": self.session_id, "batch_seq": self.built, "last_batch": last}
        return batch
