"""An export that came out empty runs as one of no records, whatever its format, and a Parquet file's columns
are named as columns whether or not it has rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.cli_runs import offline_dry_run

MAPPING = "{external_reference_id: user_id, first_name: fname}"


def test_an_empty_json_lines_file_is_a_run_of_no_records_as_an_empty_csv_is(tmp_path: Path) -> None:
    for name in ("audience.jsonl", "audience.csv"):
        (tmp_path / name).write_bytes(b"")
        done = offline_dry_run(tmp_path, tmp_path / name, MAPPING)
        assert (name, done.returncode, "0 records would be sent" in done.stdout) == (name, 0, True), done.stderr


def test_json_lines_whose_every_line_is_malformed_give_a_malformed_row_each_not_a_config_error(tmp_path: Path) -> None:
    source = tmp_path / "audience.jsonl"
    source.write_text('{"user_id": "u1", \n[1, 2]\n', encoding="utf-8")
    done = offline_dry_run(tmp_path, source, MAPPING, "--report", str(tmp_path / "report.jsonl"))
    assert done.returncode == 1, done.stderr
    assert "is in no record of" not in done.stderr
    lines = (tmp_path / "report.jsonl").read_text(encoding="utf-8").splitlines()
    assert [('"row":1' in line, '"malformed_input"' in line) for line in lines] == [(True, True), (False, True)]


def test_a_column_a_parquet_file_lacks_is_not_in_its_columns_even_with_no_rows(tmp_path: Path) -> None:
    source = tmp_path / "audience.parquet"
    pq.write_table(pa.table({"user_id": pa.array([], pa.string())}), source)
    done = offline_dry_run(tmp_path, source, MAPPING)
    assert done.returncode == 2
    assert ("mapping.first_name: 'fname' is not in the columns of audience.parquet. Fix: map one of: user_id."
            in done.stderr), done.stderr
