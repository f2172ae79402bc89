"""Delivered records as columns: what a state store keeps of a plainly delivered record (its row, key,
destination id and attempts), gathered a batch at a time with no `Outcome` object per record."""

from __future__ import annotations

from collections.abc import Sequence

_TEXT_OR_NONE = frozenset({str, type(None)})


class DeliveredRows:
    """The records of one batch delivered with nothing more to say (no note, no warning), as columns.

    The sender fills it when the run records delivered records but nothing watches them one by one
    (a state store, no outcome callback that needs them): building an `Outcome` for each, and reading
    eight attributes of each back to write it, was most of the store's cost per record.
    """

    __slots__ = ("attempts", "ids", "keys", "primary_keys", "rows")

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.keys: list[str | None] = []
        self.ids: list[str | None] = []
        self.attempts: list[int] = []
        self.primary_keys: list[str | None] | None = None  # options.primary_key of each row, when the run has one

    def add(self, rows: Sequence[int], keys: Sequence[object], ids: Sequence[str | None], attempt: int) -> None:
        """The records at `rows` delivered on `attempt`, their keys as text (as an outcome holds them)."""
        self.rows += rows
        text = set(map(type, keys)) <= _TEXT_OR_NONE  # one C pass: the common case converts nothing
        self.keys += keys if text else [None if k is None else str(k) for k in keys]  # type: ignore[arg-type]
        self.ids += ids
        self.attempts += [attempt] * len(rows)
