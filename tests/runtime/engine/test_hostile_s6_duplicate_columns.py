"""A Parquet file with two columns of one name: a mapping reading that name is a config error naming it.

Before, a record silently kept the last column's value (`fname` "A" then "Z" sent "Z"), dropping the
other without a word. A duplicated column the mapping does not read stays harmless.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from cli_runs import offline_dry_run

from destkit.runtime.config.source_paths import unknown_primary_key, unknown_source_paths
from destkit.runtime.engine.arrow_records import schema_columns


def twice_named(path: Path, name: str) -> Path:
    """A one-row Parquet file whose columns are id, `name`, first_name, `name` (values A then Z)."""
    arrays = [pa.array(["c1"]), pa.array(["A"]), pa.array(["Ada"]), pa.array(["Z"])]
    pq.write_table(pa.Table.from_arrays(arrays, names=["id", name, "first_name", name]), path)
    return path


def dry_run(tmp_path: Path, source: Path, first_name: str) -> subprocess.CompletedProcess[str]:
    return offline_dry_run(tmp_path, source, f"{{external_reference_id: id, first_name: {first_name}}}")


def test_a_schema_names_the_columns_it_has_more_than_once() -> None:
    schema = pa.schema([("id", pa.string()), ("name", pa.string()), ("name", pa.int64())])
    columns = schema_columns(schema, origin="the columns of x.parquet")
    assert columns is not None and columns.duplicates == frozenset({"name"})


def test_files_of_a_folder_sharing_a_column_do_not_make_it_a_duplicate() -> None:
    one = pa.schema([("id", pa.string()), ("name", pa.string())])
    columns = schema_columns(one, one, origin="the columns of folder")
    assert columns is not None and columns.duplicates == frozenset()


def test_a_mapped_path_into_a_duplicated_column_is_an_issue_naming_the_mapping_key() -> None:
    columns = schema_columns(pa.schema([("id", pa.string()), ("name", pa.string()), ("name", pa.string())]),
                             origin="the columns of x.parquet")
    assert columns is not None
    [issue] = unknown_source_paths({"external_reference_id": "id", "first_name": "name"}, columns)
    assert (issue.key, issue.message) == (
        "mapping.first_name", "'name' reads column 'name', named more than once in the columns of x.parquet: "
                              "a record would get only the last one's value.")
    [key_issue] = unknown_primary_key("name", columns)
    assert key_issue.key == "options.primary_key"


def test_dry_run_refuses_a_mapping_reading_a_twice_named_parquet_column(tmp_path: Path) -> None:
    done = dry_run(tmp_path, twice_named(tmp_path / "dup.parquet", "fname"), "fname")
    assert done.returncode == 2
    assert "mapping.first_name: 'fname' reads column 'fname', named more than once in the columns of dup.parquet" in done.stderr
    assert "Fix: rename the columns so that each name is used once" in done.stderr


def test_a_twice_named_column_the_mapping_does_not_read_is_harmless(tmp_path: Path) -> None:
    done = dry_run(tmp_path, twice_named(tmp_path / "dup.parquet", "unused"), "first_name")
    assert done.returncode == 0, done.stderr
