"""A `--state` that is no destkit state store is refused before anything is written to it.

A directory, a device or a pipe, a text file, or another program's SQLite database each raise
`NotAStateStore` naming what the path is; another program's database keeps its tables and journal
mode. A destkit store with a table dropped still opens (the table is made again). An outcome row
changed outside destkit (a status or reason no destkit writes, JSON that does not parse) is an
`UnreadableRow` naming the row, not an internal error in the middle of a resume.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from destkit.runtime.engine import NotAStateStore, StateStore
from destkit.runtime.engine.store_errors import UnreadableRow
from destkit.runtime.outcomes import Outcome, Reason, Status
from tests.cli_runs import run_cli, sync_args, write_audience, write_config
from tests.conftest import store_with_run

FIX = "Fix: pass the --state a destkit sync wrote, or a path where a new store may be created."


def foreign_database(path: Path, *tables: str) -> Path:
    db = sqlite3.connect(path)
    for table in tables:
        db.execute(f"CREATE TABLE {table}")
    db.commit()
    db.close()
    return path


def schema_of(path: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        db.close()


def error_text(stderr: str) -> str:
    """The CLI's error, on one line (python -m may warn on stderr before it)."""
    return " ".join(stderr[stderr.index("error: "):].split())


def test_a_text_file_is_refused_as_no_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n", encoding="utf-8")
    with pytest.raises(NotAStateStore) as caught:
        StateStore(path)
    assert str(caught.value) == (f"cannot use the state store {path}: "
                                 "it is not a destkit state store (it is not an SQLite database)")
    assert path.read_text(encoding="utf-8") == "not a database\n"


def test_a_directory_is_refused_as_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotAStateStore) as caught:
        StateStore(tmp_path)
    assert str(caught.value) == f"cannot use the state store {tmp_path}: it is not a destkit state store (it is a directory)"


def test_a_device_or_a_named_pipe_is_refused_as_no_regular_file(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for path in (Path("/dev/null"), pipe):
        with pytest.raises(NotAStateStore) as caught:
            StateStore(path)
        assert str(caught.value) == (f"cannot use the state store {path}: it is not a destkit state store "
                                     "(it is no regular file (a device, a named pipe or a socket))")


def test_another_programs_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = foreign_database(tmp_path / "app.sqlite", "users (id INTEGER, email TEXT)")
    before = schema_of(path)
    with pytest.raises(NotAStateStore) as caught:
        StateStore(path)
    assert str(caught.value).endswith("it is not a destkit state store (it is an SQLite database with other tables (users))")
    assert schema_of(path) == before
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_a_database_whose_runs_table_has_other_columns_is_refused_before_columns_are_added(tmp_path: Path) -> None:
    path = foreign_database(tmp_path / "other.sqlite", "runs (x INTEGER)")
    with pytest.raises(NotAStateStore) as caught:
        StateStore(path)
    assert str(caught.value).endswith("it is not a destkit state store (its table runs has no column aborted)")
    assert schema_of(path) == [("runs", "CREATE TABLE runs (x INTEGER)")]


def test_a_store_with_a_table_dropped_opens_and_makes_it_again(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    StateStore(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE outcomes")
    db.commit()
    db.close()
    store = StateStore(path)
    try:
        assert store.db.execute("SELECT count(*) FROM outcomes").fetchone() == (0,)
    finally:
        store.close()


def test_destkit_runs_on_another_programs_database_is_a_usage_error_not_a_crash(tmp_path: Path) -> None:
    path = foreign_database(tmp_path / "other.sqlite", "runs (x INTEGER)", "outcomes (y TEXT)")
    done = run_cli(["runs", "--state", str(path)])
    assert done.returncode == 2
    assert error_text(done.stderr) == (f"error: cannot use the state store {path}: it is not a destkit state store "
                                       f"(its table outcomes has no column attempts). {FIX}")


def test_destkit_runs_on_a_directory_names_it_a_directory(tmp_path: Path) -> None:
    done = run_cli(["runs", "--state", str(tmp_path)])
    assert done.returncode == 2
    assert error_text(done.stderr) == (f"error: cannot use the state store {tmp_path}: it is not a destkit state store "
                                       f"(it is a directory). {FIX}")


def store_with_outcomes(path: Path) -> tuple[StateStore, str]:
    store, run_id = store_with_run(path)
    store.record(run_id, "hello_charles", [
        Outcome(row=1, status=Status.DELIVERED, key="u1"),
        Outcome(row=2, status=Status.INVALID, key="u2", reason=Reason.INVALID_PHONE, message="bad phone")], 2, 2)
    return store, run_id


def changed_by_hand(path: Path, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


def test_an_outcome_with_a_status_no_destkit_writes_is_an_unreadable_row(tmp_path: Path) -> None:
    store, run_id = store_with_outcomes(tmp_path / "state.sqlite")
    changed_by_hand(tmp_path / "state.sqlite", "UPDATE outcomes SET status = 'exploded' WHERE row = 2")
    with pytest.raises(UnreadableRow) as caught:
        list(store.outcomes(run_id))
    store.close()
    assert str(caught.value) == (
        f"cannot read the state store {tmp_path / 'state.sqlite'}: the outcome of row 2 holds the status "
        "'exploded', which destkit never writes (the file was changed by another program or by hand)")


def test_an_outcome_with_an_unknown_reason_or_broken_json_names_what_does_not_read(tmp_path: Path) -> None:
    store, run_id = store_with_outcomes(tmp_path / "state.sqlite")
    changed_by_hand(tmp_path / "state.sqlite", "UPDATE outcomes SET reason = 'bogus' WHERE row = 2")
    with pytest.raises(UnreadableRow) as reason:
        list(store.outcomes(run_id))
    changed_by_hand(tmp_path / "state.sqlite", "UPDATE outcomes SET reason = NULL, warnings = '{not json' WHERE row = 1")
    with pytest.raises(UnreadableRow) as warnings:
        list(store.outcomes(run_id))
    store.close()
    assert "the outcome of row 2 holds the reason 'bogus', which destkit never writes" in str(reason.value)
    assert "the outcome of row 1 holds a value that does not read (JSONDecodeError)" in str(warnings.value)


def test_resuming_over_a_row_changed_by_hand_is_a_usage_error_naming_it(tmp_path: Path, served: str) -> None:
    config, audience = write_config(tmp_path), write_audience(tmp_path / "audience.csv", 30)
    state = tmp_path / "state.sqlite"
    assert run_cli(sync_args(config, audience, served, state)).returncode == 0
    changed_by_hand(state, "UPDATE outcomes SET status = 'exploded' WHERE row = 3")
    changed_by_hand(state, "UPDATE runs SET status = 'running', checkpoint = 10, finished_at = NULL")
    changed_by_hand(state, "DELETE FROM outcomes WHERE row > 20")
    done = run_cli(sync_args(config, audience, served, state, "--resume"))
    assert done.returncode == 2
    assert error_text(done.stderr) == (
        f"error: cannot read the state store {state}: the outcome of row 3 holds the status 'exploded', which destkit "
        "never writes (the file was changed by another program or by hand). Fix: pass a new --state: what this "
        "store says was sent cannot be trusted.")
