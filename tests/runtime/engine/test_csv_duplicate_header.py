"""A CSV header naming a column twice: a mapping reading that name is a config error, as for Parquet (a record
would silently keep the last column's value); a twice-named column the mapping does not read stays harmless.
And a JSON Lines line that is not an object is named in JSON's words."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cli_runs import offline_dry_run

from destkit.runtime.engine.sources import Malformed, csv_columns, read_jsonl


def dry_run(tmp_path: Path, header: str, first_name: str) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "dup.csv"
    source.write_text(f"{header}\nc1,A,Ada,Z\n", encoding="utf-8")
    return offline_dry_run(tmp_path, source, f"{{external_reference_id: id, first_name: {first_name}}}")


def test_a_csv_header_names_the_columns_it_has_more_than_once(tmp_path: Path) -> None:
    source = tmp_path / "dup.csv"
    source.write_text("id,fname,first_name,fname\nc1,A,Ada,Z\n", encoding="utf-8")
    columns = csv_columns(source, ",")
    assert columns is not None and columns.duplicates == frozenset({"fname"})


def test_dry_run_refuses_a_mapping_reading_a_twice_named_csv_column(tmp_path: Path) -> None:
    done = dry_run(tmp_path, "id,fname,first_name,fname", "fname")
    assert done.returncode == 2
    assert "mapping.first_name: 'fname' reads column 'fname', named more than once in the header of dup.csv" in done.stderr


def test_a_twice_named_csv_column_the_mapping_does_not_read_is_harmless(tmp_path: Path) -> None:
    done = dry_run(tmp_path, "id,unused,first_name,unused", "first_name")
    assert done.returncode == 0, done.stderr


def test_a_json_lines_line_holding_null_is_named_a_json_null(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'null\n"text"\n7\n')
    assert list(read_jsonl(path)) == [
        Malformed(1, "line 1 is a JSON null, not an object of fields; write one object per line."),
        Malformed(2, "line 2 is a JSON string, not an object of fields; write one object per line."),
        Malformed(3, "line 3 is a JSON number, not an object of fields; write one object per line."),
    ]
