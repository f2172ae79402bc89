"""Batches sharing a key are delivered in input order: `KeyOrder`, the pipeline's bookkeeping for it.

A batch waits for every earlier unfinished batch that holds one of its keys, and for no other; a
key stays in flight while any unfinished batch holds it. The batcher hands each batch the set of
keys it kept apart, which the key order reads instead of building its own.
"""

from __future__ import annotations

import asyncio

from destkit.runtime.delivery.batching import Batch, Batcher
from destkit.runtime.engine.key_order import KeyOrder, keys_of
from destkit.runtime.spec.body_template import build_envelope


def batch(seq: int, *keys: object) -> Batch:
    return Batch(rows=list(range(len(keys))), keys=list(keys), parts=[b"{}"] * len(keys), seq=seq,
                 key_set=set(keys))


async def waits(order: KeyOrder, b: Batch) -> bool:
    """Whether `wait` for `b` is still waiting once every other task has had its turn."""
    task = asyncio.create_task(order.wait(b))
    for _ in range(5):
        await asyncio.sleep(0)
    if task.done():
        return False
    task.cancel()
    return True


def test_a_batch_sharing_no_key_with_those_in_flight_does_not_wait() -> None:
    async def scenario() -> bool:
        order = KeyOrder()
        await order.wait(batch(1, "a", "b"))
        return await waits(order, batch(2, "c", "d"))

    assert asyncio.run(scenario()) is False


def test_a_batch_sharing_a_key_waits_until_the_earlier_batch_is_done() -> None:
    async def scenario() -> list[str]:
        order = KeyOrder()
        first, second = batch(1, "a", "b"), batch(2, "b", "c")
        await order.wait(first)
        events: list[str] = []

        async def send_second() -> None:
            await order.wait(second)
            events.append("second sent")

        task = asyncio.create_task(send_second())
        await asyncio.sleep(0)
        events.append("first done")
        await order.done(first)
        await task
        return events

    assert asyncio.run(scenario()) == ["first done", "second sent"]


def test_a_key_stays_in_flight_while_a_later_batch_holds_it() -> None:
    async def scenario() -> tuple[set[object], bool]:
        order = KeyOrder()
        first, second = batch(1, "a", "b"), batch(2, "b")
        await order.wait(first)
        task = asyncio.create_task(order.wait(second))
        await asyncio.sleep(0)
        await order.done(first)
        await task
        return order.in_flight, await waits(order, batch(3, "b"))

    in_flight, third_waits = asyncio.run(scenario())
    assert in_flight == {"b"}
    assert third_waits is True


def test_a_finished_batch_leaves_no_key_in_flight() -> None:
    async def scenario() -> tuple[set[object], dict[int, set[object]]]:
        order = KeyOrder()
        b = batch(1, "a", "b")
        await order.wait(b)
        await order.done(b)
        return order.in_flight, order.unfinished

    assert asyncio.run(scenario()) == (set(), {})


def test_records_without_a_key_have_no_order_to_keep() -> None:
    assert keys_of(batch(1, "a", None)) == {"a"}


def test_a_batch_without_a_key_set_has_its_keys_read_from_its_list() -> None:
    subset = batch(1, "a", "b", "c").subset([0, 2])
    assert subset.key_set is None
    assert keys_of(subset) == {"a", "c"}


def test_the_batcher_hands_each_batch_the_set_of_keys_it_kept_apart() -> None:
    batcher = Batcher(build_envelope("$records", {}), max_records=2, max_bytes=1_000, dedupe=True)
    assert batcher.add(1, "a", b"{}") is None
    full = batcher.add(2, "b", b"{}")
    assert full is not None and full.key_set == {"a", "b"}
    assert batcher.add(3, "c", b"{}") is None
    rest = batcher.flush()
    assert rest is not None and rest.key_set == {"c"}


def test_a_batcher_that_keeps_no_keys_apart_hands_out_no_key_set() -> None:
    batcher = Batcher(build_envelope("$records", {}), max_records=1, max_bytes=1_000, dedupe=False)
    full = batcher.add(1, "a", b"{}")
    assert full is not None and full.key_set is None
