"""The state store's run history: every run newest first, what a command line run noted, and stores of an
older destkit (without the columns added since) opened and given them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from destkit.runtime.engine.state import StateStore

OLD_RUNS_TABLE = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, destination TEXT NOT NULL, action TEXT NOT NULL, config_hash TEXT NOT NULL,
    input_ref TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'sync', status TEXT NOT NULL,
    checkpoint INTEGER NOT NULL DEFAULT 0, received INTEGER NOT NULL DEFAULT 0, started_at REAL NOT NULL,
    finished_at REAL, aborted TEXT);
INSERT INTO runs VALUES ('old', 'webhook', 'send', 'h', '/in/a.jsonl:3:1', 'sync', 'finished', 3, 3, 10.0, 12.0, NULL);
"""


def test_history_lists_every_run_of_any_config_newest_first(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    first = store.start_run("webhook", "send", "h1", "a")
    second = store.start_run("hello_charles", "send_contacts", "h2", "b")
    assert [run.run_id for run in store.history()] == [second, first]
    assert [run.run_id for run in store.history(limit=1)] == [second]


def test_a_noted_run_keeps_its_config_file_and_folder(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    run_id = store.start_run("webhook", "send", "h", "a")
    store.note_run(run_id, config_path="/c/sync.yaml", files="/c/runs/x")
    run = store.run(run_id)
    assert run is not None and (run.config_path, run.files) == ("/c/sync.yaml", "/c/runs/x")


def test_a_run_is_found_by_the_start_of_its_id_and_a_wildcard_is_taken_literally(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    run_id = store.start_run("webhook", "send", "h", "a", run_id="abc123")
    assert [run.run_id for run in store.find_run("abc")] == [run_id]
    assert store.find_run("%") == store.find_run("_bc") == []


def test_a_store_of_an_older_destkit_keeps_its_runs_and_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(OLD_RUNS_TABLE)
    db.close()
    store = StateStore(path)
    [old] = store.history()
    assert (old.run_id, old.received, old.config_path, old.files, old.duration_s, old.input_path) == (
        "old", 3, None, None, 2.0, "/in/a.jsonl")
    store.note_run("old", config_path="/c.yaml", files=None)
    assert store.run("old") is not None and store.run("old").config_path == "/c.yaml"  # type: ignore[union-attr]
