"""Structs and lists are made record values from their children's values, a whole column at a time
(`engine.arrow_convert`): the same values as pyarrow's `to_pylist` with null struct fields left out."""

from __future__ import annotations

import datetime as dt
import gc
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from destkit.runtime.engine.arrow_convert import (
    containers_per_value,
    dict_maker,
    dicts_of,
    rows_per_conversion,
)
from destkit.runtime.engine.arrow_records import items_from_batch, iter_arrow_records, records_from_batch
from destkit.runtime.engine.items import Malformed

ATTRIBUTES = pa.struct([("plan", pa.string()), ("ltv", pa.float64()), ("tier", pa.string())])


def column(array: pa.Array) -> list[Any]:
    """The record values of one column `c` holding `array`."""
    return [r["c"] for r in records_from_batch(pa.record_batch({"c": array}))]


def test_each_row_of_a_struct_leaves_out_the_fields_null_in_that_row_only() -> None:
    rows = [{"plan": "pro", "ltv": 1.5, "tier": None}, {"plan": None, "ltv": 2.0, "tier": "gold"},
            {"plan": "free", "ltv": None, "tier": None}, {"plan": "pro", "ltv": 3.0, "tier": "gold"}]
    assert column(pa.array(rows, ATTRIBUTES)) == [
        {"plan": "pro", "ltv": 1.5}, {"ltv": 2.0, "tier": "gold"}, {"plan": "free"},
        {"plan": "pro", "ltv": 3.0, "tier": "gold"}]


def test_the_fields_of_a_struct_keep_their_order_when_one_is_left_out() -> None:
    [value] = column(pa.array([{"plan": None, "ltv": 2.0, "tier": "gold"}], ATTRIBUTES))
    assert list(value) == ["ltv", "tier"]


def test_a_null_struct_is_none_and_a_struct_of_null_fields_is_an_empty_dict() -> None:
    assert column(pa.array([None, {"plan": None, "ltv": None, "tier": None}], ATTRIBUTES)) == [None, {}]


def test_a_struct_of_no_fields_is_an_empty_dict_per_row() -> None:
    array = pa.StructArray.from_arrays([], fields=[], mask=pa.array([False, True]))
    assert column(array) == [{}, None]


def test_a_struct_field_holding_a_null_of_a_dictionary_is_left_out() -> None:
    tier = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int8()), pa.array(["gold", None]))
    array = pa.StructArray.from_arrays([pa.array(["a", "b"]), tier], names=["id", "tier"])
    assert column(array) == [{"id": "a", "tier": "gold"}, {"id": "b"}]


def test_a_struct_inside_a_struct_leaves_out_its_own_null_fields() -> None:
    type_ = pa.struct([("id", pa.string()), ("address", pa.struct([("city", pa.string()), ("zip", pa.string())]))])
    rows = [{"id": "a", "address": {"city": "Oslo", "zip": None}}, {"id": "b", "address": None}]
    assert column(pa.array(rows, type_)) == [{"id": "a", "address": {"city": "Oslo"}}, {"id": "b"}]


def test_structs_in_lists_are_dicts_without_their_null_fields() -> None:
    type_ = pa.list_(pa.struct([("kind", pa.string()), ("at", pa.date32())]))
    rows = [[{"kind": "email", "at": None}, None, {"kind": None, "at": dt.date(2026, 1, 2)}], [], None]
    assert column(pa.array(rows, type_)) == [[{"kind": "email"}, None, {"at": "2026-01-02"}], [], None]


def test_lists_in_a_struct_are_lists_with_their_items_converted() -> None:
    type_ = pa.struct([("scores", pa.list_(pa.decimal128(4, 1))), ("tags", pa.large_list(pa.string()))])
    rows = [{"scores": [Decimal("1.5"), None], "tags": ["a"]}, {"scores": None, "tags": []}]
    assert column(pa.array(rows, type_)) == [{"scores": [1.5, None], "tags": ["a"]}, {"tags": []}]


def test_a_slice_of_a_list_column_has_the_lists_of_its_own_rows() -> None:
    array = pa.array([["a"], ["b", "c"], None, ["d", "e", "f"], []], pa.list_(pa.string()))
    batch = pa.record_batch({"c": array}).slice(1, 3)
    assert [r["c"] for r in records_from_batch(batch)] == [["b", "c"], None, ["d", "e", "f"]]


def test_a_null_list_whose_offsets_span_items_is_none_and_its_items_go_nowhere() -> None:
    offsets = pa.array([0, 1, 3, 4], pa.int32())
    array = pa.ListArray.from_arrays(offsets, pa.array(["a", "b", "c", "d"]), mask=pa.array([False, True, False]))
    assert column(array) == [["a"], None, ["d"]]


def test_a_slice_of_a_struct_column_has_the_values_of_its_own_rows() -> None:
    rows = [{"plan": "a", "ltv": 1.0, "tier": None}, {"plan": None, "ltv": 2.0, "tier": "b"},
            {"plan": "c", "ltv": None, "tier": None}]
    batch = pa.record_batch({"c": pa.array(rows, ATTRIBUTES)}).slice(1, 2)
    assert [r["c"] for r in records_from_batch(batch)] == [{"ltv": 2.0, "tier": "b"}, {"plan": "c"}]


def test_a_struct_whose_field_cannot_be_converted_in_one_row_makes_only_that_row_malformed() -> None:
    type_ = pa.struct([("plan", pa.string()), ("blob", pa.binary())])
    batch = pa.record_batch({"id": ["a", "b", "c"],
                             "attrs": pa.array([{"plan": "p", "blob": b"ok"}, {"plan": "q", "blob": b"\xff"},
                                                {"plan": None, "blob": None}], type_)})
    items = items_from_batch(batch, first_row=5)
    assert items[0] == {"id": "a", "attrs": {"plan": "p", "blob": "ok"}}
    assert isinstance(items[1], Malformed)
    assert items[1].line == 6
    assert items[1].message.startswith("row 6, column 'attrs': the value cannot be read")
    assert items[2] == {"id": "c", "attrs": {}}


def test_a_list_of_structs_that_fails_in_one_row_makes_only_that_row_malformed() -> None:
    type_ = pa.list_(pa.struct([("blob", pa.binary())]))
    batch = pa.record_batch({"events": pa.array([[{"blob": b"ok"}], [{"blob": b"\xfe"}], None], type_)})
    items = items_from_batch(batch)
    assert items[0] == {"events": [{"blob": "ok"}]}
    assert isinstance(items[1], Malformed)
    assert items[1].message.startswith("row 2, column 'events'")
    assert items[2] == {"events": None}


def test_a_struct_with_two_fields_of_one_name_makes_its_rows_malformed_as_pyarrow_refuses_it() -> None:
    array = pa.StructArray.from_arrays([pa.array([1, 2]), pa.array([None, 4])], names=["a", "a"])
    items = items_from_batch(pa.record_batch({"id": ["x", "y"], "c": array}))
    assert [type(item) for item in items] == [Malformed, Malformed]
    assert isinstance(items[0], Malformed)
    assert items[0].message.startswith("row 1, column 'c': the value cannot be read (Converting to Python dictionary")


def test_column_names_that_are_not_identifiers_are_record_keys_as_they_are() -> None:
    names = ["Loyalty Tier", "it's", 'say "hi"', "back\\slash", "", "lambda", "é", "\n", "{x}"]
    batch = pa.record_batch([pa.array([i]) for i in range(len(names))], names=names)
    assert records_from_batch(batch) == [dict(zip(names, range(len(names)), strict=True))]


def test_a_later_column_of_a_name_already_seen_wins_as_in_a_dict() -> None:
    batch = pa.record_batch([pa.array([1]), pa.array([2])], names=["a", "a"])
    assert records_from_batch(batch) == [{"a": 2}]


def test_a_batch_with_thousands_of_columns_is_one_dict_per_row() -> None:
    names = [f"c{i}" for i in range(3000)]
    batch = pa.record_batch([pa.array([i, -i]) for i in range(3000)], names=names)
    assert records_from_batch(batch) == [{n: i for i, n in enumerate(names)}, {n: -i for i, n in enumerate(names)}]


def test_each_record_is_its_own_dict() -> None:
    records = dicts_of(["a"], [[1, 1]], 2)
    records[0]["a"] = 9
    assert records == [{"a": 9}, {"a": 1}]


def test_a_dict_maker_is_made_once_per_tuple_of_names() -> None:
    assert dict_maker(("x", "y")) is dict_maker(("x", "y"))
    assert dict_maker(("x", "y"))(1, 2) == {"x": 1, "y": 2}


W1_SCHEMA = pa.schema([("user_id", pa.string()), ("segments", pa.list_(pa.string())), ("attributes", ATTRIBUTES)])


def test_a_conversion_makes_no_more_containers_than_the_collectors_young_generation_holds() -> None:
    # a record dict, its attributes dict and its segments list: 700 // 3 rows
    assert rows_per_conversion(pa, W1_SCHEMA) == 233


def test_flat_rows_are_converted_up_to_700_at_once() -> None:
    assert rows_per_conversion(pa, pa.schema([("a", pa.string()), ("b", pa.int64())])) == 700


def test_rows_of_many_nested_values_are_still_converted_at_least_128_at_once() -> None:
    schema = pa.schema([(f"l{i}", pa.list_(pa.struct([("x", pa.list_(pa.int64()))]))) for i in range(20)])
    assert rows_per_conversion(pa, schema) == 128


def test_with_the_collector_off_rows_are_converted_1024_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc, "get_threshold", lambda: (0, 10, 10))
    assert rows_per_conversion(pa, W1_SCHEMA) == 1024


def test_each_value_counts_the_dicts_and_lists_it_becomes() -> None:
    type_ = pa.list_(pa.struct([("tags", pa.list_(pa.string())), ("m", pa.map_(pa.string(), pa.int64()))]))
    assert containers_per_value(pa, type_) == 1 + 1 + 1 + 1
    assert containers_per_value(pa, pa.dictionary(pa.int8(), pa.string())) == 0


def test_records_and_malformed_rows_keep_their_row_numbers_across_conversions() -> None:
    blobs = [b"\xff" if i in (232, 233, 700) else b"ok" for i in range(1000)]
    table = pa.table({"id": [str(i) for i in range(1000)], "segments": [["s"]] * 1000, "blob": blobs})
    items = list(iter_arrow_records(table))
    assert len(items) == 1000
    assert [item.line for item in items if isinstance(item, Malformed)] == [233, 234, 701]
    assert [item["id"] for item in items if not isinstance(item, Malformed)] == [
        str(i) for i in range(1000) if i not in (232, 233, 700)]


def test_a_struct_field_holding_a_null_of_a_union_is_left_out() -> None:
    union = pa.UnionArray.from_sparse(pa.array([0, 1], pa.int8()),
                                      [pa.array([1, None], pa.int64()), pa.array([None, None], pa.string())])
    array = pa.StructArray.from_arrays([pa.array(["a", "b"]), union], names=["id", "u"])
    assert column(array) == [{"id": "a", "u": 1}, {"id": "b"}]


def test_strings_numbers_and_lists_and_structs_that_are_not_null_are_read_without_pyarrow_compute(
        tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "w1.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "segments": [["s"], []],
                             "attributes": pa.array([{"plan": "p", "ltv": 1.5, "tier": None}, {"plan": None, "ltv": None, "tier": "t"}],
                                                     ATTRIBUTES)}), path)
    code = ("import sys\nfrom destkit.runtime.engine.arrow_records import read_parquet\n"
            f"records = list(read_parquet({str(path)!r}))\n"
            "print(records, 'pyarrow.compute' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ("[{'id': 'a', 'segments': ['s'], 'attributes': {'plan': 'p', 'ltv': 1.5}}, "
                           "{'id': 'b', 'segments': [], 'attributes': {'tier': 't'}}] False")
