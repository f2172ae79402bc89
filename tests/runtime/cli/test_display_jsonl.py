"""The live display notes when a JSON Lines file was read to its end without wrapping the reader, so a
run over workers still routes the file's raw lines (it reads them by path, not by iterating)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from destkit.runtime.cli.display import RunDisplay
from destkit.runtime.engine import build_sync
from destkit.runtime.engine.sources import JsonLines, read_jsonl
from tests.conftest import PROPERTIES, TAGS, hc_config

CATALOGS = {"tags": TAGS, "custom_properties": [name for name, _label in PROPERTIES]}


def jsonl(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"user_id": f"u{i}", "first_name": "F", "phone": f"+1415555{i:04d}"}) + b"\n"
                              for i in range(rows)))
    return path


def test_a_json_lines_reader_passes_through_the_display_as_itself(tmp_path: Path) -> None:
    source = read_jsonl(jsonl(tmp_path, 3))
    assert RunDisplay().reading(source) is source


def test_iterating_a_json_lines_file_to_its_end_notes_it_read_all(tmp_path: Path) -> None:
    display = RunDisplay()
    records = display.reading(read_jsonl(jsonl(tmp_path, 3)))
    assert [next(records)["user_id"], next(records)["user_id"]] == ["u0", "u1"]
    assert display.read_all is False
    assert [r["user_id"] for r in records] == ["u2"]
    assert display.read_all is True


def test_a_run_over_workers_routing_raw_lines_notes_the_file_read_all(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    display = RunDisplay()
    records = display.reading(read_jsonl(jsonl(tmp_path, 2_500)))
    monkeypatch.setattr(JsonLines, "__iter__", lambda self: pytest.fail("the parent parsed the file"))
    result = build_sync(hc_config(catalogs=CATALOGS)).dry_run(records, keep_requests=False, workers=2)
    assert result.summary.delivered == 2_500
    assert display.read_all is True
