"""Hostile `options.primary_key` values: an outcome's primary key is joinable text or absent, never a Python repr.

A struct key is compact JSON, a list too, bytes are hex, a timestamp ISO 8601, a bool `true`/`false`; NaN is
no key. The fused loop (a list of records) and the record-by-record path (an async stream) agree, and a
Parquet struct column gives the same text in `--outcomes out.parquet`.
"""

from __future__ import annotations

import datetime
import decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_runs import offline_dry_run

from destkit.runtime import Outcome
from destkit.runtime.engine.primary_key import primary_key_reader, primary_key_text
from tests.runtime.engine.test_primary_key_fused_loop import listed_run, streamed_run
from tests.runtime.record.test_batch_loop import contact, make_sync

HOSTILE_KEYS: list[tuple[Any, str | None]] = [
    ({"a": 1, "b": "x"}, '{"a":1,"b":"x"}'),
    ([1, 2], "[1,2]"),
    (b"\xff\x00", "ff00"),
    (True, "true"),
    (False, "false"),
    (datetime.datetime(2020, 1, 2, 3, 4, 5), "2020-01-02T03:04:05"),
    (datetime.date(2020, 1, 2), "2020-01-02"),
    (decimal.Decimal("1.10"), "1.10"),
    (float("nan"), None),
    (float("inf"), None),
    (b"", None),
    (7, "7"),
    ("c-1", "c-1"),
    ("", None),
]


@pytest.mark.parametrize(("value", "text"), HOSTILE_KEYS)
def test_a_primary_key_value_reads_as_joinable_text_or_none(value: Any, text: str | None) -> None:
    assert primary_key_text(value) == text


@pytest.mark.parametrize(("value", "text"), HOSTILE_KEYS)
def test_the_primary_key_reader_writes_each_kind_of_value_as_primary_key_text(value: Any, text: str | None) -> None:
    reader = primary_key_reader("pk")
    assert reader is not None
    assert reader({"pk": value}) == text


def keyed_records() -> list[dict[str, Any]]:
    return [contact(i, pk=value) for i, (value, _) in enumerate(HOSTILE_KEYS)]


def test_a_fused_loop_run_carries_each_hostile_primary_key_as_joinable_text() -> None:
    outcomes = listed_run(make_sync(primary_key="pk"), keyed_records())
    assert [o.primary_key for o in outcomes] == [text for _, text in HOSTILE_KEYS]


def test_a_streamed_run_carries_the_same_primary_key_text_as_the_fused_loop() -> None:
    sync = make_sync(primary_key="pk")
    streamed: list[Outcome] = streamed_run(sync, keyed_records())
    assert [o.primary_key for o in streamed] == [text for _, text in HOSTILE_KEYS]


def test_a_refused_records_destination_key_is_json_not_a_python_repr() -> None:
    outcomes = listed_run(make_sync(), [contact(1, id={"crm": 7})])
    assert [(o.status, o.reason, o.key) for o in outcomes] == [("invalid", "type_mismatch", '{"crm":7}')]


def test_a_parquet_struct_primary_key_is_json_in_the_outcomes_parquet(tmp_path: Path) -> None:
    source = tmp_path / "audience.parquet"
    pq.write_table(pa.table({
        "id": ["c1", "c2"], "name": ["Ada", "Bo"],
        "pk": pa.array([{"crm": 1, "shop": "eu"}, None], pa.struct([("crm", pa.int64()), ("shop", pa.string())])),
    }), source)
    outcomes = tmp_path / "outcomes.parquet"
    done = offline_dry_run(tmp_path, source, "{external_reference_id: id, first_name: name}", "--outcomes",
                           str(outcomes), options="{primary_key: pk}")
    assert done.returncode == 0, done.stderr
    table = pq.read_table(outcomes).sort_by("row")
    assert table.column("primary_key").to_pylist() == ['{"crm":1,"shop":"eu"}', None]


def test_a_struct_found_on_a_nested_primary_key_path_is_json_too() -> None:
    outcomes = listed_run(make_sync(primary_key="meta.crm"), [contact(1, meta={"crm": {"n": 1}})])
    assert [o.primary_key for o in outcomes] == ['{"n":1}']
