"""The CSV reader parses runs of ordinary lines together; each line still answers for itself.

Lines that read as one record each are parsed in blocks by one `csv.reader`. Whatever goes wrong
inside a block (bytes that are not UTF-8, a wrong column count, a quote that a lone line cannot
close) is still one `Malformed` item naming its own line, and the lines around it are records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from destkit.runtime.engine.sources import Malformed, read_csv

ROWS = 2000  # several blocks of lines


def write_bytes(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    return path


def rows(count: int) -> bytes:
    return b"".join(b"%d,x\n" % i for i in range(count))


def records(count: int) -> list[dict[str, Any]]:
    return [{"a": str(i), "b": "x"} for i in range(count)]


def test_a_line_that_is_not_utf8_deep_in_the_file_is_one_malformed_item(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"a,b\n" + rows(1500) + b"caf\xe9,x\n" + rows(10))
    got = list(read_csv(path))
    assert got[1500] == Malformed(1502, "line 1502 is not valid UTF-8; re-export the file as UTF-8.")
    assert got[:1500] == records(1500)
    assert got[1501:] == records(10)


def test_a_wrong_column_count_deep_in_the_file_names_its_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"a,b\n" + rows(999) + b"1,2,3\n" + rows(ROWS - 1000))
    got = list(read_csv(path))
    assert got[999] == Malformed(1001, "line 1001 has 3 columns, the header has 2; check delimiters and quotes.")
    assert [type(i) for i in got].count(dict) == ROWS - 1


def test_a_quote_in_an_unquoted_cell_that_opens_a_cell_at_the_line_end_costs_its_line_only(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b'a,b\n1,x\nte"xt,"y\n3,z\n')
    assert list(read_csv(path)) == [
        {"a": "1", "b": "x"},
        Malformed(3, "line 3 could not be read as CSV (unexpected end of data); check its quotes."),
        {"a": "3", "b": "z"},
    ]


def test_blank_lines_are_skipped_and_still_counted(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"a,b\n1,x\n\n  \n1,2,3\n4,y\n")
    assert list(read_csv(path)) == [
        {"a": "1", "b": "x"},
        Malformed(5, "line 5 has 3 columns, the header has 2; check delimiters and quotes."),
        {"a": "4", "b": "y"},
    ]


def test_empty_cells_are_absent_values(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"a,b,c\n1,,3\n,,\n")
    assert list(read_csv(path)) == [{"a": "1", "c": "3"}, {}]


def test_crlf_line_ends_and_quoted_cells_with_escaped_quotes_read_as_records(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b'a,b\r\n1,"say ""hi"", ok"\r\n2,"[""t1""]"\r\n')
    assert list(read_csv(path)) == [{"a": "1", "b": 'say "hi", ok'}, {"a": "2", "b": '["t1"]'}]


def test_a_multi_line_cell_between_blocks_of_rows_is_one_record(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"a,b\n" + rows(700) + b'700,"two\nlines"\n' + rows(700))
    got = list(read_csv(path))
    assert got == [*records(700), {"a": "700", "b": "two\nlines"}, *records(700)]
