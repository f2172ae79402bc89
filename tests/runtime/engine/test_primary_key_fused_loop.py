"""`options.primary_key` rides inside the fused batch loop: a keyed run over a list does not fall back to
`Pipeline.feed` record by record, and its outcomes are those of the record-by-record path, key for key.

The record-by-record path is what an async stream takes; both runs are dry runs of the Hello Charles
spec with an outcome callback (what makes a dry run read primary keys).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from destkit.runtime import Outcome, Sync
from destkit.runtime.engine.sources import Malformed
from tests.runtime.record.test_batch_loop import make_sync


def keyed_sync(primary_key: str, **options: Any) -> Sync:
    return make_sync(primary_key=primary_key, **options)


def contact(i: int, **fields: Any) -> dict[str, Any]:
    return {"pk": 1000 + i, "meta": {"source_id": f"s-{i}"}, "id": f"c{i}", "name": f"Name{i}",
            "segments": ["vip"], "props": {"plan": "pro"}, **fields}


def audience() -> list[Any]:
    records: list[Any] = [contact(i) for i in range(1_200)]
    records[2] = contact(2, id="")  # invalid: missing_required
    records[5] = Malformed(6, "line 6 is not valid JSON")  # not a dict: no primary key
    records[7] = contact(7, pk=None, meta={})  # no primary key at all
    records[8] = contact(8, pk="", meta={"source_id": ""})  # an empty one is none either
    records[9] = contact(9, pk="text-key")
    records[11] = contact(11, name="n" * 250)  # too large for max_record_bytes below
    records[13] = contact(12)  # the key of an earlier record: a new batch starts
    return records


def listed_run(sync: Sync, records: list[Any]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    sync.dry_run(records, keep_requests=False, on_outcome=outcomes.append)
    return sorted(outcomes, key=lambda o: o.row)


def streamed_run(sync: Sync, records: list[Any]) -> list[Outcome]:
    async def stream() -> AsyncIterator[Any]:
        for record in records:
            yield record

    outcomes: list[Outcome] = []
    asyncio.run(sync.arun(stream(), dry_run=True, keep_requests=False, on_outcome=outcomes.append))
    return sorted(outcomes, key=lambda o: o.row)


def test_a_keyed_run_over_a_list_hands_only_its_non_dict_items_to_feed(fed: list[Any]) -> None:
    records = audience()
    listed_run(keyed_sync("pk", max_record_bytes=200), records)
    assert fed == [records[5]]


def test_a_keyed_run_over_a_list_gets_the_outcomes_of_the_record_by_record_path() -> None:
    sync = keyed_sync("pk", max_record_bytes=200)
    listed = [o.to_dict() for o in listed_run(sync, audience())]
    streamed = [o.to_dict() for o in streamed_run(sync, audience())]
    assert listed == streamed


def test_each_outcome_of_a_keyed_list_run_carries_its_records_primary_key_as_text() -> None:
    outcomes = listed_run(keyed_sync("pk", max_record_bytes=200), audience())
    assert [(o.row, o.status, o.reason, o.primary_key) for o in outcomes[:14]] == [
        (1, "delivered", None, "1000"), (2, "delivered", None, "1001"), (3, "invalid", "missing_required", "1002"),
        (4, "delivered", None, "1003"), (5, "delivered", None, "1004"), (6, "invalid", "malformed_input", None),
        (7, "delivered", None, "1006"), (8, "delivered", None, None), (9, "delivered", None, None),
        (10, "delivered", None, "text-key"), (11, "delivered", None, "1010"), (12, "invalid", "too_large", "1011"),
        (13, "delivered", None, "1012"), (14, "delivered", None, "1012"),
    ]
    assert len(outcomes) == 1_200


def test_a_nested_primary_key_path_is_carried_by_the_fused_loop_too(fed: list[Any]) -> None:
    records = [contact(1), contact(2, meta={"source_id": 42}), contact(3, meta=None)]
    outcomes = listed_run(keyed_sync("meta.source_id"), records)
    assert [(o.row, o.primary_key) for o in outcomes] == [(1, "s-1"), (2, "42"), (3, None)]
    assert fed == []

