"""Gzip-compressed inputs (`.csv.gz`, `.tsv.gz`, `.jsonl.gz`, as a warehouse's unload writes them) are read as
a stream, record for record as the plain file; one cut short is read to the cut, and one item names the line
from which nothing could be read; a `.gz` that is not gzip is one input error before anything is read."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

import pytest

from destkit.runtime import build_sync
from destkit.runtime.engine.items import Malformed
from destkit.runtime.engine.sources import format_of, read_records
from tests.cli_runs import offline_dry_run

ROWS = 3000
CSV = "user_id,first_name,phone\n" + "".join(f"u{i:05d},F{i},+1415555{i:04d}\n" for i in range(ROWS))
JSONL = "".join(f'{{"user_id": "u{i:05d}", "first_name": "F{i}", "phone": "+1415555{i:04d}"}}\n' for i in range(ROWS))
MAPPING = "{external_reference_id: user_id, first_name: first_name, phone_number: phone}"


def written(folder: Path, name: str, text: str, *, cut: int | None = None) -> Path:
    data = gzip.compress(text.encode(), mtime=0) if name.endswith(".gz") else text.encode()
    path = folder / name
    path.write_bytes(data if cut is None else data[:cut])
    return path


def lines_before_the_cut(data: bytes, cut: int) -> int:
    """The complete lines in what the first `cut` bytes of a gzip file decompress to."""
    return zlib.decompressobj(wbits=31).decompress(data[:cut]).count(b"\n")


@pytest.mark.parametrize(("name", "text"), [("a.csv", CSV), ("a.tsv", CSV.replace(",", "\t")), ("a.jsonl", JSONL)],
                         ids=["csv", "tsv", "jsonl"])
def test_a_gzip_file_gives_the_records_of_the_plain_file(tmp_path: Path, name: str, text: str) -> None:
    plain = list(read_records(written(tmp_path, name, text)))
    assert list(read_records(written(tmp_path, name + ".gz", text))) == plain
    assert len(plain) == ROWS


def test_the_format_of_a_gzip_file_is_named_by_the_suffix_before_gz() -> None:
    assert [format_of(Path(n)) for n in ("a.CSV.GZ", "a.jsonl.gz", "a.ndjson.gz", "a.tsv.gz", "a.gz")] == \
        ["csv", "jsonl", "jsonl", "tsv", None]


@pytest.mark.parametrize(("name", "text", "header"), [("a.csv.gz", CSV, 1), ("a.jsonl.gz", JSONL, 0)], ids=["csv", "jsonl"])
def test_a_gzip_file_cut_short_is_read_to_the_cut_then_one_item_names_the_next_line(
        tmp_path: Path, name: str, text: str, header: int) -> None:
    data = gzip.compress(text.encode(), mtime=0)
    cut = len(data) // 2
    items = list(read_records(written(tmp_path, name, text, cut=cut)))
    complete = lines_before_the_cut(data, cut)
    assert len(items) == complete - header + 1
    assert all(isinstance(item, dict) for item in items[:-1])
    last = items[-1]
    assert isinstance(last, Malformed) and last.line == complete + 1
    assert last.message == (f"line {complete + 1} and the lines after it cannot be read: {name} ends before its compressed "
                            f"data does (the file was cut short); download or export the file again (`gzip -t {name}` "
                            "checks one).")


def test_a_jsonl_gz_cut_short_gives_the_same_outcomes_over_two_workers_as_in_one_process(tmp_path: Path) -> None:
    data = gzip.compress(JSONL.encode(), mtime=0)
    path = written(tmp_path, "a.jsonl.gz", JSONL, cut=len(data) // 2)
    config: dict[str, Any] = {"destination": "hello_charles", "action": "send_contacts", "settings": {"subdomain": "acme"},
                              "secrets": {"api_key": "k"}, "catalogs": {"tags": [], "custom_properties": []},
                              "mapping": {"external_reference_id": "user_id", "first_name": "first_name"}}
    results = []
    for workers in (1, 2):
        seen: list[Any] = []
        build_sync(config).dry_run(read_records(path), keep_requests=False, on_outcome=seen.append, workers=workers)
        results.append(sorted((o.row, o.status.value, o.reason and o.reason.value) for o in seen))
    assert results[0] == results[1]
    assert results[0][-1] == (lines_before_the_cut(data, len(data) // 2) + 1, "invalid", "malformed_input")


def test_the_cli_runs_a_csv_gz_as_it_runs_the_csv(tmp_path: Path) -> None:
    for name in ("a.csv", "a.csv.gz"):
        done = offline_dry_run(tmp_path, written(tmp_path, name, CSV), MAPPING)
        assert (name, done.returncode, f"{ROWS:,} records would be sent" in done.stdout) == (name, 0, True), done.stderr


def test_a_gz_file_that_is_not_gzip_is_one_input_error_before_anything_is_read(tmp_path: Path) -> None:
    source = tmp_path / "a.jsonl.gz"
    source.write_text(JSONL, encoding="utf-8")
    done = offline_dry_run(tmp_path, source, MAPPING)
    assert done.returncode == 2
    assert ("a.jsonl.gz: (input): a.jsonl.gz is named .gz but is not gzip-compressed. Fix: rename it without .gz if it "
            "is plain text, or compress it with gzip.") in done.stderr
