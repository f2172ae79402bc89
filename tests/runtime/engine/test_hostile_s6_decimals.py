"""A Parquet/Arrow decimal a float would change is one malformed row naming it, never a silently rounded number.

decimal(38,10) 12345678901234567890.1234567891 was sent as 1.2345678901234567e+19. A decimal with a scale is
sent as a float; when the float is not the decimal at its scale, that row is `malformed_input` with the
value, what it would become and the fix, and the other rows of the column are read as before.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from destkit.runtime.engine.arrow_records import items_from_batch
from destkit.runtime.engine.items import Malformed

WIDE = pa.decimal128(38, 10)


def column_items(values: list[Decimal | None], type_: pa.DataType = WIDE) -> list[object]:
    return items_from_batch(pa.record_batch({"id": [f"r{i}" for i in range(len(values))],
                                             "amount": pa.array(values, type_)}), first_row=1)


def test_a_wide_decimal_a_float_keeps_is_still_that_float() -> None:
    items = column_items([Decimal("19.99"), Decimal("0.1"), None, Decimal("-123456789012.25")])
    assert items == [{"id": "r0", "amount": 19.99}, {"id": "r1", "amount": 0.1}, {"id": "r2", "amount": None},
                     {"id": "r3", "amount": -123456789012.25}]


def test_a_decimal_a_float_would_round_is_a_malformed_row_naming_it() -> None:
    items = column_items([Decimal("1.5"), Decimal("12345678901234567890.1234567891"), Decimal("2.5")])
    assert items[0] == {"id": "r0", "amount": 1.5}
    assert items[2] == {"id": "r2", "amount": 2.5}
    bad = items[1]
    assert isinstance(bad, Malformed)
    assert (bad.line, bad.message) == (2, (
        "row 2, column 'amount': the value cannot be read (12345678901234567890.1234567891 has more digits than a "
        "JSON number keeps exactly: it would be sent as 1.2345678901234567e+19; cast the column to double to "
        "accept the rounding, or to string to keep every digit); fix the value or cast the column."))


def test_a_decimal_changed_in_its_seventeenth_digit_is_malformed_too() -> None:
    [item] = column_items([Decimal("1234567.1234567891")])
    assert isinstance(item, Malformed)
    assert "it would be sent as 1234567.1234567892;" in item.message


def test_a_decimal_a_float_rounds_past_the_types_precision_is_malformed() -> None:
    [item] = column_items([Decimal("9999999999999999999999999999.9999999999")])
    assert isinstance(item, Malformed)
    assert "it would be sent as 1e+28;" in item.message


def test_a_narrow_decimal_is_never_checked_and_always_a_float() -> None:
    assert column_items([Decimal("1234567890.12345")], pa.decimal128(15, 5)) == [{"id": "r0", "amount": 1234567890.12345}]
