"""JSON Lines read a block at a time: lines across block ends, line numbers after a block, limits across blocks."""

from __future__ import annotations

import io
from pathlib import Path

from destkit.runtime.engine import sources
from destkit.runtime.engine.sources import Malformed, read_jsonl


def blocks(data: bytes, limit: int, size: int) -> list[list[bytes | None]]:
    return [lines for _, lines in sources.line_blocks(io.BytesIO(data), limit, size)]


def test_a_line_split_by_a_block_end_is_read_whole() -> None:
    assert blocks(b'{"a": 1}\n{"b": 2}\n', 100, 5) == [[b'{"a": 1}'], [b'{"b": 2}']]


def test_a_last_line_without_a_newline_is_read() -> None:
    assert blocks(b'{"a": 1}\n{"b": 2}', 100, 1 << 10) == [[b'{"a": 1}'], [b'{"b": 2}']]


def test_each_block_comes_with_its_lines_joined_unless_one_is_over_the_limit() -> None:
    joined = [text for text, _ in sources.line_blocks(io.BytesIO(b"ab\ncd\n" + b"x" * 9 + b"\nef\n"), 4, 6)]
    assert joined == [b"ab\ncd", None, b"ef"]


def test_a_line_over_the_limit_across_blocks_is_none_and_its_rest_is_skipped() -> None:
    data = b'{"a": "' + b"x" * 40 + b'"}\n{"b": 2}\n'
    assert [line for block in blocks(data, 20, 8) for line in block] == [None, b'{"b": 2}']


def test_a_line_exactly_at_the_limit_is_kept() -> None:
    assert blocks(b"0123456789\n", 10, 4) == [[b"0123456789"]]


def test_a_bad_line_in_a_later_block_names_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(b'{"n": %d}\n' % i for i in range(1, 2001)) + b"{broken\n" + b'{"n": 2002}\n')
    items = list(read_jsonl(path))
    assert len(items) == 2002
    assert items[2000] == Malformed(2001, "line 2001 is not valid JSON (unexpected character, expected a string key); fix or remove the line.")
    assert items[1999] == {"n": 2000} and items[2001] == {"n": 2002}


def test_a_block_of_objects_with_one_list_line_keeps_the_objects_around_it(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": 1}\n[1]\n\n{"b": 2}\n')
    assert list(read_jsonl(path)) == [{"a": 1}, Malformed(2, "line 2 is a JSON array, not an object of fields; write one object per line."), {"b": 2}]


def test_every_record_of_a_file_larger_than_a_block_is_read_in_order(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"p" * (i % 50)) for i in range(20_000)))
    assert [item["n"] for item in read_jsonl(path)] == list(range(20_000))  # type: ignore[index]
