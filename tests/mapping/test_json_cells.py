"""JSON cells (CSV exports of list and object fields) read fast and exactly as Python's json reads them.

orjson parses a cell first; anything it refuses or could read differently (a huge integer, NaN,
1e400, a lone surrogate escape) is json's to answer, so no cell reads differently than it did.
"""

from __future__ import annotations

from typing import Any

import pytest

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
