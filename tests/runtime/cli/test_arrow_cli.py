"""`destkit sync`, `dry-run` and `retry` read Parquet files and folders, Delta tables and DuckDB queries
(`--input-sql`, `--input-db`) as they read CSV; without the extra they say how to install it (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import deltalake
import duckdb
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import ENV, report_lines, run_cli, summary_of, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS

BAD_PHONES = frozenset({5, 9})
ROWS = 30


@pytest.fixture
def url() -> Iterator[str]:
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as served:
        yield served


@pytest.fixture
def csv_audience(tmp_path: Path) -> Path:
    return write_audience(tmp_path / "audience.csv", ROWS, bad_phone_rows=BAD_PHONES)


@pytest.fixture
def parquet_audience(csv_audience: Path) -> Path:
    """The CSV audience's rows, every column text, in a Parquet file."""
    table = pcsv.read_csv(csv_audience, convert_options=pcsv.ConvertOptions(
        column_types={"user_id": pa.string(), "first_name": pa.string(), "phone": pa.string(),
                      "segments": pa.string()}))
    path = csv_audience.with_suffix(".parquet")
    pq.write_table(table, path)
    return path


def sync(config: Path, url: str, state: Path, *inputs: str, command: str = "sync") -> Any:
    return run_cli([command, str(config), *inputs, "--base-url", url, "--allow-http", "--state", str(state),
                    "--quiet", "--report", str(state.parent / f"{command}-report.jsonl")])


def outcomes(report: Path) -> list[tuple[Any, ...]]:
    return sorted((line["row"], line["key"], line["outcome"], line.get("reason")) for line in report_lines(report))


def expected_outcomes() -> list[tuple[Any, ...]]:
    return [(row, f"u{row:05d}", "invalid", "invalid_phone") for row in sorted(BAD_PHONES)]


def test_sync_of_a_parquet_file_gives_the_report_of_the_same_rows_in_csv(
        tmp_path: Path, url: str, csv_audience: Path, parquet_audience: Path) -> None:
    config = write_config(tmp_path)
    from_csv = sync(config, url, tmp_path / "csv" / "state.db", "--input", str(csv_audience))
    from_parquet = sync(config, url, tmp_path / "pq" / "state.db", "--input", str(parquet_audience))
    assert (from_csv.returncode, from_parquet.returncode) == (1, 1), from_parquet.stderr
    csv_report, parquet_report = tmp_path / "csv" / "sync-report.jsonl", tmp_path / "pq" / "sync-report.jsonl"
    assert outcomes(parquet_report) == outcomes(csv_report) == expected_outcomes()
    assert summary_of(parquet_report)["delivered"] == ROWS - len(BAD_PHONES)


def test_sync_of_a_delta_table_folder(tmp_path: Path, url: str, parquet_audience: Path) -> None:
    table = tmp_path / "audience_delta"
    deltalake.write_deltalake(str(table), pq.read_table(parquet_audience))
    result = sync(write_config(tmp_path), url, tmp_path / "state.db", "--input", str(table))
    assert result.returncode == 1, result.stderr
    assert outcomes(tmp_path / "sync-report.jsonl") == expected_outcomes()


def test_sync_of_a_duckdb_query_over_a_parquet_file(tmp_path: Path, url: str, parquet_audience: Path) -> None:
    result = sync(write_config(tmp_path), url, tmp_path / "state.db",
                  "--input-sql", f"SELECT * FROM '{parquet_audience}' ORDER BY user_id")
    assert result.returncode == 1, result.stderr
    assert outcomes(tmp_path / "sync-report.jsonl") == expected_outcomes()


def test_dry_run_and_retry_of_a_query_over_a_duckdb_database(tmp_path: Path, url: str,
                                                            parquet_audience: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(f"CREATE TABLE audience AS SELECT * FROM '{parquet_audience}'")
    query = ["--input-sql", "SELECT * FROM audience ORDER BY user_id", "--input-db", str(database)]
    config, state = write_config(tmp_path), tmp_path / "state.db"
    dry = sync(config, url, state, *query, command="dry-run")
    assert dry.returncode == 1, dry.stderr
    assert outcomes(tmp_path / "dry-run-report.jsonl") == expected_outcomes()
    assert sync(config, url, state, *query).returncode == 1
    retried = sync(config, url, state, *query, command="retry")
    assert retried.returncode == 0, retried.stderr
    assert "Nothing to retry" in retried.stdout + retried.stderr


def test_a_mapped_column_the_parquet_file_lacks_is_a_config_error_with_a_did_you_mean(
        tmp_path: Path, url: str, parquet_audience: Path) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("first_name: first_name", "first_name: frist_name"))
    result = sync(config, url, tmp_path / "state.db", "--input", str(parquet_audience))
    assert result.returncode == 2
    assert "frist_name" in result.stderr and "first_name" in result.stderr


@pytest.mark.parametrize(("inputs", "message"), [
    (["--input", "a.csv", "--input-sql", "SELECT 1"], "not both"),
    (["--input-db", "w.duckdb"], "give the records: --input FILE"),
    (["--input-sql", "SELECT 1", "--input-db", "missing.duckdb"], "the DuckDB database missing.duckdb does not exist"),
    (["--input-sql", "SELECT * FROM no_such_table"], "the --input-sql query failed"),
])
def test_a_wrong_input_is_a_usage_error(tmp_path: Path, url: str, inputs: list[str], message: str) -> None:
    result = run_cli(["sync", str(write_config(tmp_path)), *inputs, "--base-url", url, "--allow-http",
                      "--state", str(tmp_path / "state.db"), "--quiet"], cwd=tmp_path)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())


def test_without_pyarrow_a_parquet_input_says_how_to_install_the_extra(tmp_path: Path, url: str,
                                                                       parquet_audience: Path) -> None:
    unimportable = ("import sys; sys.modules['pyarrow'] = None; sys.argv[0] = 'destkit'; "
                    "from destkit.runtime.cli.app import main; main()")
    args = ["sync", str(write_config(tmp_path)), "--input", str(parquet_audience), "--base-url", url,
            "--allow-http", "--state", str(tmp_path / "state.db"), "--quiet"]
    result = subprocess.run([sys.executable, "-c", unimportable, *args], env=ENV, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert ("reading .parquet needs the optional extra: pip install 'destkit[arrow]'"
            in " ".join(result.stderr.split()))
