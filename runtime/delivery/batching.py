"""Batching: group serialized record bodies under both the record and the byte limit.

Pure and synchronous. A batch never holds two records with the same key (the destination matches
on it, so the later record waits for the next batch and both land in input order).
"""

from __future__ import annotations

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

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, indexes: list[int]) -> Batch:
        return Batch([self.rows[i] for i in indexes], [self.keys[i] for i in indexes],
                     [self.parts[i] for i in indexes], sum(len(self.parts[i]) for i in indexes), self.seq, self.params)

    def halves(self) -> tuple[Batch, Batch]:
        mid = len(self.rows) // 2
        return self.subset(list(range(mid))), self.subset(list(range(mid, len(self.rows))))


class Batcher:
    """`add` returns a full batch when the next record would not fit; `flush` returns the rest."""

    def __init__(self, envelope: Envelope, max_records: int, max_bytes: int, dedupe: bool) -> None:
        self.envelope = envelope
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.dedupe = dedupe
        self._base = len(envelope.prefix) + len(envelope.suffix)
        self._seq = 0
        self._batch = Batch()
        self._keys: set[object] = set()

    def add(self, row: int, key: object, part: bytes, params: tuple[str, ...] | None = None) -> Batch | None:
        b = self._batch
        out = None
        n = len(b.rows)
        if n and (
            params is not None
            or n >= self.max_records
            or self._base + b.parts_bytes + n + len(part) > self.max_bytes
            or (self.dedupe and key in self._keys)
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
        if len(b.rows) >= self.max_records and out is None:
            out = self._take()
        return out

    def flush(self) -> Batch | None:
        return self._take() if self._batch.rows else None

    def _take(self) -> Batch:
        b = self._batch
        self._seq += 1
        b.seq = self._seq
        self._batch = Batch()
        self._keys = set()
        return b

    def size_of(self, batch: Batch) -> int:
        return self.envelope.size(batch.parts_bytes, len(batch.parts))
