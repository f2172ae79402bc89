"""JSON Lines input: each line an object; any other line is one `Malformed` item naming it, or skipped if blank."""

from __future__ import annotations

from pathlib import Path

from destkit.runtime.engine.sources import Malformed, read_jsonl


def lines(tmp_path: Path, data: bytes, **limits: int) -> list[object]:
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    return list(read_jsonl(path, **limits))


def test_objects_are_records_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    assert lines(tmp_path, b'{"a": 1}\n\n  \r\n{"b": {"c": [1]}}\r\n') == [{"a": 1}, {"b": {"c": [1]}}]


def test_a_line_that_is_not_json_names_its_line(tmp_path: Path) -> None:
    assert lines(tmp_path, b'{"a": 1}\n{"a": \n') == [
        {"a": 1}, Malformed(2, "line 2 is not valid JSON (unexpected end of data); fix or remove the line.")]


def test_a_line_that_is_json_but_not_an_object_names_its_type(tmp_path: Path) -> None:
    assert lines(tmp_path, b"[1, 2]\n") == [Malformed(1, "line 1 is a JSON array, not an object of fields; write one object per line.")]


def test_an_object_with_a_form_feed_around_it_is_still_a_record(tmp_path: Path) -> None:
    assert lines(tmp_path, b'\x0c{"a": 1}\x0b\n') == [{"a": 1}]


def test_a_line_over_the_byte_limit_is_one_malformed_item(tmp_path: Path) -> None:
    assert lines(tmp_path, b'{"a": "' + b"x" * 100 + b'"}\n{"b": 2}\n', max_line_bytes=50) == [
        Malformed(1, "line 1 is over 50 bytes; split or trim the record."), {"b": 2}]
