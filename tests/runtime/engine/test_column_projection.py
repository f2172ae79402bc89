"""A columnar input (Parquet, Delta, a DuckDB query) decodes only the columns a run reads: the first name of each
path the mapping reads and of the primary key (`source_columns`); a value in another column can neither fail a
record nor cost its decoding."""

from __future__ import annotations

from pathlib import Path

import deltalake
import pyarrow as pa
import pyarrow.parquet as pq

from destkit.runtime.config.source_paths import source_columns
from destkit.runtime.engine.arrow_records import projection, read_delta, read_duckdb, read_parquet
from destkit.runtime.engine.items import Malformed

NOT_UTF8 = b"\xff\xfe"


def test_the_columns_read_are_the_first_names_of_the_mapped_paths_and_the_primary_key() -> None:
    mapping = {"external_reference_id": "user_id", "first_name": {"path": "profile.first", "transform": ["trim"]},
               "custom_properties": {"tier": "attributes.tier", "plan": {"path": "plan", "default": "free"}},
               "tags": {"const": ["vip"]}}
    assert source_columns(mapping, "customer_id") == {"user_id", "profile", "attributes", "plan", "customer_id"}


def test_a_mapping_that_renders_a_template_reads_every_column() -> None:
    assert source_columns({"external_reference_id": "user_id", "first_name": {"template": "{{ fname }}"}}) is None


def test_a_template_inside_an_object_mapped_key_by_key_reads_every_column() -> None:
    assert source_columns({"custom_properties": {"tier": {"template": "{{ tier }}"}}}) is None


def test_a_mapping_that_is_not_a_mapping_of_fields_reads_every_column() -> None:
    assert source_columns(["user_id"]) is None


def test_the_projection_keeps_the_inputs_order_of_the_columns_read() -> None:
    assert projection(["a", "b", "c", "d"], {"d", "b", "zz"}) == ["b", "d"]


def test_no_column_read_or_a_column_held_twice_decodes_every_column() -> None:
    assert projection(["a", "b"], {"zz"}) is None
    assert projection(["a", "b", "a"], {"a"}) is None
    assert projection(["a", "b"], None) is None


def test_a_parquet_column_no_path_reads_is_never_decoded_so_its_bad_bytes_fail_no_record(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"user_id": ["u1", "u2"], "blob": pa.array([NOT_UTF8, b"ok"], pa.binary())}), path)
    assert list(read_parquet(path, {"user_id"})) == [{"user_id": "u1"}, {"user_id": "u2"}]
    assert isinstance(next(iter(read_parquet(path))), Malformed)  # every column read: row 1's bytes are no text


def test_a_hive_partition_column_no_path_reads_is_left_out(tmp_path: Path) -> None:
    folder = tmp_path / "audience" / "country=FR"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"user_id": ["u1"], "plan": ["pro"]}), folder / "part-0.parquet")
    assert list(read_parquet(tmp_path / "audience", {"user_id"})) == [{"user_id": "u1"}]
    assert list(read_parquet(tmp_path / "audience", {"user_id", "country"})) == [{"user_id": "u1", "country": "FR"}]


def test_a_delta_table_gives_only_the_columns_read(tmp_path: Path) -> None:
    deltalake.write_deltalake(str(tmp_path / "t"), pa.table({"user_id": ["u1"], "plan": ["pro"], "n": [1]}))
    assert list(read_delta(tmp_path / "t", {"user_id", "n"})) == [{"user_id": "u1", "n": 1}]


def test_a_query_gives_only_the_columns_read(tmp_path: Path) -> None:
    rows = read_duckdb("SELECT 'u1' AS user_id, 'pro' AS \"the plan\", 1 AS n", None, {"user_id", "the plan"})
    assert list(rows) == [{"user_id": "u1", "the plan": "pro"}]
