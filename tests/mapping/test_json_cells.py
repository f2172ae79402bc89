"""JSON cells (CSV exports of list and object fields) read fast and exactly as Python's json reads them.

orjson parses a cell first; anything it refuses or could read differently (a huge integer, NaN,
1e400, a lone surrogate escape) is json's to answer, so no cell reads differently than it did.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from destkit.mapping import FieldShape, RecordError, compile_mapping
from destkit.runtime import load_spec

FIELDS: dict[str, FieldShape] = {
    name: FieldShape(f.types, f.required)
    for name, f in load_spec("hello_charles").actions["send_contacts"].fields.items()
}


def properties(cell: str) -> Any:
    compiled = compile_mapping({"external_reference_id": "id", "custom_properties": "props"}, FIELDS)
    return compiled.apply({"id": "c1", "props": cell})["custom_properties"]


def test_an_integer_past_64_bits_stays_a_whole_integer() -> None:
    assert properties('{"ltv": 123456789012345678901234567890}') == {"ltv": 123456789012345678901234567890}


def test_a_float_reads_as_the_same_float() -> None:
    assert properties('{"ltv": 86.94, "tiny": 2.5e-5}') == {"ltv": 86.94, "tiny": 2.5e-5}


def test_nan_and_an_overflowing_exponent_read_as_json_reads_them() -> None:
    got = properties('{"a": NaN, "b": 1e400}')
    assert (got["a"] != got["a"], got["b"]) == (True, float("inf"))


def test_a_lone_surrogate_escape_reads_as_json_reads_it() -> None:
    assert properties('{"a": "\\ud800"}') == {"a": "\ud800"}


def test_a_cell_that_is_not_json_is_a_type_mismatch() -> None:
    with pytest.raises(RecordError) as info:
        properties('{"plan": ')
    assert (info.value.code, info.value.field) == ("type_mismatch", "custom_properties")


def test_an_integer_past_64_bits_inside_a_nested_list_stays_whole() -> None:
    cell = '{"a": {"b": [1, 2.5, 123456789012345678901234567890]}}'
    assert properties(cell) == {"a": {"b": [1, 2.5, 123456789012345678901234567890]}}


def test_a_negative_integer_just_past_64_bits_stays_whole() -> None:
    assert properties('{"a": -9223372036854775809}') == {"a": -9223372036854775809}


def test_a_float_as_large_as_an_integer_past_64_bits_stays_a_float() -> None:
    got = properties('{"a": 1e19, "b": 2.5e30}')
    assert (got, type(got["a"])) == ({"a": 1e19, "b": 2.5e30}, float)


def test_a_cell_nested_deeper_than_the_parser_can_follow_is_a_type_mismatch_naming_the_depth() -> None:
    with pytest.raises(RecordError) as info:
        properties('{"a": ' * 1100 + "1" + "}" * 1100)
    assert (info.value.code, info.value.field) == ("type_mismatch", "custom_properties")
    assert "nested over 1,000 levels deep" in str(info.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text()
    | st.integers(min_value=-(2**80), max_value=2**80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=5), json_values, min_size=1, max_size=5))
def test_every_json_object_cell_reads_exactly_as_json_reads_it(obj: dict[str, Any]) -> None:
    cell = json.dumps(obj)
    got = properties(cell)
    assert json.dumps(got) == json.dumps(json.loads(cell)) and _same_types(got, json.loads(cell))


def _same_types(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return True


def test_the_shortest_integer_past_64_bits_in_a_cell_of_its_own_stays_whole() -> None:
    compiled = compile_mapping({"external_reference_id": "id", "tags": "segments"}, FIELDS)
    assert compiled.apply({"id": "c1", "segments": "[-9223372036854775809]"})["tags"] == [-9223372036854775809]
