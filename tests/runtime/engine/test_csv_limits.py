"""CSV input is read in bounded memory, and a runaway quote costs one row, not the file.

A physical line is read at most `MAX_LINE_CHARS` at a time (a longer one is one `Malformed`
item, its rest skipped unread). A record whose quoted cell spans lines is held up to
`MAX_RECORD_LINES` lines and `MAX_RECORD_CHARS` characters. A quote still open at that limit is
either a stray quote in front of ordinary rows (only its own line is bad, the rows after it are
read) or a real multi-line cell over the limit (the whole record is one `Malformed` item and
reading resumes after its closing quote, without holding it).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from destkit.runtime import Outcome, build_sync
from destkit.runtime.engine.sources import (
    MAX_LINE_CHARS,
    MAX_RECORD_CHARS,
    MAX_RECORD_LINES,
    Malformed,
    read_csv,
    read_records,
)
from tests.conftest import hc_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    return path


def items(path: Path, **limits: Any) -> list[Any]:
    return list(read_csv(path, **limits))


def test_the_default_limits() -> None:
    assert (MAX_LINE_CHARS, MAX_RECORD_CHARS, MAX_RECORD_LINES) == (8_000_000, 8_000_000, 1000)


def test_a_line_over_the_line_limit_is_one_malformed_item_and_reading_goes_on(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n" + "x" * 5000 + ",y\n1,2\n")
    assert items(path, max_line_chars=1000) == [
        Malformed(2, "line 2 is over 1,000 characters; split or trim the record."),
        {"a": "1", "b": "2"},
    ]


def test_a_line_over_the_line_limit_is_not_held_in_memory(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n" + "x" * 20_000_000 + ",y\n1,2\n")
    tracemalloc.start()
    try:
        got = items(path, max_line_chars=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [type(i).__name__ for i in got] == ["Malformed", "dict"]
    assert peak < 8_000_000


def test_a_multi_line_cell_within_the_limits_is_one_record(tmp_path: Path) -> None:
    path = write(tmp_path, 'a,b\n1,"first\nsecond"\n3,4\n')
    assert items(path) == [{"a": "1", "b": "first\nsecond"}, {"a": "3", "b": "4"}]


def test_a_multi_line_cell_over_the_line_count_limit_is_one_malformed_item(tmp_path: Path) -> None:
    note = "".join(f"line {i} of a long note\n" for i in range(5000))
    path = write(tmp_path, f'a,b\n1,"start\n{note}end"\n3,4\n')
    assert items(path, max_record_lines=100) == [
        Malformed(2, "lines 2-5003 are one record over the limit of 100 lines or 8,000,000 characters "
                     "(a quoted cell with line breaks); shorten it or check its quotes."),
        {"a": "3", "b": "4"},
    ]


def test_a_multi_line_cell_over_the_size_limit_is_one_malformed_item(tmp_path: Path) -> None:
    note = "".join(f"line {i} of a long note\n" for i in range(50))
    path = write(tmp_path, f'a,b\n1,"start\n{note}end"\n3,4\n')
    assert items(path, max_record_chars=500) == [
        Malformed(2, "lines 2-53 are one record over the limit of 1,000 lines or 500 characters "
                     "(a quoted cell with line breaks); shorten it or check its quotes."),
        {"a": "3", "b": "4"},
    ]


def test_a_quote_that_never_closes_in_free_text_is_one_malformed_item_to_the_end(tmp_path: Path) -> None:
    note = "".join(f"line {i} of a long note\n" for i in range(5000))
    path = write(tmp_path, f'a,b\n1,"start\n{note}')
    assert items(path, max_record_lines=100) == [
        Malformed(2, "line 2 opens a quote that is still open at the end of the file, 5001 lines on; close it or "
                     "escape it as \"\"."),
    ]


def test_a_stray_quote_before_many_ordinary_rows_costs_only_its_own_line(tmp_path: Path) -> None:
    rows = "".join(f"{i},ok\n" for i in range(5000))
    path = write(tmp_path, f'a,b\n1,"unclosed\n{rows}')
    got = items(path, max_record_lines=100)
    assert got[0] == Malformed(2, 'line 2 has an unclosed quote; close it or escape it as "".')
    assert got[1:] == [{"a": str(i), "b": "ok"} for i in range(5000)]


def test_a_runaway_quote_in_a_sync_is_one_malformed_input_outcome(tmp_path: Path) -> None:
    note = "".join(f"line {i} of a long note\n" for i in range(5000))
    path = write(tmp_path, f'user_id,first_name\nc1,"start\n{note}end"\nc2,Ann\n')
    sync = build_sync(hc_config(catalogs={"tags": [], "custom_properties": []}))
    outcomes: list[Outcome] = []
    sync.dry_run(read_records(path), on_outcome=outcomes.append, offline=True)
    assert [(o.row, o.status, o.reason) for o in outcomes] == [(1, "invalid", "malformed_input"), (2, "delivered", None)]


@pytest.mark.parametrize("limit", ["max_line_chars", "max_record_chars", "max_record_lines"])
def test_limits_must_be_positive(tmp_path: Path, limit: str) -> None:
    with pytest.raises(ValueError):
        items(write(tmp_path, "a\n1\n"), **{limit: 0})
