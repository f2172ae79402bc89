"""Parquet input a warehouse export can hand over damaged or in types the checks do not take: each row still
gets one item, a record or a `Malformed` naming its row (and the column or the row group), and the read goes on."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from destkit.runtime.engine.arrow_records import items_from_batch, read_parquet
from destkit.runtime.engine.items import Malformed


def write_ids(path: Path, rows: int = 30, group_rows: int = 10) -> Path:
    pq.write_table(pa.table({"id": [f"id{i:04d}" for i in range(1, rows + 1)]}), path, row_group_size=group_rows)
    return path


def corrupt_row_group(path: Path, group: int) -> None:
    """Overwrite the pages of one row group's column (its footer stays readable)."""
    column = pq.ParquetFile(path).metadata.row_group(group).column(0)
    start = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start:start + column.total_compressed_size] = b"\x55" * column.total_compressed_size
    path.write_bytes(bytes(data))


def test_each_row_of_a_row_group_that_cannot_be_decoded_is_malformed_naming_its_row_and_the_group(
        tmp_path: Path) -> None:
    path = write_ids(tmp_path / "audience.parquet")
    corrupt_row_group(path, 1)
    items = list(read_parquet(path))
    assert len(items) == 30
    bad = [item for item in items if isinstance(item, Malformed)]
    assert [item.line for item in bad] == list(range(11, 21))
    assert bad[0].message.startswith("row 11: row group 1 of audience.parquet cannot be decoded (")
    assert bad[0].message.endswith("); re-export the file, or remove it from the input.")


def test_the_row_groups_around_an_undecodable_one_are_read_as_records(tmp_path: Path) -> None:
    path = write_ids(tmp_path / "audience.parquet")
    corrupt_row_group(path, 1)
    records = [item for item in read_parquet(path) if not isinstance(item, Malformed)]
    assert [r["id"] for r in records] == [f"id{i:04d}" for i in (*range(1, 11), *range(21, 31))]


def test_a_fixed_size_binary_value_is_its_utf8_text() -> None:
    batch = pa.record_batch({"hash": pa.array([b"abcd", None], pa.binary(4))})
    assert items_from_batch(batch) == [{"hash": "abcd"}, {"hash": None}]


def test_a_fixed_size_binary_value_that_is_not_utf8_makes_its_row_malformed_naming_the_column() -> None:
    batch = pa.record_batch({"hash": pa.array([b"abcd", b"\xff\x00\x01\x02"], pa.binary(4))})
    assert items_from_batch(batch) == [{"hash": "abcd"}, Malformed(2, (
        "row 2, column 'hash': the value cannot be read (Invalid UTF8 payload); fix the value or cast the column."))]


def test_a_timestamp_beyond_the_year_9999_makes_its_row_malformed_naming_the_column() -> None:
    batch = pa.record_batch({"seen": pa.array([0, 10**14], pa.timestamp("s"))})
    assert items_from_batch(batch) == [{"seen": "1970-01-01T00:00:00"}, Malformed(2, (
        "row 2, column 'seen': the value cannot be read (a date outside the years 1-9999); "
        "fix the value or cast the column."))]


def test_a_date_before_the_year_1_makes_its_row_malformed_naming_the_column() -> None:
    batch = pa.record_batch({"born": pa.array([-719_163, -719_162], pa.date32())})
    assert items_from_batch(batch) == [Malformed(1, (
        "row 1, column 'born': the value cannot be read (a date outside the years 1-9999); "
        "fix the value or cast the column.")), {"born": "0001-01-01"}]


def test_the_last_instant_of_the_year_9999_is_still_a_timestamp() -> None:
    batch = pa.record_batch({"seen": pa.array([253_402_300_799_999_999], pa.timestamp("us", "UTC"))})
    assert items_from_batch(batch) == [{"seen": "9999-12-31T23:59:59.999999+00:00"}]


def test_a_map_entry_whose_value_is_null_is_left_out_as_a_null_struct_field_is() -> None:
    maps = pa.array([[(1, None), (2, "x")], [(3, None)]], pa.map_(pa.int64(), pa.string()))
    assert items_from_batch(pa.record_batch({"traits": maps})) == [{"traits": {"2": "x"}}, {"traits": {}}]
