"""A run whose state store or report cannot be written stops at once, says why, and resumes later.

The failures are real: a SQLite file whose `max_page_count` is reached ("database or disk is
full"), a CLI under `ulimit -f` (writes past the limit fail with EFBIG: "disk I/O error"), and a
state directory the process may not write. No run may hang: each is bounded by a generous timeout.
"""

from __future__ import annotations

import errno
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Outcome
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine import RunFailed, StateStore
from tests.cli_runs import (
    outcome_rows,
    report_lines,
    run_cli,
    run_report,
    summary_of,
    sync_args,
    write_audience,
    write_config,
)
from tests.conftest import API_KEY, PROPERTIES, TAGS, emulator_state, in_process_sync
from tests.runtime.engine.test_send_contacts import BAD_ROWS, audience

ROWS = 5000


def run_in_thread(target: Any, timeout: float = 120) -> dict[str, Any]:
    """Run `target()` in a daemon thread; fail (never hang) if it does not end within `timeout` seconds."""
    ended: dict[str, Any] = {}

    def go() -> None:
        try:
            ended["result"] = target()
        except BaseException as exc:  # handed to the test
            ended["error"] = exc

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"the run did not end within {timeout} s"
    return ended


def full_store(path: Path, spare_pages: int) -> StateStore:
    """A state store whose file may grow only `spare_pages` pages more: then "database or disk is full"."""
    store = StateStore(path)
    (pages,) = store.db.execute("PRAGMA page_count").fetchone()
    store.db.execute(f"PRAGMA max_page_count = {pages + spare_pages}")
    return store


def test_a_state_store_that_fills_up_stops_the_run_naming_the_cause(app: Starlette, tmp_path: Path) -> None:
    store = full_store(tmp_path / "state.sqlite", spare_pages=4)
    ended = run_in_thread(lambda: in_process_sync(app).run(audience(ROWS), state=store, input_ref="a"))
    error = ended.get("error")
    assert isinstance(error, RunFailed), ended
    assert "database or disk is full" in str(error)
    assert str(tmp_path / "state.sqlite") in str(error)


def test_after_the_disk_had_filled_up_resume_accounts_for_every_row_exactly_once(app: Starlette, tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    ended = run_in_thread(lambda: in_process_sync(app).run(audience(ROWS), state=full_store(path, 4), input_ref="a"))
    assert isinstance(ended.get("error"), RunFailed), ended
    store = StateStore(path)  # space is back
    outcomes: list[Outcome] = []
    result = in_process_sync(app).run(audience(ROWS), state=store, input_ref="a", mode="resume",
                                      on_outcome=outcomes.append)
    assert result.plan is not None and result.plan.resume is not None
    rows = [o.row for o in store.outcomes(result.summary.run_id)]
    assert rows == list(range(1, ROWS + 1))
    assert (result.summary.received, result.summary.delivered) == (ROWS, ROWS - len(BAD_ROWS))
    assert len(emulator_state(app).contacts) == ROWS - len(BAD_ROWS)


def test_a_failing_outcome_callback_stops_the_run_naming_the_cause(app: Starlette) -> None:
    def no_space(outcome: Outcome) -> None:
        if outcome.row > 1500:
            raise OSError(errno.ENOSPC, "No space left on device", "report.jsonl")

    ended = run_in_thread(lambda: in_process_sync(app).run(audience(ROWS), on_outcome=no_space))
    error = ended.get("error")
    assert isinstance(error, RunFailed), ended
    assert "No space left on device" in str(error) and "report.jsonl" in str(error)


@pytest.fixture
def slow_emulator() -> Any:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, faults=FaultPlan(latency_ms=50),
                     keep_bodies=True)
    with running_server(app) as url:
        yield app, url


def test_the_cli_under_a_file_size_limit_exits_2_naming_the_cause_and_resume_finishes(
        slow_emulator: tuple[Starlette, str], tmp_path: Path) -> None:
    app, url = slow_emulator
    config, audience_csv = write_config(tmp_path, "{concurrency: 2}"), write_audience(tmp_path / "a.csv", ROWS)
    state = tmp_path / "state.sqlite"
    args = sync_args(config, audience_csv, url, state)
    limited = run_cli(args, prefix=["bash", "-c", 'ulimit -f 192 && exec "$@"', "bash"])
    assert limited.returncode == 2, limited.stderr
    assert "disk I/O error" in limited.stderr and "Traceback" not in limited.stderr
    assert "--resume" in limited.stderr
    assert len(outcome_rows(state)) < ROWS
    again = run_cli([*args, "--resume"])
    assert again.returncode == 0, again.stderr
    assert outcome_rows(state) == list(range(1, ROWS + 1))
    report = run_report(state)
    assert report_lines(report) == []
    summary = summary_of(report)
    assert (summary["received"], summary["delivered"]) == (ROWS, ROWS)
    assert len(emulator_state(app).contacts) == ROWS


def read_only_prefix(folder: Path) -> list[str]:
    """A command prefix under which `folder` cannot be written (root ignores permission bits: drop that power)."""
    folder.chmod(0o500)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is not installed")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("existing", [False, True], ids=["new state", "existing state"])
def test_a_read_only_state_directory_exits_2_naming_it_without_a_traceback(
        existing: bool, slow_emulator: tuple[Starlette, str], tmp_path: Path) -> None:
    _, url = slow_emulator
    config, audience_csv = write_config(tmp_path), write_audience(tmp_path / "a.csv", 10)
    folder = tmp_path / "state"
    folder.mkdir()
    if existing:
        StateStore(folder / "state.sqlite").close()
    prefix = read_only_prefix(folder)
    try:
        result = run_cli(sync_args(config, audience_csv, url, folder / "state.sqlite"), prefix=prefix)
    finally:
        folder.chmod(0o700)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"cannot use the state store {folder / 'state.sqlite'}" in result.stderr

