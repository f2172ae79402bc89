"""`destkit runs` lists a state store's runs; `destkit runs show RUN` prints one and where its files are."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import ENV, run_cli, state_rows, sync_args, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS


@pytest.fixture
def url() -> Iterator[str]:
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as served:
        yield served


def one_sync(url: str, tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """(state, config, input, run id) of one sync of 3 contacts, one with a bad phone."""
    state, config = tmp_path / "state.sqlite", write_config(tmp_path)
    audience = write_audience(tmp_path / "a.csv", 3, bad_phone_rows=frozenset({2}))
    assert run_cli(sync_args(config, audience, url, state)).returncode == 1
    [(run_id,)] = state_rows(state, "SELECT run_id FROM runs")
    return state, config, audience, str(run_id)


def test_runs_lists_each_run_with_its_config_input_counts_and_status(url: str, tmp_path: Path) -> None:
    state, config, audience, run_id = one_sync(url, tmp_path)
    listed = run_cli(["runs", "--state", str(state)], env={**ENV, "COLUMNS": "500"})  # no cell wraps
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if run_id in line]
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells[2:] == ["sync", "hello_charles · send_contacts", str(config.resolve()), str(audience.resolve()),
                         "received 3 · delivered 2 · invalid 1", cells[7], "finished"]
    assert cells[7].endswith(" s")


def test_runs_show_prints_the_run_its_counts_and_where_its_files_are(url: str, tmp_path: Path) -> None:
    state, config, _audience, run_id = one_sync(url, tmp_path)
    shown = run_cli(["runs", "show", run_id[:6], "--state", str(state)])
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    folder = tmp_path / "runs" / run_id
    assert lines[0] == f"run:            {run_id}"
    assert f"config:         {config.resolve()}" in lines
    assert [
        line for line in lines if line.startswith(("received:", "delivered:", "invalid:"))] == ["received:       3", "delivered:      2", "invalid:        1"]
    assert "  reason invalid_phone:1" in lines
    assert lines[-4:] == [f"folder:         {folder}", f"report:         {folder / 'report.jsonl'}",
                          f"summary:        {folder / 'report.summary.json'}", f"html:           {folder / 'report.html'}"]


def test_runs_show_of_an_unknown_run_exits_2_naming_how_to_list_them(url: str, tmp_path: Path) -> None:
    state, *_ = one_sync(url, tmp_path)
    shown = run_cli(["runs", "show", "nosuchrun", "--state", str(state)])
    assert shown.returncode == 2
    assert shown.stderr.splitlines()[-1] == f"error: no run nosuchrun in {state}; `destkit runs --state {state}` lists them."


def test_runs_without_a_state_store_exits_2_and_creates_none(tmp_path: Path) -> None:
    listed = run_cli(["runs", "--state", str(tmp_path / "none.sqlite")])
    assert listed.returncode == 2
    assert "no state store at" in listed.stderr
    assert not (tmp_path / "none.sqlite").exists()


def test_a_state_store_of_an_older_destkit_lists_its_runs_and_their_conventional_folders(tmp_path: Path) -> None:
    state = tmp_path / "old.sqlite"
    db = sqlite3.connect(state)
    db.executescript("""
        CREATE TABLE runs (run_id TEXT PRIMARY KEY, destination TEXT NOT NULL, action TEXT NOT NULL,
            config_hash TEXT NOT NULL, input_ref TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'sync', status TEXT NOT NULL,
            checkpoint INTEGER NOT NULL DEFAULT 0, received INTEGER NOT NULL DEFAULT 0, started_at REAL NOT NULL,
            finished_at REAL, aborted TEXT);
        INSERT INTO runs VALUES ('0ldrun000001', 'hello_charles', 'send_contacts', 'abc', '/data/a.csv:10:1', 'sync',
            'finished', 5, 5, 1700000000.0, 1700000004.5, NULL);
    """)
    db.commit()
    db.close()
    listed = run_cli(["runs", "--state", str(state)])
    shown = run_cli(["runs", "show", "0ldrun000001", "--state", str(state)])
    assert (listed.returncode, shown.returncode) == (0, 0), listed.stderr + shown.stderr
    assert "0ldrun000001" in listed.stdout and "/data/a.csv" in listed.stdout and "4.5 s" in listed.stdout
    assert "config:         -" in shown.stdout.splitlines()
    assert f"folder:         {tmp_path / 'runs' / '0ldrun000001'} (missing)" in shown.stdout.splitlines()
