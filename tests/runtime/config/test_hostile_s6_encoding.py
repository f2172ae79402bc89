"""A CSV that is not UTF-8 (UTF-16 with its BOM, Latin-1): one issue saying so and how to convert it.

Before, a UTF-16 file gave one did-you-mean per mapped column, each a mojibake name
('\\udcff\\udcfeu s e r _ i d '), and never said the file's encoding was the problem.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from cli_runs import offline_dry_run

from destkit.runtime.config.source_paths import Columns, not_text, unknown_source_paths

HEADER = "user_id,first_name\nu1,José\n"
MAPPING = {"external_reference_id": "user_id", "first_name": "first_name"}


def header_columns(raw: bytes) -> Columns:
    """The Columns a CSV header of `raw` bytes gives when read as UTF-8, as the reader reads it."""
    names = raw.decode("utf-8", errors="surrogateescape").split("\n")[0].split(",")
    return Columns("the header of audience.csv", frozenset(names), exhaustive=True, flat=True, header=names[0])


def dry_run(tmp_path: Path, name: str, raw: bytes) -> subprocess.CompletedProcess[str]:
    source = tmp_path / name
    source.write_bytes(raw)
    return offline_dry_run(tmp_path, source, "{external_reference_id: user_id, first_name: first_name}",
                           "--warn-unknown-paths")


def test_a_utf16_header_is_one_issue_naming_utf16() -> None:
    [issue] = unknown_source_paths(MAPPING, header_columns(HEADER.encode("utf-16")))
    assert (issue.key, issue.message) == ("(input)", "the header of audience.csv is not UTF-8 text: it looks like UTF-16.")
    assert issue.fix.startswith("re-export the file as UTF-8")


def test_a_latin1_header_is_one_issue_naming_another_encoding() -> None:
    raw = "user_id,prénom\nu1,José\n".encode("latin-1")
    [issue] = unknown_source_paths({"external_reference_id": "user_id", "first_name": "prénom"}, header_columns(raw))
    assert issue.message == ("the header of audience.csv is not UTF-8 text: it looks like another encoding "
                             "(Latin-1 or Windows-1252, say).")


def test_a_utf8_header_with_a_misspelt_path_still_gets_its_did_you_mean() -> None:
    [issue] = unknown_source_paths({"first_name": "frist_name"}, header_columns(HEADER.encode("utf-8")))
    assert (issue.key, issue.fix) == ("mapping.first_name", "did you mean 'first_name'?")


def test_only_undecodable_bytes_and_nuls_are_not_text() -> None:
    assert [not_text(n) for n in ["José", "名前", "a\x00b", "fnam\udce9"]] == [False, False, True, True]


def test_dry_run_of_a_utf16_csv_exits_2_saying_to_re_export_it_as_utf8(tmp_path: Path) -> None:
    done = dry_run(tmp_path, "audience.csv", HEADER.encode("utf-16"))
    assert done.returncode == 2
    assert ("audience.csv: (input): the file is UTF-16 text, not UTF-8. Fix: re-export the file as UTF-8, or "
            "convert it with `iconv -f UTF-16 -t UTF-8`.") in done.stderr
    assert "did you mean" not in done.stderr


def test_dry_run_of_a_utf16_json_lines_file_exits_2_saying_so_not_that_it_has_no_records(tmp_path: Path) -> None:
    done = dry_run(tmp_path, "audience.jsonl", b'{"user_id": "u1", "first_name": "Ada"}\n'.decode().encode("utf-16"))
    assert done.returncode == 2
    assert "audience.jsonl: (input): the file is UTF-16 text, not UTF-8." in done.stderr
    assert "check that the input has records" not in done.stderr


def test_dry_run_of_a_utf32_csv_names_utf32(tmp_path: Path) -> None:
    done = dry_run(tmp_path, "audience.csv", HEADER.encode("utf-32"))
    assert (done.returncode, "the file is UTF-32 text, not UTF-8." in done.stderr) == (2, True)
