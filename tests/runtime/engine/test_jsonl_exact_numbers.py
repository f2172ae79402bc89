"""An integer past 64 bits reads whole from JSON Lines, on every path a line takes (orjson alone would round it
to a float: a 30-digit customer id would reach the destination as 1.2345678901234568e+29)."""

from __future__ import annotations

from pathlib import Path

from destkit.runtime.delivery.sender import decode_body
from destkit.runtime.engine.sources import read_jsonl
from destkit.runtime.engine.worker_lines import parse_lines

BIG = 123456789012345678901234567890


def read(tmp_path: Path, data: bytes) -> list[object]:
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    return list(read_jsonl(path))


def test_a_huge_integer_in_a_block_of_objects_reads_whole(tmp_path: Path) -> None:
    data = b'{"id": "a"}\n{"id": %d, "n": 1.5}\n{"id": "c"}\n' % BIG
    assert read(tmp_path, data) == [{"id": "a"}, {"id": BIG, "n": 1.5}, {"id": "c"}]


def test_a_huge_negative_integer_nested_in_a_list_reads_whole(tmp_path: Path) -> None:
    assert read(tmp_path, b'{"ids": [1, {"x": -%d}]}\n' % BIG) == [{"ids": [1, {"x": -BIG}]}]


def test_a_huge_integer_on_a_last_line_without_a_newline_reads_whole(tmp_path: Path) -> None:
    assert read(tmp_path, b'{"id": 1}\n{"id": %d}' % BIG) == [{"id": 1}, {"id": BIG}]


def test_a_huge_integer_in_a_block_with_a_bad_line_reads_whole(tmp_path: Path) -> None:
    items = read(tmp_path, b'{"id": %d}\n{broken\n' % BIG)
    assert items[0] == {"id": BIG}


def test_nineteen_digits_in_a_string_leave_the_record_as_orjson_read_it(tmp_path: Path) -> None:
    assert read(tmp_path, b'{"id": "1234567890123456789012", "n": 2.5}\n') == [{"id": "1234567890123456789012", "n": 2.5}]


def test_a_large_float_written_as_a_float_stays_a_float(tmp_path: Path) -> None:
    [record] = read(tmp_path, b'{"n": 12345678901234567890.5, "m": 1e30}\n')
    assert record == {"n": 12345678901234567890.5, "m": 1e30} and type(record["n"]) is float  # type: ignore[index]


def test_a_workers_line_with_a_huge_integer_reads_whole() -> None:
    assert list(parse_lines(1 << 20, [1, 2], [b'{"id": %d}' % BIG, b'{"id": 2}'])) == [{"id": BIG}, {"id": 2}]


def test_a_destination_answer_with_an_id_past_64_bits_decodes_whole() -> None:
    assert decode_body(b'{"results": [{"id": %d}]}' % BIG) == {"results": [{"id": BIG}]}
