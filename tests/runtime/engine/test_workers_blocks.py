"""A JSON Lines file over workers is routed a block at a time: a block whose every line opens with its key
(no escape, no blank line) is split between the workers by C loops, any other block line by line. Both
give every line the row, the worker and the outcome the line-by-line routing gives it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from destkit.runtime.engine import RunResult
from destkit.runtime.engine.sources import read_jsonl
from destkit.runtime.engine.worker_lines import KeyReader, split_by_key
from destkit.runtime.engine.workers import WorkerPool, worker_of
from destkit.runtime.outcomes import Outcome, Reason, Status
from tests.runtime.engine.test_workers_rows import (
    audience,
    by_row,
    dry_outcomes,
    names_by_key,
    warning_sync,
    write_jsonl,
)

ROWS = 30_000  # about 3 MiB of lines: three blocks of the parent's reads, the middle one with odd lines
ODD_LINES = {
    15_000: b'{"user_id": "u1", broken',  # not JSON: one malformed_input outcome at its row
    15_001: b"",  # blank: no row at all
    15_002: b"[1, 2]",  # JSON, not an object
    15_003: b'{"first_name": "Late", "user_id": "u6", "phone": "+14155550100"}',  # the key not first
    25_000: b'{"user_id":"","first_name":"Keyless","phone":"+14155550103"}',  # no key, in a block read at once
}


def test_a_block_is_split_between_the_workers_by_each_key_as_one_line_is_routed() -> None:
    keys = [f"u{i}".encode() if i % 10 else b"" for i in range(1, 200)]  # every tenth line without a key
    owned = split_by_key(keys, 3, 40)  # rows 41, 42, ...
    for index, mask in enumerate(owned):
        assert [row for row, mine in enumerate(mask, 41) if mine] == \
            [row for row, key in enumerate(keys, 41) if worker_of(key.decode() or None, row, 3) == index]


def test_the_keys_of_a_block_are_read_at_once_only_when_every_line_opens_with_its_key() -> None:
    reader = KeyReader.for_sync(warning_sync())
    assert reader is not None
    lines = [b'{"user_id":"u1","a":1}', b'{"user_id":"","a":2}', b'{"user_id":"u3"}']
    assert reader.leading_keys(b"\n".join(lines), 3) == [b"u1", b"", b"u3"]
    late = [*lines, b'{"a":4,"user_id":"u4"}']
    assert reader.leading_keys(b"\n".join(late), 4) is None
    assert reader.leading_keys(None, 3) is None  # a line over the limit in the block


def test_every_line_of_a_file_of_several_blocks_gets_the_outcome_of_one_process_over_workers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync = warning_sync()
    path = write_jsonl(tmp_path / "in.jsonl", audience(ROWS), ODD_LINES)
    _, one = dry_outcomes(sync, read_jsonl(path), 1)
    blocks: list[int] = []
    route_block = WorkerPool.route_block
    monkeypatch.setattr(WorkerPool, "route_block", lambda pool, lines, *rest: blocks.append(len(lines))
                        or route_block(pool, lines, *rest))
    result, many = dry_outcomes(sync, read_jsonl(path), 2)
    assert len(blocks) == 2 and sum(blocks) < ROWS  # the first and last blocks at once, the odd lines' one by one
    assert by_row(many) == by_row(one)
    assert len(many) == ROWS + len(ODD_LINES) - 1  # the blank line is no record
    assert result.summary.received == ROWS + len(ODD_LINES) - 1
    assert malformed(many) == [(15_000, "line 15000 is not valid JSON (unexpected character, expected a string key); "
                                        "fix or remove the line."),
                               (15_001, "line 15002 is a JSON array, not an object of fields; write one object per line.")]


def test_a_file_of_several_blocks_without_callbacks_counts_what_one_process_counts(tmp_path: Path) -> None:
    sync = warning_sync()
    path = write_jsonl(tmp_path / "in.jsonl", audience(ROWS), ODD_LINES)
    one = sync.dry_run(read_jsonl(path), keep_requests=False)
    many = sync.dry_run(read_jsonl(path), keep_requests=False, workers=3)
    assert dict(many.summary.counts) == dict(one.summary.counts)
    assert dict(many.summary.reasons) == dict(one.summary.reasons)
    assert many.summary.received == one.summary.received == ROWS + len(ODD_LINES) - 1


def test_records_sharing_a_key_in_a_file_of_several_blocks_go_to_one_worker_in_order(tmp_path: Path) -> None:
    sync = warning_sync()
    path = write_jsonl(tmp_path / "in.jsonl", audience(ROWS), ODD_LINES)
    alone: RunResult = sync.dry_run(read_jsonl(path), keep_requests=True)
    spread: RunResult = sync.dry_run(read_jsonl(path), keep_requests=True, workers=2)
    assert names_by_key(spread) == names_by_key(alone)


def malformed(outcomes: list[Outcome]) -> list[tuple[int, Any]]:
    return sorted((o.row, o.message) for o in outcomes if o.reason is Reason.MALFORMED_INPUT)


def test_split_by_key_uses_the_crc_of_the_key_bytes() -> None:
    assert split_by_key([b"abc"], 4, 0)[zlib.crc32(b"abc") % 4] == b"\x01"


def test_a_killed_worker_dead_letters_the_lines_of_its_blocks_by_row_and_key(tmp_path: Path) -> None:
    # every line opens with its key: the whole file is routed a block at a time, and the parent's rows and keys for
    # each line it handed out are what name a dead worker's lines
    records = audience(ROWS)
    path = write_jsonl(tmp_path / "in.jsonl", records, {})
    seen: list[Outcome] = []
    result = warning_sync().dry_run(read_jsonl(path), keep_requests=False, on_outcome=killing_at_first(seen), workers=2)
    rows = [o.row for o in seen]
    assert len(rows) == len(set(rows))  # never two outcomes for a row
    lost = [o for o in seen if o.status is Status.DEAD_LETTERED]
    assert lost and all(o.reason is Reason.UNKNOWN_DELIVERY for o in lost)
    assert all(o.key == records[o.row - 1]["user_id"] for o in lost)  # each named by its own line's row and key
    assert result.summary.aborted is not None and "worker process" in result.summary.aborted
    assert result.summary.received == len(seen)


def killing_at_first(seen: list[Outcome]) -> Callable[[Outcome], None]:
    """An outcome callback keeping every outcome in `seen`, which kills one worker (SIGKILL) at the first."""
    def keep(outcome: Outcome) -> None:
        if not seen:
            os.kill(next(child.pid for child in multiprocessing.active_children() if child.pid), signal.SIGKILL)
        seen.append(outcome)
    return keep
