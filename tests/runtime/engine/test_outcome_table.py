"""The outcome table (`engine/outcome_table.py`): one row per record with the columns of contract 2, in
Parquet, JSON Lines and CSV, streamed; a run's outcomes joined back to its input by primary key.
"""

from __future__ import annotations

import csv
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import build_sync
from destkit.runtime.engine.outcome_table import (
    OUTCOME_COLUMNS,
    ROW_GROUP_ROWS,
    ParquetOutcomeWriter,
    open_outcome_writer,
    outcome_batch,
    outcome_file,
    outcome_schema,
)
from destkit.runtime.errors import UsageError
from destkit.runtime.outcomes import Operation, Outcome, Reason, Status
from destkit.runtime.spec.loader import parse_spec
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config
from tests.runtime.test_secret_echo import RECORDS, SECRET, SPEC, echo_app, leaks

CONTRACT = pa.schema([
    ("primary_key", pa.string()), ("row", pa.int64()), ("key", pa.string()), ("operation", pa.string()),
    ("outcome", pa.string()), ("reason", pa.string()), ("field", pa.string()), ("message", pa.string()),
    ("destination_status", pa.int32()), ("destination_code", pa.string()), ("destination_id", pa.string()),
    ("run_id", pa.string()), ("time", pa.timestamp("us", tz="UTC")),
])
WHEN = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def audience(n: int, bad: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    """`n` contacts whose primary key `customer_id` is not their row; the `bad` rows have a phone the checks refuse."""
    return [{"customer_id": f"C{1000 + i}", "user_id": f"u{i:05d}", "first_name": f"F{i}", "segments": "vip",
             "phone": "415-555-0101" if i in bad else f"+1415{i:07d}"} for i in range(1, n + 1)]


def run_into(writer: Any, records: list[dict[str, Any]], run_id: str = "run-1") -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    sync = build_sync(hc_config(options={"primary_key": "customer_id"}), base_url="http://acme.hello-charles.test",
                      transport=httpx.ASGITransport(app=app), allow_http=True)
    try:
        sync.run(records, on_outcome=writer.write, run_id=run_id)
    finally:
        writer.close()


def test_the_schema_is_exactly_the_contracts_columns_and_types() -> None:
    assert outcome_schema() == CONTRACT
    assert list(OUTCOME_COLUMNS) == CONTRACT.names


def test_a_batch_holds_one_row_per_outcome_with_every_column() -> None:
    outcomes = [
        Outcome(row=1, status=Status.REJECTED, key="u1", primary_key="C1", reason=Reason.DESTINATION_REJECTED,
                field="phone_number", destination_status=200, destination_code="invalid_phone_number",
                destination_message="bad phone", destination_id="p-1"),
        Outcome(row=0, status=Status.DELIVERED, key="u9", operation=Operation.REMOVE),
    ]
    batch = outcome_batch(outcomes, "run-7", WHEN)
    assert batch.schema == CONTRACT
    assert batch.to_pylist() == [
        {"primary_key": "C1", "row": 1, "key": "u1", "operation": None, "outcome": "rejected",
         "reason": "destination_rejected", "field": "phone_number", "message": "bad phone", "destination_status": 200,
         "destination_code": "invalid_phone_number", "destination_id": "p-1", "run_id": "run-7", "time": WHEN},
        {"primary_key": None, "row": 0, "key": "u9", "operation": "remove", "outcome": "delivered", "reason": None,
         "field": None, "message": None, "destination_status": None, "destination_code": None,
         "destination_id": None, "run_id": "run-7", "time": WHEN},
    ]


def test_a_parquet_file_has_the_contracts_schema_and_one_row_per_record(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.parquet"
    run_into(ParquetOutcomeWriter(path, "run-1"), audience(250, bad=frozenset({3, 77})))
    table = pq.read_table(path)
    assert table.schema == CONTRACT
    assert sorted(table.column("row").to_pylist()) == list(range(1, 251))
    assert set(table.column("run_id").to_pylist()) == {"run-1"}
    assert sorted(zip(table.column("outcome").to_pylist(), table.column("reason").to_pylist(), strict=True))[-2:] == [
        ("invalid", "invalid_phone"), ("invalid", "invalid_phone")]


def test_the_outcomes_join_back_to_the_input_by_primary_key(tmp_path: Path) -> None:
    records = audience(120, bad=frozenset({5, 60}))
    path = tmp_path / "outcomes.parquet"
    run_into(ParquetOutcomeWriter(path, "run-1"), records)
    source = pa.Table.from_pylist(records)
    joined = source.join(pq.read_table(path), keys="customer_id", right_keys="primary_key", join_type="inner")
    assert joined.num_rows == len(records)
    failed = joined.filter(pa.compute.equal(joined["outcome"], "invalid"))
    assert sorted(failed.column("user_id").to_pylist()) == ["u00005", "u00060"]
    assert all(key == user for key, user in zip(joined["key"].to_pylist(), joined["user_id"].to_pylist(), strict=True))


def test_parquet_rows_are_written_in_row_groups_of_at_most_ten_thousand(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.parquet"
    writer = ParquetOutcomeWriter(path, "run-1")
    for row in range(1, 25_001):
        writer.write(Outcome(row=row, status=Status.DELIVERED, key=f"u{row}", primary_key=str(row)))
    writer.close()
    meta = pq.ParquetFile(path).metadata
    assert ROW_GROUP_ROWS == 10_000
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [10_000, 10_000, 5_000]


def test_a_parquet_writer_closed_before_any_outcome_leaves_the_columns_and_no_row(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.parquet"
    ParquetOutcomeWriter(path, "run-1").close()
    table = pq.read_table(path)
    assert (table.schema, table.num_rows) == (CONTRACT, 0)


def test_the_outcome_file_is_private_to_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.parquet"
    ParquetOutcomeWriter(path, "run-1").close()
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_jsonl_file_has_every_column_on_each_line(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    run_into(open_outcome_writer(path, "run-1"), audience(3, bad=frozenset({2})))
    lines = sorted((orjson.loads(line) for line in path.read_bytes().splitlines()), key=lambda line: line["row"])
    assert [list(line) for line in lines] == [list(OUTCOME_COLUMNS)] * 3
    assert [(line["primary_key"], line["outcome"], line["reason"], line["field"]) for line in lines] == [
        ("C1001", "delivered", None, None), ("C1002", "invalid", "invalid_phone", "phone_number"),
        ("C1003", "delivered", None, None)]
    assert datetime.fromisoformat(lines[0]["time"]).tzinfo is not None


def test_a_csv_file_has_the_columns_as_its_header_and_a_row_per_record(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    run_into(open_outcome_writer(path, "run-1"), audience(3, bad=frozenset({3})))
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = sorted(reader, key=lambda r: int(r["row"]))
    assert reader.fieldnames == list(OUTCOME_COLUMNS)
    assert [(r["primary_key"], r["row"], r["key"], r["outcome"], r["reason"], r["operation"]) for r in rows] == [
        ("C1001", "1", "u00001", "delivered", "", ""), ("C1002", "2", "u00002", "delivered", "", ""),
        ("C1003", "3", "u00003", "invalid", "invalid_phone", "")]


def test_outcome_file_writes_a_runs_outcomes_from_python_and_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.parquet"
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    sync = build_sync(hc_config(options={"primary_key": "customer_id"}), base_url="http://acme.hello-charles.test",
                      transport=httpx.ASGITransport(app=app), allow_http=True)
    with outcome_file(path, run_id="nightly") as outcomes:
        result = sync.run(audience(3), on_outcome=outcomes.write, run_id="nightly")
    assert result.summary.run_id == "nightly"
    assert [(r["primary_key"], r["outcome"], r["run_id"]) for r in pq.read_table(path).to_pylist()] == [
        ("C1001", "delivered", "nightly"), ("C1002", "delivered", "nightly"), ("C1003", "delivered", "nightly")]


def test_a_file_name_without_a_known_suffix_is_a_usage_error_naming_the_suffixes(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        open_outcome_writer(tmp_path / "outcomes.xlsx", "run-1")
    assert str(caught.value) == f"cannot write outcomes to {tmp_path / 'outcomes.xlsx'}: the file must end in " \
                                ".parquet, .jsonl, .csv."


def test_parquet_without_pyarrow_is_a_usage_error_naming_the_extra(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an import of pyarrow now fails, as when it is not installed
    with pytest.raises(UsageError) as caught:
        open_outcome_writer(tmp_path / "outcomes.parquet", "run-1")
    assert "needs the optional extra: pip install 'destkit[arrow]'" in str(caught.value)
    assert caught.value.issues[0].fix == "pip install 'destkit[arrow]' (pyarrow, deltalake and duckdb)"
    assert not (tmp_path / "outcomes.parquet").exists()


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_no_form_of_an_echoed_secret_reaches_the_outcome_file(tmp_path: Path, suffix: str) -> None:
    sync = build_sync({"destination": "echo", "action": "send", "secrets": {"api_key": SECRET},
                       "mapping": {"id": "id"}, "options": {"max_attempts": 1, "primary_key": "id"}},
                      spec=parse_spec(SPEC, "echo.yaml"), base_url="http://echo.test",
                      transport=httpx.ASGITransport(app=echo_app()), allow_http=True)
    path = tmp_path / f"outcomes{suffix}"
    writer = open_outcome_writer(path, "run-1")
    sync.run(RECORDS, on_outcome=writer.write)
    writer.close()
    text = orjson.dumps(pq.read_table(path).to_pylist(), default=str).decode() if suffix == ".parquet" \
        else path.read_text(encoding="utf-8")
    assert leaks(text) == []
    assert text.count("***") >= 1
