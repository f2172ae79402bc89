"""A Parquet folder partitioned Hive-style (`country=FR/part-0.parquet`, as Spark and pyarrow write one) gives
each record its folders' `name=value` pairs as text columns, and the mapping check knows those columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from destkit.runtime.engine.hive_partitions import HIVE_NULL, partition_names, partition_values
from destkit.runtime.engine.items import Malformed
from destkit.runtime.engine.sources import read_columns, read_records

ROWS = [{"user_id": "u1", "country": "FR", "tier": "gold"}, {"user_id": "u2", "country": "DE", "tier": "gold"},
        {"user_id": "u3", "country": "FR", "tier": "silver"}]


def partitioned(root: Path, columns: list[str]) -> Path:
    """ROWS written by pyarrow's own Hive-style writer, partitioned by `columns`."""
    pq.write_to_dataset(pa.Table.from_pylist(ROWS), str(root), partition_cols=columns)
    return root


def records(path: Path) -> list[Any]:
    found = list(read_records(path))
    assert not any(isinstance(item, Malformed) for item in found)
    return found


def by_user(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(found, key=lambda r: r["user_id"])


def test_a_partition_folder_value_is_a_column_of_each_record(tmp_path: Path) -> None:
    root = partitioned(tmp_path / "audience", ["country"])
    assert by_user(records(root)) == [{"user_id": "u1", "tier": "gold", "country": "FR"},
                                      {"user_id": "u2", "tier": "gold", "country": "DE"},
                                      {"user_id": "u3", "tier": "silver", "country": "FR"}]


def test_two_partition_levels_give_two_columns(tmp_path: Path) -> None:
    root = partitioned(tmp_path / "audience", ["country", "tier"])
    assert by_user(records(root)) == [{"user_id": "u1", "country": "FR", "tier": "gold"},
                                      {"user_id": "u2", "country": "DE", "tier": "gold"},
                                      {"user_id": "u3", "country": "FR", "tier": "silver"}]


def test_the_mapping_check_knows_the_partition_columns(tmp_path: Path) -> None:
    root = partitioned(tmp_path / "audience", ["country"])
    columns = read_columns(root)
    assert columns is not None
    assert {"user_id", "tier", "country"} <= set(columns.paths)


def test_a_partition_value_is_url_decoded(tmp_path: Path) -> None:
    assert partition_values(tmp_path, tmp_path / "city=S%C3%A3o%20Paulo" / "part-0.parquet") == {"city": "São Paulo"}


def test_hives_null_partition_is_a_null_value(tmp_path: Path) -> None:
    folder = tmp_path / "audience" / f"country={HIVE_NULL}"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([{"user_id": "u9"}]), folder / "part-0.parquet")
    assert records(tmp_path / "audience") == [{"user_id": "u9", "country": None}]


def test_a_column_the_file_holds_wins_over_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "audience" / "country=FR"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([{"user_id": "u1", "country": "DE"}]), folder / "part-0.parquet")
    assert records(tmp_path / "audience") == [{"user_id": "u1", "country": "DE"}]


def test_folders_without_an_equals_sign_add_no_column(tmp_path: Path) -> None:
    assert partition_values(tmp_path, tmp_path / "2026" / "12" / "part-0.parquet") == {}


def test_a_single_file_has_no_partition_columns(tmp_path: Path) -> None:
    file = tmp_path / "country=FR.parquet"
    pq.write_table(pa.Table.from_pylist([{"user_id": "u1"}]), file)
    assert records(file) == [{"user_id": "u1"}]
    assert partition_names(file, [file]) == []
