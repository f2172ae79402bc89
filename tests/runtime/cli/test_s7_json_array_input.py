"""A `.json` input that is one JSON array (as an API export or `json.dump` writes it), not JSON Lines, is one
input error saying how to convert it, where every line was a malformed row (or no record at all)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runs import offline_dry_run

MAPPING = "{external_reference_id: user_id}"
RECORDS = [{"user_id": f"u{i}"} for i in range(3)]


@pytest.mark.parametrize("indent", [2, None], ids=["pretty-printed", "one line"])
def test_a_json_array_file_is_one_input_error_saying_how_to_convert_it(tmp_path: Path, indent: int | None) -> None:
    source = tmp_path / "audience.json"
    source.write_text(json.dumps(RECORDS, indent=indent) + "\n", encoding="utf-8")
    done = offline_dry_run(tmp_path, source, MAPPING)
    assert done.returncode == 2
    assert ("audience.json: (input): audience.json is one JSON array, not JSON Lines (one object per line). Fix: "
            "convert it with `jq -c '.[]' audience.json > audience.jsonl` and give that file.") in done.stderr


def test_json_lines_whose_first_line_is_an_array_still_run_with_that_line_malformed(tmp_path: Path) -> None:
    source = tmp_path / "audience.jsonl"
    source.write_text("[1, 2]\n" + "".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    done = offline_dry_run(tmp_path, source, MAPPING)
    assert (done.returncode, "3 records would be sent" in done.stdout) == (1, True), done.stderr
