"""Self-selection for `--workers N` over an in-memory list: each worker takes its own records of the list it
inherited by fork, and no record is routed.

The list is cut into N equal parts, worker i's the i-th: a record whose key (as text) occurs in its part
only stays with its part's worker, a key that may occur in other parts too goes to worker `hash(key) % N`
wherever it occurs (a function of the key alone: records sharing a key go to one worker, in input order there).
Most records thus stay in their part: a worker touches its part's records (fork copies the pages a process
writes, and every read of a record writes its reference count), not records spread over the whole list.
"May occur" is read off one byte map a part, indexed by the key's hash: each worker marks its part's keys in
its map, waits for every map, decides the owners of its part's records into a map of one byte a row shared by
the run, waits for every part, and keeps the rows marked with its number. A false "may occur" only moves a
key to its hash's worker. Records without a key stay with their part's worker. `hash(str)` is the same in every
process forked from one parent (their hash seed): the parent decides the same owners on its own (`owners_of`).
Imports nothing of the engine.
"""

from __future__ import annotations

import mmap
import operator
import os
from array import array
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from itertools import compress, repeat
from multiprocessing.context import BaseContext
from multiprocessing.synchronize import Event
from typing import Any

READY_POLL_S = 1.0  # how often a worker waiting for the others checks that its parent is still there
MIN_MAP_BYTES, MAX_MAP_BYTES, ALL_MAPS_BYTES = 1 << 12, 1 << 25, 1 << 26
SLOTS_PER_KEY = 32  # a part's key map holds 32 bytes a record: about 3% of keys falsely seen in another part

KeyOf = Callable[[Any], Any]


def parts(rows: int, workers: int) -> list[tuple[int, int]]:
    """The N parts of the list, as [start, stop) indexes: equal to within one record."""
    return [(rows * i // workers, rows * (i + 1) // workers) for i in range(workers)]


def map_bytes(rows: int, workers: int) -> int:
    """The size of one part's key map: a power of two (its hash mask + 1)."""
    wanted = max(MIN_MAP_BYTES, SLOTS_PER_KEY * (rows // workers + 1))
    size = 1 << (wanted - 1).bit_length()
    return max(MIN_MAP_BYTES, min(size, MAX_MAP_BYTES, ALL_MAPS_BYTES // workers))


def key_texts(part: Sequence[Any], key_of: KeyOf | None, key_name: str | None) -> list[Any]:
    """Each record's key as the pipeline names it (its text; None or "" for no key). `key_name` is the top-level
    field `key_of` returns as is, when it is one: every record a dict then takes one C loop."""
    if key_of is None:
        return [None] * len(part)
    if key_name is not None and not set(map(type, part)) - {dict}:
        keys = list(map(dict.get, part, repeat(key_name)))
        if not set(map(type, keys)) - {str, type(None)}:
            return keys
    return [key_text(record, key_of) for record in part]  # a number's key is its text, as the pipeline's


def key_text(record: Any, key_of: KeyOf) -> str | None:
    if not (record.__class__ is dict or isinstance(record, Mapping)):
        return None
    try:
        value = key_of(record)
    except Exception:  # the pipeline names the failure; here the record just has no key
        return None
    return None if value is None else value if value.__class__ is str else str(value)


def slots_of(keys: list[Any], mask: int) -> list[int]:
    """Each key's byte in a key map (a record without a key takes one too: its owner is set aside later)."""
    return list(map(mask.__and__, map(hash, keys)))


def mark(key_map: Any, slots: list[int]) -> None:
    """Mark the part's keys in its map (C calls only)."""
    deque(map(key_map.__setitem__, slots, repeat(1)), maxlen=0)


def part_owners(index: int, keys: list[Any], slots: list[int], key_maps: Sequence[Any]) -> bytes:
    """The owners of part `index`'s records: `index` for a key no other part's map holds, else its slot's worker
    (the slot is a function of the key: every part gives that key the same worker). C loops for the bulk; only
    the few keys held elsewhere are looked at one by one."""
    workers, count = len(key_maps), len(slots)
    elsewhere = 0  # bit i: record i's key is in another part's map (the maps' bytes, or-ed as one big number)
    for j, key_map in enumerate(key_maps):
        if j != index:
            elsewhere |= int.from_bytes(bytes(map(key_map.__getitem__, slots)), "little")
    owners = bytearray([index]) * count
    for at in compress(range(count), elsewhere.to_bytes(count, "little")):
        owners[at] = slots[at] % workers
    if None in keys or "" in keys:  # no key: by row, its part's worker
        for at in compress(range(count), map(operator.not_, keys)):
            owners[at] = index
    return bytes(owners)


def owners_of(records: Sequence[Any], key_of: KeyOf | None, workers: int, key_name: str | None = None) -> list[int]:
    """Every record's worker, decided in one process as the workers decide it together (at most 255 workers)."""
    size = map_bytes(len(records), workers)
    marked: list[tuple[list[Any], list[int]]] = []
    maps: list[bytearray] = []
    for start, stop in parts(len(records), workers):
        keys = key_texts(records[start:stop], key_of, key_name)
        marked.append((keys, slots_of(keys, size - 1)))
        maps.append(bytearray(size))
        mark(maps[-1], marked[-1][1])
    owners: list[int] = []
    for index, (keys, slots) in enumerate(marked):
        owners += part_owners(index, keys, slots, maps)  # a list extended by bytes: their ints
    return owners


def rows_owned(owners: bytes | list[int], index: int) -> array[int]:
    """The rows (1-based, in input order) whose owner is `index`."""
    if isinstance(owners, bytes):  # one C pass: the rows marked `index` become 1, the others 0
        table = bytes(1 if b == index else 0 for b in range(256))
        return array("q", compress(range(1, len(owners) + 1), owners.translate(table)))
    return array("q", compress(range(1, len(owners) + 1), map(index.__eq__, owners)))


class Selection:
    """The list, how a record's key is read, and what the workers decide together: one key map a part and the
    owner map (anonymous shared mappings made before the fork), with an event a worker for each step."""

    def __init__(self, records: Sequence[Any], key_of: KeyOf | None, key_name: str | None, workers: int,
                 context: BaseContext) -> None:
        self.records = records
        self.key_of = key_of
        self.key_name = key_name
        self.workers = workers
        self.size = map_bytes(len(records), workers)
        self.key_maps = [mmap.mmap(-1, self.size) for _ in range(workers)]  # MAP_SHARED: written by their worker
        self.owners = mmap.mmap(-1, max(len(records), 1))
        self.marked = [context.Event() for _ in range(workers)]
        self.decided = [context.Event() for _ in range(workers)]

    def own_rows(self, index: int, parent_pid: int) -> array[int] | None:
        """In worker `index`: mark its part's keys, decide its part's owners, wait for every part, keep its own
        rows. None when the parent went away meanwhile (nothing this worker does could be recorded)."""
        start, stop = parts(len(self.records), self.workers)[index]
        keys = key_texts(self.records[start:stop], self.key_of, self.key_name)
        slots = slots_of(keys, self.size - 1)
        mark(self.key_maps[index], slots)
        self.marked[index].set()
        if not self.wait(self.marked, parent_pid):
            return None
        self.owners[start:stop] = part_owners(index, keys, slots, self.key_maps)
        self.decided[index].set()
        if not self.wait(self.decided, parent_pid):
            return None
        return rows_owned(self.owners[:len(self.records)], index)

    @staticmethod
    def wait(events: list[Event], parent_pid: int) -> bool:
        for event in events:
            while not event.wait(READY_POLL_S):
                if os.getppid() != parent_pid:
                    return False
        return True

    def rows_of(self, index: int) -> array[int]:
        """In the parent: worker `index`'s rows (after its death: what it owed). Read off the owner map once every
        part is decided there, else decided again here the same way (no worker took a record before then)."""
        if all(event.is_set() for event in self.decided):
            return rows_owned(self.owners[:len(self.records)], index)
        return rows_owned(owners_of(self.records, self.key_of, self.workers, self.key_name), index)

    def close(self) -> None:
        for shared in (*self.key_maps, self.owners):
            shared.close()


__all__ = ["Selection", "key_texts", "owners_of", "part_owners", "parts", "rows_owned"]
