"""Batches that share a key are delivered in input order, even across workers and retries.

`KeyOrder` is the pipeline's bookkeeping for it; it imports only the batch type (`delivery/batching.py`).
"""

from __future__ import annotations

import asyncio

from destkit.runtime.delivery.batching import Batch


class KeyOrder:
    """The keys of the batches in flight, and which batch holds which.

    A worker calls `wait` right after it takes a batch from the queue (queue order is input order),
    before any await, and `done` once the batch has its outcomes. A batch waits until every earlier
    unfinished batch holding one of its keys has finished, so a retried older value never lands
    after a newer one.

    This runs for every record sent, so the keys are handled as sets: set operations read the hash a
    set stores with each key and compare keys by identity first, so they never touch the key
    objects themselves (cold in the cache by the time a batch is sent). The common batch shares no
    key with those in flight: one `isdisjoint`, one union, one difference.
    """

    def __init__(self) -> None:
        self.in_flight: set[object] = set()  # the keys of every unfinished batch
        self.unfinished: dict[int, set[object]] = {}  # batch seq → its keys
        self.sharing: set[int] = set()  # unfinished batches holding a key another unfinished batch holds too
        self.turn = asyncio.Condition()

    async def wait(self, batch: Batch) -> None:
        """Register the batch's keys; return once no earlier unfinished batch holds one of them."""
        keys = keys_of(batch)
        unfinished = self.unfinished
        deps: set[int] = set()
        if not keys.isdisjoint(self.in_flight):  # rare: a key sent again while its last batch is out
            deps = {seq for seq, held in unfinished.items() if not keys.isdisjoint(held)}
            self.sharing |= deps
            self.sharing.add(batch.seq)
        self.in_flight |= keys
        unfinished[batch.seq] = keys
        if deps:
            async with self.turn:
                await self.turn.wait_for(lambda: deps.isdisjoint(unfinished))

    async def done(self, batch: Batch) -> None:
        """The batch has finished: its keys leave those in flight (but for the ones another batch holds)."""
        keys = self.unfinished.pop(batch.seq, None)
        if keys is None:
            return
        self.in_flight -= keys
        if batch.seq in self.sharing:
            self.sharing.discard(batch.seq)
            for held in self.unfinished.values():
                self.in_flight |= keys & held
        async with self.turn:
            self.turn.notify_all()


def keys_of(batch: Batch) -> set[object]:
    """The batch's keys as a set, without None (a record without a key has no order to keep)."""
    keys = batch.key_set
    if keys is None or len(keys) != len(batch.keys):  # not built by the batcher (a subset): build it
        keys = set(batch.keys)
    if None in keys:
        keys = keys - {None}
    return keys


__all__ = ["KeyOrder", "keys_of"]
