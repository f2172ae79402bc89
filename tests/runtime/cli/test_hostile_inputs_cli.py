"""Hostile warehouse input through `destkit dry-run` and `destkit sync`: a damaged Parquet file gives each row
one outcome (no crash), a `--input-sql` that is no query is refused before it runs, and `--outcomes` may not
overwrite the input or another output of the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import deltalake
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine.report import summary_path_of
from tests.cli_runs import report_lines, run_cli, summary_of, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS
from tests.runtime.engine.test_hostile_parquet import corrupt_row_group

ROWS = 30


@pytest.fixture
def url() -> Iterator[str]:
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as served:
        yield served


def write_contacts(path: Path, rows: int = ROWS, group_rows: int = 10) -> Path:
    pq.write_table(pa.table({
        "user_id": [f"u{row:05d}" for row in range(1, rows + 1)],
        "first_name": [f"F{row}" for row in range(1, rows + 1)],
        "phone": [f"+1415{row:07d}" for row in range(1, rows + 1)],
        "segments": [TAGS[row % len(TAGS)] for row in range(1, rows + 1)],
    }), path, row_group_size=group_rows)
    return path


def dry_run(tmp_path: Path, url: str, *more: str) -> tuple[int, str]:
    result = run_cli(["dry-run", str(write_config(tmp_path)), "--base-url", url, "--allow-http", "--quiet",
                      "--state", str(tmp_path / "state.db"), *more], cwd=tmp_path)
    return result.returncode, " ".join(result.stderr.split())


def test_a_parquet_row_group_that_cannot_be_decoded_gives_each_of_its_rows_an_invalid_outcome(
        tmp_path: Path, url: str) -> None:
    audience = write_contacts(tmp_path / "audience.parquet")
    corrupt_row_group(audience, 1)
    code, stderr = dry_run(tmp_path, url, "--input", str(audience), "--report", str(tmp_path / "report.jsonl"))
    assert code == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    lines = [line for line in report_lines(tmp_path / "report.jsonl") if "row" in line]
    assert sorted((line["row"], line["outcome"], line["reason"]) for line in lines) == [
        (row, "invalid", "malformed_input") for row in range(11, 21)]
    assert lines[0]["message"].startswith(f"row {lines[0]['row']}: row group 1 of audience.parquet cannot be decoded")


def test_a_sync_over_a_damaged_row_group_delivers_the_other_rows(tmp_path: Path, url: str) -> None:
    audience = write_contacts(tmp_path / "audience.parquet")
    corrupt_row_group(audience, 1)
    result = run_cli(["sync", str(write_config(tmp_path)), "--input", str(audience), "--base-url", url,
                      "--allow-http", "--quiet", "--state", str(tmp_path / "state.db"),
                      "--report", str(tmp_path / "report.jsonl")], cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    summary = summary_of(tmp_path / "report.jsonl")
    assert (summary["delivered"], summary["invalid"]) == (20, 10)


@pytest.mark.parametrize(("statement", "kind"), [
    ("COPY (SELECT 1) TO '{folder}/copied.csv'", "COPY"),
    ("ATTACH '{folder}/other.duckdb'", "ATTACH"),
    ("CREATE TABLE t AS SELECT 1 AS a", "CREATE"),
    ("SELECT 1; SET threads = 1", "SET"),
])
def test_an_input_sql_that_does_not_end_with_a_query_is_refused_before_it_runs(
        tmp_path: Path, url: str, statement: str, kind: str) -> None:
    code, stderr = dry_run(tmp_path, url, "--input-sql", statement.format(folder=tmp_path))
    assert code == 2
    assert (f"the --input-sql query ends with a {kind} statement, which returns no records; destkit reads the rows "
            "its last statement returns.") in stderr
    assert not (tmp_path / "copied.csv").exists() and not (tmp_path / "other.duckdb").exists()


def test_an_input_sql_that_fails_while_its_rows_stream_is_exit_2_naming_the_query_error(tmp_path: Path,
                                                                                       url: str) -> None:
    query = ("SELECT 'u' || i AS user_id, CAST(CASE WHEN i = 15000 THEN 'x' ELSE i::VARCHAR END AS INTEGER)::VARCHAR "
             "AS first_name, '+1415' || lpad(i::VARCHAR, 7, '0') AS phone, 'vip' AS segments FROM range(20000) t(i)")
    code, stderr = dry_run(tmp_path, url, "--input-sql", query)
    assert code == 2
    assert "the --input-sql query failed after" in stderr
    assert "Conversion Error: Could not convert string 'x' to INT32" in stderr
    assert "cannot read the --input-sql query or write" not in stderr


def test_a_query_column_the_mapping_does_not_read_is_never_computed(tmp_path: Path, url: str) -> None:
    query = ("SELECT 'u' || i AS user_id, 'F' AS first_name, '+1415' || lpad(i::VARCHAR, 7, '0') AS phone, "
             "'vip' AS segments, CAST(CASE WHEN i = 15000 THEN 'x' ELSE i::VARCHAR END AS INTEGER) AS unmapped "
             "FROM range(20000) t(i)")
    code, stderr = dry_run(tmp_path, url, "--input-sql", query)
    assert code == 0, stderr


def test_a_parquet_column_the_mapping_does_not_read_fails_no_row_whatever_it_holds(tmp_path: Path, url: str) -> None:
    table = pq.read_table(write_contacts(tmp_path / "a.parquet"))
    blobs = pa.array([b"\xff\xfe"] * ROWS, pa.binary())  # no text: a row reading it would be malformed
    pq.write_table(table.append_column("blob", blobs), tmp_path / "a.parquet")
    code, stderr = dry_run(tmp_path, url, "--input", str(tmp_path / "a.parquet"))
    assert code == 0, stderr


def test_an_input_sql_of_only_a_comment_is_an_empty_query(tmp_path: Path, url: str) -> None:
    code, stderr = dry_run(tmp_path, url, "--input-sql", "-- nothing here")
    assert code == 2
    assert "the --input-sql query is empty." in stderr


def test_settings_before_the_select_of_an_input_sql_are_run(tmp_path: Path, url: str) -> None:
    audience = write_contacts(tmp_path / "audience.parquet")
    code, stderr = dry_run(tmp_path, url, "--input-sql", f"SET threads = 1; SELECT * FROM '{audience}'")
    assert code == 0, stderr


def test_outcomes_at_the_input_path_are_refused_naming_the_outcomes_option(tmp_path: Path, url: str) -> None:
    audience = write_contacts(tmp_path / "audience.parquet")
    code, stderr = dry_run(tmp_path, url, "--input", str(audience), "--outcomes", str(audience))
    assert code == 2
    assert (f"the --outcomes path {audience} is the input; writing it would destroy it. "
            "Choose another --outcomes.") in stderr
    assert pq.read_table(audience).num_rows == ROWS


@pytest.mark.parametrize("other", ["--report", "--html-report"])
def test_outcomes_at_the_path_of_another_output_are_refused(tmp_path: Path, url: str, other: str) -> None:
    audience = write_contacts(tmp_path / "audience.parquet")
    both = tmp_path / "out.jsonl"
    code, stderr = dry_run(tmp_path, url, "--input", str(audience), other, str(both), "--outcomes", str(both))
    assert code == 2
    assert f"--outcomes {both} and {other} {both} are one file; give each its own path." in stderr
    assert not both.exists()


def test_outcomes_at_the_summary_path_of_the_report_are_refused(tmp_path: Path, url: str) -> None:
    audience = write_contacts(tmp_path / "audience.parquet")
    report = tmp_path / "report.jsonl"
    summary = summary_path_of(report)
    code, stderr = dry_run(tmp_path, url, "--input", str(audience), "--report", str(report), "--outcomes",
                           str(summary))
    assert code == 2
    assert f"--outcomes {summary} and the summary of --report {summary} are one file" in stderr


def test_an_input_db_that_is_no_duckdb_database_is_exit_2_naming_it(tmp_path: Path, url: str) -> None:
    junk = tmp_path / "warehouse.duckdb"
    junk.write_text("not a database", encoding="utf-8")
    code, stderr = dry_run(tmp_path, url, "--input-sql", "SELECT 1", "--input-db", str(junk))
    assert code == 2
    assert f"cannot open {junk} as a DuckDB database (IO Error: The file" in stderr
    assert "internal error" not in stderr


def test_an_input_db_another_process_is_writing_is_exit_2_naming_the_lock(tmp_path: Path, url: str) -> None:
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as writer:
        writer.execute("CREATE TABLE audience AS SELECT 'u1' AS user_id")
        code, stderr = dry_run(tmp_path, url, "--input-sql", "SELECT * FROM audience", "--input-db", str(database))
    assert code == 2
    assert f"cannot open {database} as a DuckDB database (IO Error: Could not set lock on file" in stderr


def test_a_delta_table_whose_data_file_is_gone_stops_the_sync_with_exit_2_naming_the_file(
        tmp_path: Path, url: str) -> None:
    table = tmp_path / "audience_delta"
    deltalake.write_deltalake(str(table), pq.read_table(write_contacts(tmp_path / "audience.parquet")))
    [data_file] = list(table.glob("*.parquet"))
    data_file.unlink()
    result = run_cli(["sync", str(write_config(tmp_path)), "--input", str(table), "--base-url", url, "--allow-http",
                      "--state", str(tmp_path / "state.db")], cwd=tmp_path)
    stderr = " ".join(result.stderr.split())
    assert result.returncode == 2
    assert f"a data file of the Delta table {table} cannot be read: Object at location {data_file} not found " \
           "Fix: restore the file (or repair the table with deltalake), then run again." in stderr
    assert "Traceback" not in stderr
    assert "\x1b[" not in result.stderr  # deltalake's colour codes are left out


def test_a_mapping_of_a_parquet_column_whose_name_holds_a_dot_is_refused_saying_why(tmp_path: Path, url: str) -> None:
    table = pq.read_table(write_contacts(tmp_path / "contacts.parquet")).rename_columns(
        ["user_id", "name.first", "phone", "segments"])
    pq.write_table(table, tmp_path / "audience.parquet")
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("first_name: first_name", "first_name: name.first"))
    result = run_cli(["dry-run", str(config), "--input", str(tmp_path / "audience.parquet"), "--base-url", url,
                      "--allow-http", "--quiet"], cwd=tmp_path)
    assert result.returncode == 2  # before: every record was sent without its first name
    assert ("mapping.first_name: 'name.first' is not in the columns of audience.parquet (whose "
            "'name.first' no mapping can name, as a source path splits on dots and brackets: rename the column, "
            "e.g. in --input-sql)") in " ".join(result.stderr.split())


def test_a_mapping_of_a_json_field_whose_name_holds_a_dot_is_refused_saying_why(tmp_path: Path, url: str) -> None:
    audience = tmp_path / "audience.jsonl"
    audience.write_text('{"user_id": "u1", "name.first": "Ann", "phone": "+14155550101", "segments": "vip"}\n',
                        encoding="utf-8")
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("first_name: first_name", "first_name: name.first"))
    result = run_cli(["dry-run", str(config), "--input", str(audience), "--base-url", url, "--allow-http", "--quiet"],
                     cwd=tmp_path)
    assert result.returncode == 2  # before: the record was sent without its first name
    assert ("mapping.first_name: 'name.first' is in no record of audience.jsonl (whose 'name.first' no mapping can "
            "name, as a source path splits on dots and brackets: rename the field)") in " ".join(result.stderr.split())


def test_an_input_sql_returning_a_uhugeint_is_refused_as_duckdb_would_hand_it_over_negative(
        tmp_path: Path, url: str) -> None:
    query = "SELECT 'u1' AS user_id, 340282366920938463463374607431768211455::UHUGEINT AS score"
    code, stderr = dry_run(tmp_path, url, "--input-sql", query)
    assert code == 2
    assert ("the --input-sql query returns 'score' as UHUGEINT, which DuckDB hands over as a signed 128-bit decimal "
            "(values from 2^127 come out negative).") in stderr
