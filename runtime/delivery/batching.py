"""Batching: group serialized record bodies under both the record and the byte limit.

Pure and synchronous. A batch never holds two records with the same key (the destination matches
on it, so the later record waits for the next batch and both land in input order), nor, with
`match: {field: ...}`, two with the same value of that field (its results could not tell them apart).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from destkit.runtime.spec.body_template import Envelope


@dataclass(slots=True)
class Batch:
    rows: list[int] = field(default_factory=list)
    keys: list[object] = field(default_factory=list)
    parts: list[bytes] = field(default_factory=list)
    parts_bytes: int = 0
    seq: int = 0
    params: tuple[str, ...] | None = None  # path parameters (one-record requests only)
    matches: list[object] | None = None  # with match: {field: ...}, each record's value of that field

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
                     matches)

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
            out = self._take()
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
            out = self._take()
        return out

    def flush(self) -> Batch | None:
        return self._take() if self._batch.rows else None

    def _take(self) -> Batch:
        b = self._batch
        self._seq += 1
        b.seq = self._seq
        self._batch = self._new_batch()
        self._keys = set()
        self._matches = set()
        return b

    def size_of(self, batch: Batch) -> int:
        return self.envelope.size(batch.parts_bytes, len(batch.parts))
