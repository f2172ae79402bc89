"""Arrow values become record values the checks and orjson take, a column at a time (`engine.arrow_records`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pytest

from destkit.runtime.engine.arrow_records import (
    BATCH_ROWS,
    arrow_aware,
    items_from_batch,
    iter_arrow_records,
    records_from_batch,
    schema_columns,
)
from destkit.runtime.engine.items import Malformed
from destkit.runtime.errors import UsageError

BERLIN = dt.timezone(dt.timedelta(hours=2))


def one(values: list[Any], type_: pa.DataType) -> list[Any]:
    """The record values of one column `c` holding `values` of `type_`."""
    batch = pa.record_batch({"c": pa.array(values, type_)})
    return [r["c"] for r in records_from_batch(batch)]


def test_a_decimal_of_scale_zero_is_an_int() -> None:
    assert one([Decimal(42), None], pa.decimal128(10, 0)) == [42, None]


def test_a_decimal_of_scale_zero_wider_than_int64_is_still_an_exact_int() -> None:
    assert one([Decimal(10) ** 30], pa.decimal128(38, 0)) == [10**30]


def test_a_decimal_with_a_scale_is_a_float() -> None:
    assert one([Decimal("19.99"), Decimal("7.00")], pa.decimal128(10, 2)) == [19.99, 7.0]


def test_a_date_is_year_month_day_text() -> None:
    assert one([dt.date(2026, 5, 1), None], pa.date32()) == ["2026-05-01", None]


def test_a_timestamp_with_a_zone_is_iso_8601_in_utc_with_its_offset() -> None:
    values = [dt.datetime(2026, 5, 1, 14, 0, tzinfo=BERLIN), dt.datetime(2026, 5, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)]
    assert one(values, pa.timestamp("us", "Europe/Berlin")) == ["2026-05-01T12:00:00+00:00",
                                                                "2026-05-01T12:00:00.250000+00:00"]


def test_a_naive_timestamp_is_iso_8601_without_an_offset() -> None:
    assert one([dt.datetime(2026, 5, 1, 12, 0, 5)], pa.timestamp("ns")) == ["2026-05-01T12:00:05"]


def test_a_list_is_a_list_with_its_items_converted() -> None:
    assert one([[Decimal("1.5"), None], [], None], pa.list_(pa.decimal128(4, 1))) == [[1.5, None], [], None]


def test_a_list_of_structs_is_a_list_of_dicts() -> None:
    type_ = pa.list_(pa.struct([("kind", pa.string()), ("at", pa.date32())]))
    assert one([[{"kind": "email", "at": dt.date(2026, 1, 2)}, {"kind": "sms", "at": None}]], type_) == [
        [{"kind": "email", "at": "2026-01-02"}, {"kind": "sms"}]]


def test_a_large_list_is_a_list() -> None:
    assert one([["a", "b"]], pa.large_list(pa.string())) == [["a", "b"]]


def test_a_struct_is_a_dict_with_its_fields_converted() -> None:
    type_ = pa.struct([("plan", pa.string()), ("since", pa.date32())])
    assert one([{"plan": "pro", "since": dt.date(2020, 1, 31)}, None], type_) == [
        {"plan": "pro", "since": "2020-01-31"}, None]


def test_a_null_field_of_a_struct_is_left_out_as_an_absent_key() -> None:
    type_ = pa.struct([("plan", pa.string()), ("tier", pa.string())])
    assert one([{"plan": "pro", "tier": None}], type_) == [{"plan": "pro"}]


def test_a_map_is_a_dict() -> None:
    assert one([[("tier", Decimal(3))], []], pa.map_(pa.string(), pa.decimal128(3, 0))) == [{"tier": 3}, {}]


def test_a_null_is_none_in_every_type() -> None:
    batch = pa.record_batch({"s": pa.array([None], pa.string()), "i": pa.array([None], pa.int64()),
                             "n": pa.array([None], pa.null())})
    assert records_from_batch(batch) == [{"s": None, "i": None, "n": None}]


def test_dictionary_encoded_text_is_text() -> None:
    assert one(["a", "b", "a"], pa.dictionary(pa.int8(), pa.string())) == ["a", "b", "a"]


def test_every_converted_record_serializes_with_orjson() -> None:
    batch = pa.record_batch({"d": pa.array([Decimal("1.25")], pa.decimal128(5, 2)),
                             "t": pa.array([dt.datetime(2026, 5, 1, tzinfo=dt.UTC)], pa.timestamp("ms", "UTC"))})
    assert orjson.loads(orjson.dumps(records_from_batch(batch))) == [{"d": 1.25, "t": "2026-05-01T00:00:00+00:00"}]


def test_a_row_whose_value_cannot_be_converted_is_malformed_naming_the_row_and_column() -> None:
    batch = pa.record_batch({"id": ["a", "b", "c"], "blob": pa.array([b"ok", b"\xff\xfe", None])})
    items = items_from_batch(batch, first_row=11)
    assert items[0] == {"id": "a", "blob": "ok"}
    assert isinstance(items[1], Malformed)
    assert items[1].line == 12
    assert items[1].message.startswith("row 12, column 'blob': the value cannot be read")
    assert items[2] == {"id": "c", "blob": None}


def test_records_from_batch_raises_a_usage_error_for_a_row_it_cannot_convert() -> None:
    batch = pa.record_batch({"blob": pa.array([b"\xff"])})
    with pytest.raises(UsageError, match=r"^row 1, column 'blob'"):
        records_from_batch(batch)


def test_a_table_a_batch_a_reader_and_a_list_of_batches_give_the_same_records() -> None:
    table = pa.table({"id": [1, 2, 3], "name": ["a", "b", None]})
    expected = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": None}]
    assert list(iter_arrow_records(table)) == expected
    assert list(iter_arrow_records(table.to_batches()[0])) == expected
    assert list(iter_arrow_records(table.to_reader())) == expected
    assert list(iter_arrow_records(table.to_batches(max_chunksize=2))) == expected


def test_a_big_batch_is_read_in_slices_of_at_most_8192_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    from destkit.runtime.engine import arrow_records

    seen: list[int] = []
    batches = arrow_records.arrow_batches

    def spy(source: Any) -> Iterator[pa.RecordBatch]:
        for batch in batches(source):
            seen.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(arrow_records, "arrow_batches", spy)
    rows = list(iter_arrow_records(pa.record_batch({"n": list(range(20_000))})))
    assert seen == [BATCH_ROWS, BATCH_ROWS, 20_000 - 2 * BATCH_ROWS]
    assert [r["n"] for r in rows] == list(range(20_000))


def test_an_iterable_of_something_else_than_batches_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"holds a dict, not a pyarrow\.RecordBatch"):
        list(iter_arrow_records(iter([{"a": 1}])))


def test_arrow_aware_reads_arrow_data_and_leaves_dict_records_as_they_are() -> None:
    dicts = [{"a": 1}]
    assert arrow_aware(dicts) is dicts
    assert list(arrow_aware(iter(dicts))) == dicts
    assert list(arrow_aware(pa.table({"a": [1]}))) == dicts
    assert list(arrow_aware(b for b in pa.table({"a": [1]}).to_batches())) == dicts


def test_the_columns_of_a_schema_name_struct_fields_as_dotted_paths_and_list_items_as_0() -> None:
    schema = pa.schema([("id", pa.string()),
                        ("attributes", pa.struct([("plan", pa.string()), ("tier", pa.int8())])),
                        ("identities", pa.list_(pa.struct([("kind", pa.string())])))])
    columns = schema_columns(schema, origin="the columns of x.parquet")
    assert columns is not None
    assert columns.paths == {"id", "attributes", "attributes.plan", "attributes.tier", "identities",
                             "identities.0", "identities.0.kind"}
    assert columns.exhaustive and not columns.flat
    assert columns.has("identities.3.kind") and not columns.has("attributes.tierr")


def test_a_schema_with_a_map_column_offers_no_columns_to_check() -> None:
    assert schema_columns(pa.schema([("m", pa.map_(pa.string(), pa.string()))]), origin="x") is None
