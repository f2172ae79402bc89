"""A run over workers names every record by its input row, though each worker numbers its own records
1, 2, 3... and runs each chunk through the fused loop: the parent puts the input's rows back on the
outcomes, their warnings and the dead letters. A JSON Lines file goes out as raw lines, which the
workers parse: its malformed lines keep their rows and line numbers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from destkit.runtime.engine import RunResult, Sync, build_sync
from destkit.runtime.engine.input_files import LineBlocks
from destkit.runtime.engine.pipeline import Pipeline
from destkit.runtime.engine.policy import RunPlan
from destkit.runtime.engine.sources import JsonLines, read_jsonl
from destkit.runtime.engine.worker_lines import NOT_READ, KeyReader
from destkit.runtime.engine.worker_process import WorkerPipeline
from destkit.runtime.outcomes import Outcome, Reason, RunSummary, Status
from tests.conftest import PROPERTIES, TAGS, hc_config

CATALOGS = {"tags": TAGS, "custom_properties": [name for name, _label in PROPERTIES]}
ROWS = 5_000
BAD = frozenset({1, 999, 1_000, 1_001, 2_718, 4_999, 5_000})  # a phone the checks refuse
WARNED = frozenset({2, 1_002, 3_141})  # an unknown tag, dropped with a warning


def warning_sync() -> Sync:
    return build_sync(hc_config(catalogs=CATALOGS, options={"on_unknown_tag": "drop_and_warn"}))


def audience(rows: int = ROWS) -> list[dict[str, Any]]:
    """Row r is contact u{r % 97} (keys repeat, so each worker gets many rows of one key)."""
    return [{"user_id": f"u{row % 97}", "first_name": f"F{row}", "phone": "415-555" if row in BAD else f"+1415555{row % 10_000:04d}",
             "segments": ["vip", "no_such_tag"] if row in WARNED else ["vip"]} for row in range(1, rows + 1)]


def by_row(outcomes: list[Outcome]) -> dict[int, dict[str, Any]]:
    return {o.row: o.to_dict() for o in outcomes}


def dry_outcomes(sync: Sync, records: Any, workers: int) -> tuple[RunResult, list[Outcome]]:
    seen: list[Outcome] = []
    return sync.dry_run(records, keep_requests=False, on_outcome=seen.append, workers=workers), seen


def test_a_worker_feeds_its_chunks_through_the_fused_loop_not_record_by_record(monkeypatch: pytest.MonkeyPatch) -> None:
    sync = warning_sync()
    sync.dry_run([])  # prepares the record path
    monkeypatch.setattr(Pipeline, "feed", lambda self, record: pytest.fail("a record went through `feed`"))
    records = audience(50)
    result, outcomes = asyncio.run(in_one_worker(sync, [records[:7], records[7:30], records[30:]]))
    assert sorted(o.row for o in outcomes) == list(range(1, 51))
    assert result.summary.delivered == 50 - len(BAD & set(range(1, 51)))


def test_the_batch_being_filled_carries_over_from_one_chunk_to_the_next() -> None:
    sync = warning_sync()
    records = audience(50)
    alone = sync.dry_run(records, keep_requests=True)
    chunked, _ = asyncio.run(in_one_worker(sync, [records[:7], records[7:30], records[30:]], keep_requests=True))
    assert [(r.records, r.body) for r in chunked.requests] == [(r.records, r.body) for r in alone.requests]


async def in_one_worker(sync: Sync, chunks: list[list[Any]], keep_requests: bool = False) -> tuple[RunResult, list[Outcome]]:
    """A worker's pipeline run here, in this process, over `chunks` (its rows are local: 1, 2, 3...)."""
    summary = RunSummary(run_id="w", destination=sync.spec.id, action=sync.action_id, dry_run=True)
    result, seen = RunResult(summary), []
    pipeline = WorkerPipeline(sync, None, summary, [seen.append], None, True, keep_requests, result)
    pipeline.arm(RunPlan(), None, None)

    async def stream() -> AsyncIterator[list[Any]]:
        for chunk in chunks:
            yield chunk

    await pipeline.run(stream())
    return result, seen


def streamed(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from records  # not a list: the records themselves cross the pipes


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("source", [list, streamed])
def test_outcomes_from_workers_carry_the_input_rows_of_invalid_and_warned_records(workers: int, source: Any) -> None:
    sync, records = warning_sync(), audience()
    _, one = dry_outcomes(sync, records, 1)
    result, many = dry_outcomes(sync, source(records), workers)
    assert {o.row for o in many if o.status is Status.INVALID} == BAD
    assert {o.row for o in many if o.warnings} == WARNED
    assert by_row(many) == by_row(one)
    assert result.summary.received == ROWS


def test_an_item_that_is_not_a_record_is_named_by_its_input_row_from_a_worker() -> None:
    sync, records = warning_sync(), audience(3_000)
    items: list[Any] = [*records[:2_499], ["not", "a", "record"], *records[2_500:]]
    for source in (items, iter(items)):
        _, many = dry_outcomes(sync, source, 2)
        refused = [o for o in many if o.reason is Reason.MALFORMED_INPUT]
        assert [(o.row, o.message) for o in refused] == [
            (2_500, "record 2500 is a list, not an object of fields; fix the input.")]


def write_jsonl(path: Path, records: list[dict[str, Any]], odd: dict[int, bytes]) -> Path:
    """One record a line; `odd`: line number → what is written at that line instead of the next record."""
    lines, pending = [], iter(records)
    lineno = 1
    while True:
        if lineno in odd:
            lines.append(odd[lineno])
        else:
            record = next(pending, None)
            if record is None:
                break
            lines.append(orjson.dumps(record))
        lineno += 1
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


ODD_LINES = {
    10: b'{"user_id": "u1", broken',  # not JSON: one malformed_input outcome at its row
    11: b"",  # blank: no row at all
    2_000: b"[1, 2]",  # JSON, not an object
    2_001: b'{"first_name": "Nested", "profile": {"user_id": "u5"}, "phone": "+14155550100", "user_id": "u6"}',
    3_000: b' {"user_id": "u7", "first_name": "Spaced", "phone": "+14155550101"}',
    3_001: b'{"user_id": "u\\u0038", "first_name": "Escaped", "phone": "+14155550102"}',
}


def test_a_jsonl_file_through_workers_gives_every_row_the_outcome_of_one_process(tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sync = warning_sync()
    path = write_jsonl(tmp_path / "in.jsonl", audience(), ODD_LINES)
    _, one = dry_outcomes(sync, read_jsonl(path), 1)
    monkeypatch.setattr(JsonLines, "__iter__", lambda self: pytest.fail("the parent parsed the file"))
    result, many = dry_outcomes(sync, read_jsonl(path), 2)  # the parent reads raw lines, the workers parse them
    assert by_row(many) == by_row(one)
    malformed = sorted((o.row, o.message) for o in many if o.reason is Reason.MALFORMED_INPUT)
    assert malformed == [(10, "line 10 is not valid JSON (unexpected character, expected a string key); fix or remove "
                              "the line."),
                         (1_999, "line 2000 is a JSON array, not an object of fields; write one object per line.")]
    assert result.summary.received == ROWS + len(ODD_LINES) - 1  # the blank line is no record


def test_a_jsonl_line_over_the_limit_through_workers_is_one_malformed_outcome_at_its_row(tmp_path: Path) -> None:
    sync = warning_sync()
    path = write_jsonl(tmp_path / "in.jsonl", audience(3_000), {1_500: b'{"user_id": "u1", "first_name": "' + b"x" * 3_000 + b'"}'})
    _, many = dry_outcomes(sync, read_jsonl(path, max_line_bytes=2_000), 2)
    assert [(o.row, o.message) for o in many if o.reason is Reason.MALFORMED_INPUT] == [
        (1_500, "line 1500 is over 2,000 bytes; split or trim the record.")]
    assert len(many) == 3_001


def test_records_sharing_a_key_in_a_jsonl_file_go_to_one_worker_in_order(tmp_path: Path) -> None:
    # the raw-line key read and the parse agree: every line of key u6 (one nested decoy among them) is in
    # the order of the file in the requests, which a worker per key guarantees
    sync = warning_sync()
    path = write_jsonl(tmp_path / "in.jsonl", audience(), ODD_LINES)
    alone = sync.dry_run(read_jsonl(path), keep_requests=True)
    spread = sync.dry_run(read_jsonl(path), keep_requests=True, workers=2)
    assert names_by_key(spread) == names_by_key(alone)


def names_by_key(result: RunResult) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for request in result.requests:
        for contact in request.json()["contacts"]:
            names.setdefault(contact["external_reference_id"], []).append(contact["first_name"])
    return names


@pytest.mark.parametrize("line, read", [
    (b'{"user_id":"u1","first_name":"A"}', b"u1"),
    (b'{"first_name":"A","user_id":"u1"}', b"u1"),
    (b'{"first_name":"A","user_id":""}', None),
    (b'{"first_name":"A"}', None),
    (b'{"first_name":"user_id"}', NOT_READ),  # the name as a value
    (b'{"profile":{"user_id":"u5"},"user_id":"u6"}', NOT_READ),  # named twice
    (b'{"profile":{"user_id":"u5"}}', NOT_READ),  # only nested: the record has no key
    (b'{"tags":["a"],"user_id":"u6"}', NOT_READ),  # after an array
    (b'{"user_id": "u1"}', NOT_READ),  # spaced out
    (b'{"user_id":7}', NOT_READ),  # not a string
    (b'{"user_id":"u\\u0031"}', NOT_READ),  # an escape
    (b' {"user_id":"u1"}', NOT_READ),  # not opening with the object
])
def test_a_raw_line_key_is_read_off_its_bytes_only_where_that_is_exact(line: bytes, read: bytes | None) -> None:
    reader = KeyReader.for_sync(warning_sync())
    assert reader is not None
    assert reader.read(line) == read
    if read is not NOT_READ:  # what it reads is what the parse gives
        assert (orjson.loads(line).get("user_id") or None) == (None if read is None else read.decode())


def test_no_raw_line_key_is_read_when_the_key_field_is_not_a_top_level_field_as_is() -> None:
    mapping = {**hc_config()["mapping"], "external_reference_id": {"path": "user_id", "transform": ["lower"]}}
    assert KeyReader.for_sync(build_sync(hc_config(catalogs=CATALOGS, mapping=mapping))) is None
    nested = {**hc_config()["mapping"], "external_reference_id": "profile.user_id"}
    assert KeyReader.for_sync(build_sync(hc_config(catalogs=CATALOGS, mapping=nested))) is None


@pytest.mark.parametrize("block_bytes", [1, 2, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize("ending", [b"\n", b""])
def test_the_parent_reads_the_lines_of_a_file_a_block_at_a_time_as_the_reader_does(tmp_path: Path, block_bytes: int,
                                                                                   ending: bytes) -> None:
    lines = [b'{"a":1}', b"", b"x" * 10, b"y" * 11, b"\r", b"z" * 25, b'{"b":2}\r', b"w" * 11]
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines) + ending)
    read = [line for _text, block in LineBlocks(path, 10, block_bytes) for line in block]
    assert read == [b'{"a":1}', b"", b"x" * 10, None, b"\r", None, b'{"b":2}\r', None]


BLOCK = [b'{"user_id":"u1","first_name":"A"}', b'{"user_id":"","first_name":"B"}', b'{"user_id":"u3"}']


@pytest.mark.parametrize("odd, read", [
    (None, [b"u1", None, b"u3"]),  # every line opens with the key: read at once
    (b'{"first_name":"C","user_id":"u4"}', [b"u1", None, b"u3", b"u4"]),
    (b'{"user_id":"u5","profile":{"user_id":"u6"}}', [b"u1", None, b"u3", NOT_READ]),
    (b'{"user_id":"u\\u0037"}', [b"u1", None, b"u3", NOT_READ]),
    (b"", [b"u1", None, b"u3", NOT_READ]),
])
def test_the_keys_of_a_block_of_lines_are_each_lines_key(odd: bytes | None, read: list[bytes | None]) -> None:
    reader = KeyReader.for_sync(warning_sync())
    assert reader is not None
    lines: list[bytes | None] = [*BLOCK] if odd is None else [*BLOCK, odd]
    assert reader.block_keys(b"\n".join(line or b"" for line in lines), lines) == read
    assert reader.keys(lines) == read


def test_a_run_whose_records_take_feed_one_by_one_still_names_them_by_input_row_in_workers() -> None:
    # options.primary_key keeps the worker off the fused loop: its records go through `feed`, with local rows too
    options = {"on_unknown_tag": "drop_and_warn", "primary_key": "first_name"}
    sync = build_sync(hc_config(catalogs=CATALOGS, options=options))
    records = audience(3_000)
    _, one = dry_outcomes(sync, records, 1)
    _, many = dry_outcomes(sync, records, 2)
    assert by_row(many) == by_row(one)
    assert {(o.row, o.primary_key) for o in many if o.status is Status.INVALID} == {
        (row, f"F{row}") for row in BAD if row <= 3_000}
