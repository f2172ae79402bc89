"""Two CSV exports joined into one file (`cat a.csv b.csv`): the second file's header is one malformed row that
says so, not a contact named "user_id", and the byte-order mark opening its header or a row is no part of a value."""

from __future__ import annotations

from pathlib import Path

from destkit.runtime.engine.sources import Malformed, read_csv


def read(tmp_path: Path, data: str) -> list[object]:
    path = tmp_path / "joined.csv"
    path.write_text(data, encoding="utf-8")
    return list(read_csv(path))


def test_a_repeated_header_is_one_malformed_row_naming_the_cause(tmp_path: Path) -> None:
    items = read(tmp_path, "user_id,email\nu1,a@x.io\nuser_id,email\nu2,b@x.io\n")
    assert items == [{"user_id": "u1", "email": "a@x.io"},
                     Malformed(3, "line 3 repeats the header (were files joined together?); remove the line."),
                     {"user_id": "u2", "email": "b@x.io"}]


def test_a_repeated_header_opening_with_a_byte_order_mark_is_recognised(tmp_path: Path) -> None:
    items = read(tmp_path, "\ufeffuser_id,email\nu1,a@x.io\n\ufeffuser_id,email\nu2,b@x.io\n")
    assert items[1] == Malformed(3, "line 3 repeats the header (were files joined together?); remove the line.")
    assert items[2] == {"user_id": "u2", "email": "b@x.io"}


def test_a_byte_order_mark_opening_a_row_is_no_part_of_its_first_value(tmp_path: Path) -> None:
    items = read(tmp_path, "user_id,email\n\ufeffu4,d@x.io\n")
    assert items == [{"user_id": "u4", "email": "d@x.io"}]


def test_a_byte_order_mark_inside_a_value_stays(tmp_path: Path) -> None:
    items = read(tmp_path, "user_id,email\nu5,e\ufeff@x.io\n")
    assert items == [{"user_id": "u5", "email": "e\ufeff@x.io"}]
