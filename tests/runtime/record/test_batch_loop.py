"""The fused batch loop (a dry run over a list) keeps every guarantee of the record-by-record path.

A sync over a list runs the generated loop; over an async stream, `Pipeline.feed` record by record.
Both must give the same requests and the same outcomes, row for row, whatever the records are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from destkit.runtime import Outcome, RunResult, Sync, build_sync
from destkit.runtime.record.finite import float_holding
from destkit.runtime.spec.models import FieldSchema

TAGS = ["vip", "newsletter"]
PROPERTIES = ["plan", "score"]


def make_sync(**options: Any) -> Sync:
    return build_sync({
        "destination": "hello_charles",
        "action": "send_contacts",
        "settings": {"subdomain": "acme"},
        "secrets": {"api_key": "test-key"},
        "mapping": {"external_reference_id": "id", "first_name": "name", "tags": "segments",
                    "custom_properties": "props"},
        "catalogs": {"tags": TAGS, "custom_properties": PROPERTIES},
        "options": options,
    })


def contact(i: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"c{i}", "name": f"Name{i}", "segments": ["vip"], "props": {"plan": "pro", "score": 1.5}, **fields}


def fused_run(sync: Sync, records: list[Any]) -> tuple[RunResult, list[Outcome]]:
    outcomes: list[Outcome] = []
    return sync.dry_run(records, on_outcome=outcomes.append), outcomes


def streamed_run(sync: Sync, records: list[Any]) -> tuple[RunResult, list[Outcome]]:
    async def stream() -> AsyncIterator[Any]:
        for record in records:
            yield record

    outcomes: list[Outcome] = []
    result = asyncio.run(sync.arun(stream(), dry_run=True, keep_requests=True, on_outcome=outcomes.append))
    return result, outcomes


def requests_of(result: RunResult) -> list[tuple[int, bytes]]:
    return [(r.records, r.body) for r in result.requests]


def outcome_rows(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    return sorted((o.to_dict() for o in outcomes), key=lambda d: d["row"])


def mixed_audience() -> list[Any]:
    records: list[Any] = [contact(i) for i in range(2_500)]
    records[3] = contact(3, id="")  # missing_required
    records[10] = contact(9)  # the key of the record before it: the batch ends there
    records[20] = contact(20, props={"plan": "pro", "score": float("nan")})
    records[30] = ["not", "a", "record"]
    records[40] = contact(40, segments=["vip", "no_such_tag"])
    records[50] = contact(50, props={"plan": "pro", "score": 2**70})
    records[60] = contact(60, name="x" * 300)
    return records


def test_a_list_and_a_stream_give_the_same_requests_and_outcomes() -> None:
    sync = make_sync()
    fused, fused_outcomes = fused_run(sync, mixed_audience())
    streamed, streamed_outcomes = streamed_run(sync, mixed_audience())
    assert requests_of(fused) == requests_of(streamed)
    assert outcome_rows(fused_outcomes) == outcome_rows(streamed_outcomes)
    assert (fused.summary.counts, fused.summary.received) == (streamed.summary.counts, streamed.summary.received)


def test_a_list_and_a_stream_give_the_same_warnings_when_unknown_tags_are_dropped() -> None:
    sync = make_sync(on_unknown_tag="drop_and_warn")
    records = [contact(1), contact(2, segments=["vip", "gone"]), contact(3)]
    assert outcome_rows(fused_run(sync, records)[1]) == outcome_rows(streamed_run(sync, records)[1])
    warned = [o for o in fused_run(sync, records)[1] if o.warnings]
    assert [(o.row, [w["reason"] for w in o.warnings or []]) for o in warned] == [(2, ["unknown_tag"])]


def test_every_record_of_a_list_gets_exactly_one_outcome_in_its_row() -> None:
    result, outcomes = fused_run(make_sync(), mixed_audience())
    assert sorted(o.row for o in outcomes) == list(range(1, 2_501))
    assert result.summary.received == 2_500
    assert result.summary.reconciles()


def test_a_thousand_and_one_records_are_sent_as_a_batch_of_1000_and_one_of_1() -> None:
    result, _ = fused_run(make_sync(), [contact(i) for i in range(1_001)])
    assert [r.records for r in result.requests] == [1_000, 1]


def test_a_record_whose_key_is_already_in_the_batch_starts_the_next_batch() -> None:
    result, _ = fused_run(make_sync(), [contact(1), contact(2), contact(1)])
    assert [[c["external_reference_id"] for c in r.json()["contacts"]] for r in result.requests] == [["c1", "c2"], ["c1"]]


def test_a_non_finite_custom_property_in_a_list_is_invalid_and_its_neighbours_are_sent() -> None:
    result, outcomes = fused_run(make_sync(), [contact(1), contact(2, props={"score": float("inf")}), contact(3)])
    refused = [o for o in outcomes if o.status == "invalid"]
    assert [(o.row, o.key, o.reason, o.field) for o in refused] == [(2, "c2", "type_mismatch", "custom_properties")]
    assert refused[0].message == "custom_properties: inf is not a finite number; fix the source value."
    assert [c["external_reference_id"] for c in result.requests[0].json()["contacts"]] == ["c1", "c3"]


def test_a_body_over_max_record_bytes_in_a_list_is_too_large() -> None:
    _, outcomes = fused_run(make_sync(max_record_bytes=200), [contact(1), contact(2, name="n" * 250)])
    assert sorted((o.row, o.status, o.reason) for o in outcomes) == [(1, "delivered", None), (2, "invalid", "too_large")]


@pytest.mark.parametrize(("schema", "place"), [
    ({"type": "string"}, None),
    ({"type": "integer"}, None),
    ({"type": "number"}, "scalar"),
    ({"type": "array", "catalog": "tags"}, None),
    ({"type": "array", "items": {"type": "string"}}, None),
    ({"type": "array", "items": {"type": "number"}}, "values"),
    ({"type": "array"}, "nested"),
    ({"type": "object", "values": {"type": ["string", "boolean"]}}, None),
    ({"type": "object", "values": {"type": ["string", "number"]}}, "values"),
    ({"type": "object"}, "nested"),
    ({"type": ["string", "number"]}, "nested"),
])
def test_a_finiteness_check_is_compiled_only_where_a_float_can_be(schema: dict[str, Any], place: str | None) -> None:
    assert float_holding(FieldSchema.model_validate(schema)) == place


@pytest.mark.parametrize(("segments", "props", "tags", "properties"), [
    ('["vip"]', '{"plan": "pro"}', ["vip"], {"plan": "pro"}),
    ("vip, newsletter", '{"score": 2}', ["vip", "newsletter"], {"score": 2}),
    (("vip",), None, ["vip"], None),
])
def test_text_cells_and_tuples_become_lists_and_objects_in_a_list_run(segments: Any, props: Any, tags: list[str],
                                                                       properties: dict[str, Any] | None) -> None:
    sync = make_sync()
    record = {"id": "c1", "segments": segments, "props": props}
    fused, streamed = fused_run(sync, [record])[0], streamed_run(sync, [record])[0]
    assert requests_of(fused) == requests_of(streamed)
    sent = fused.requests[0].json()["contacts"][0]
    assert (sent["tags"], sent.get("custom_properties")) == (tags, properties)
