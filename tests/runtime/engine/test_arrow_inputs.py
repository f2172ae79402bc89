"""Parquet files and folders, Delta tables and DuckDB queries are read as the same records as JSON Lines,
streamed in batches of at most 8,192 rows, with their columns for the mapping check and a version for resume."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import deltalake
import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from starlette.applications import Starlette

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Outcome, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine import arrow_records
from destkit.runtime.engine.arrow_records import BATCH_ROWS, folder_ref, query_ref, read_duckdb
from destkit.runtime.engine.sources import format_of, read_columns, read_records
from destkit.runtime.errors import UsageError
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config

ATTRIBUTES = pa.struct([("plan", pa.string()), ("loyalty_tier", pa.string())])
SCHEMA = pa.schema([("user_id", pa.string()), ("first_name", pa.string()), ("last_name", pa.string()),
                    ("phone", pa.string()), ("email", pa.string()), ("segments", pa.list_(pa.string())),
                    ("attributes", ATTRIBUTES)])


def audience(n: int = 40) -> list[dict[str, Any]]:
    """`n` contacts; row 7 has a phone the checks refuse and row 12 a tag the catalog lacks."""
    rows = []
    for i in range(1, n + 1):
        rows.append({"user_id": f"u{i:03d}", "first_name": f"F{i}", "last_name": None,
                     "phone": "415-555-0101" if i == 7 else f"+1415555{i:04d}", "email": f"u{i}@example.com",
                     "segments": ["no_such_tag"] if i == 12 else [TAGS[i % len(TAGS)]],
                     "attributes": {"plan": "pro", "loyalty_tier": "gold" if i % 2 else None}})
    return rows


def outcomes_of(records: Any) -> list[tuple[Any, ...]]:
    """The outcomes of a run of `records` against a fresh Hello Charles emulator on a real port."""
    app: Starlette = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    found: list[Outcome] = []
    with running_server(app) as url:
        build_sync(hc_config(), base_url=url, allow_http=True).run(records, on_outcome=found.append)
    return sorted((o.row, o.key, o.status.value, o.reason, o.field, o.message) for o in found)


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, ...]]:
    jsonl = tmp_path_factory.mktemp("jsonl") / "audience.jsonl"
    jsonl.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in audience()))
    found = outcomes_of(read_records(jsonl))
    assert [(row, status, reason) for row, _, status, reason, _, _ in found if status != "delivered"] == [
        (7, "invalid", "invalid_phone"), (12, "invalid", "unknown_tag")]
    return found


def write_parquet(path: Path, rows: list[dict[str, Any]], **options: Any) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path, **options)
    return path


def test_a_parquet_file_gives_the_outcomes_of_the_same_rows_in_jsonl(tmp_path: Path,
                                                                     expected: list[tuple[Any, ...]]) -> None:
    path = write_parquet(tmp_path / "audience.parquet", audience())
    assert format_of(path) == "parquet"
    assert outcomes_of(read_records(path)) == expected


def test_a_folder_of_parquet_files_gives_the_same_outcomes(tmp_path: Path, expected: list[tuple[Any, ...]]) -> None:
    folder = tmp_path / "audience"
    folder.mkdir()
    rows = audience()
    write_parquet(folder / "part-0.parquet", rows[:25])
    write_parquet(folder / "part-1.parquet", rows[25:])
    (folder / "_SUCCESS").write_text("")
    assert format_of(folder) == "parquet"
    assert outcomes_of(read_records(folder)) == expected


def test_a_delta_table_gives_the_same_outcomes(tmp_path: Path, expected: list[tuple[Any, ...]]) -> None:
    table = tmp_path / "audience_delta"
    deltalake.write_deltalake(str(table), pa.Table.from_pylist(audience(), schema=SCHEMA))
    assert format_of(table) == "delta"
    assert outcomes_of(read_records(table)) == expected


def test_a_duckdb_query_over_a_parquet_file_gives_the_same_outcomes(tmp_path: Path,
                                                                    expected: list[tuple[Any, ...]]) -> None:
    path = write_parquet(tmp_path / "audience.parquet", audience())
    assert outcomes_of(read_duckdb(f"SELECT * FROM '{path}' ORDER BY user_id")) == expected


def test_a_duckdb_query_over_a_database_gives_the_same_outcomes(tmp_path: Path,
                                                                expected: list[tuple[Any, ...]]) -> None:
    path = write_parquet(tmp_path / "audience.parquet", audience())
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(f"CREATE TABLE audience AS SELECT * FROM '{path}'")
    assert outcomes_of(read_duckdb("SELECT * FROM audience ORDER BY user_id", database)) == expected


def test_a_parquet_file_is_read_in_batches_of_at_most_8192_rows(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"n": pa.array(range(30_000), pa.int64())}), path, row_group_size=30_000)
    sizes: list[int] = []
    batches = arrow_records.arrow_batches

    def spy(source: Any) -> Iterator[pa.RecordBatch]:
        for batch in batches(source):
            sizes.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(arrow_records, "arrow_batches", spy)
    rows = [r["n"] for r in read_records(path) if isinstance(r, dict)]
    assert rows == list(range(30_000))
    assert max(sizes) <= BATCH_ROWS
    assert sum(sizes) == 30_000


def test_a_duckdb_query_is_read_in_batches_of_at_most_8192_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    batches = arrow_records.arrow_batches

    def spy(source: Any) -> Iterator[pa.RecordBatch]:
        for batch in batches(source):
            sizes.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(arrow_records, "arrow_batches", spy)
    assert sum(1 for _ in read_duckdb("SELECT range AS n FROM range(20000)")) == 20_000
    assert max(sizes) <= BATCH_ROWS and sum(sizes) == 20_000


def test_the_columns_of_a_parquet_file_come_from_its_schema(tmp_path: Path) -> None:
    columns = read_columns(write_parquet(tmp_path / "a.parquet", audience(1)))
    assert columns is not None
    assert columns.paths == {"user_id", "first_name", "last_name", "phone", "email", "segments", "segments.0",
                             "attributes", "attributes.plan", "attributes.loyalty_tier"}
    assert columns.exhaustive


def test_the_columns_of_a_delta_table_come_from_its_schema(tmp_path: Path) -> None:
    deltalake.write_deltalake(str(tmp_path / "t"), pa.table({"id": ["a"], "n": [1]}))
    columns = read_columns(tmp_path / "t")
    assert columns is not None and columns.paths == {"id", "n"}


def test_a_folder_version_changes_when_a_file_in_it_is_rewritten(tmp_path: Path) -> None:
    write_parquet(tmp_path / "part-0.parquet", audience(3))
    before = folder_ref(tmp_path)
    assert before.startswith(f"{tmp_path.resolve()}:")
    write_parquet(tmp_path / "part-0.parquet", audience(4))
    os.utime(tmp_path / "part-0.parquet", ns=(10**18, 10**18))
    assert folder_ref(tmp_path) != before


def test_a_query_version_is_the_query_and_the_database_file(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS n")
    ref = query_ref("SELECT * FROM t", database)
    assert ref.startswith("duckdb:") and ref == query_ref("SELECT * FROM t", database)
    assert ref != query_ref("SELECT n FROM t", database)
    assert ref != query_ref("SELECT * FROM t")
    os.utime(database, ns=(10**18, 10**18))
    assert ref != query_ref("SELECT * FROM t", database)


def test_a_failing_query_is_a_usage_error_naming_the_problem() -> None:
    with pytest.raises(UsageError, match=r"^the --input-sql query failed: .*no_such_table"):
        read_duckdb("SELECT * FROM no_such_table")


def test_a_file_that_is_not_parquet_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(UsageError, match=rf"^cannot read {bad} as Parquet"):
        read_records(bad)
