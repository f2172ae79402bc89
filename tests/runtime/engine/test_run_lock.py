"""One run at a time per state store, config and input: a second `destkit sync` refuses, or waits with --wait-for-lock.

Two real processes against the Hello Charles emulator served on a port behind a `Gate` that holds
the first run's batches until the test opens it; the lock is an OS file lock, so it dies with its
process (a SIGKILLed run holds nothing back).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import (
    Gate,
    outcome_rows,
    run_cli,
    start_cli,
    state_rows,
    sync_args,
    upserted_keys,
    wait_until,
    write_audience,
    write_config,
)
from tests.conftest import API_KEY, PROPERTIES, TAGS

ROWS = 3_000


@pytest.fixture
def served() -> Iterator[tuple[Gate, str]]:
    gate = Gate(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, keep_bodies=True))
    with running_server(gate) as url:
        yield gate, url


def running_run_id(state: Path, gate: Gate) -> str:
    """Wait until a run's first batch is held in flight; that run's id."""
    wait_until(lambda: gate.held > 0, what="a batch in flight")
    [(run_id,)] = state_rows(state, "SELECT run_id FROM runs WHERE status = 'running'")
    return str(run_id)


def test_a_second_sync_of_the_same_config_and_input_refuses_naming_the_running_run(
        served: tuple[Gate, str], tmp_path: Path) -> None:
    gate, url = served
    state = tmp_path / "state.sqlite"
    args = sync_args(write_config(tmp_path), write_audience(tmp_path / "a.csv", ROWS), url, state)
    first = start_cli(args)
    try:
        run_id = running_run_id(state, gate)
        second = run_cli(args)
        gate.open()
        first.communicate(timeout=120)
    finally:
        gate.open()
        if first.poll() is None:
            first.kill()
    assert second.returncode == 2, second.stderr
    assert f"run {run_id}" in second.stderr and f"pid {first.pid}" in second.stderr
    assert "--wait-for-lock" in second.stderr
    assert first.returncode == 0
    sent = upserted_keys(gate.app.state.emulator)
    assert (len(sent), len(set(sent))) == (ROWS, ROWS)


def test_wait_for_lock_starts_only_after_the_running_run_finished(served: tuple[Gate, str], tmp_path: Path) -> None:
    gate, url = served
    state = tmp_path / "state.sqlite"
    args = sync_args(write_config(tmp_path), write_audience(tmp_path / "a.csv", ROWS), url, state)
    first = start_cli(args)
    run_id = running_run_id(state, gate)
    output = tmp_path / "second.out"
    with output.open("w") as fh:
        second = start_cli([*args, "--wait-for-lock"], stdout=fh)
    try:
        wait_until(lambda: "Waiting for run" in output.read_text(), what="the second run to wait")
        gate.open()
        first.communicate(timeout=120)
        second.communicate(timeout=120)
    finally:
        gate.open()
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
    assert (first.returncode, second.returncode) == (0, 0)
    assert f"Waiting for run {run_id} (pid {first.pid})" in output.read_text()
    [(first_finished,)] = state_rows(state, "SELECT finished_at FROM runs WHERE run_id = ?", run_id)
    [(second_started,)] = state_rows(state, "SELECT started_at FROM runs WHERE run_id != ?", run_id)
    assert second_started >= first_finished


def test_the_lock_dies_with_its_process(served: tuple[Gate, str], tmp_path: Path) -> None:
    gate, url = served
    state = tmp_path / "state.sqlite"
    args = sync_args(write_config(tmp_path), write_audience(tmp_path / "a.csv", ROWS), url, state)
    first = start_cli(args)
    running_run_id(state, gate)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    gate.open()
    resumed = run_cli([*args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert outcome_rows(state) == list(range(1, ROWS + 1))


def test_runs_of_another_input_are_not_held_back(served: tuple[Gate, str], tmp_path: Path) -> None:
    gate, url = served
    state, config = tmp_path / "state.sqlite", write_config(tmp_path)
    first = start_cli(sync_args(config, write_audience(tmp_path / "a.csv", ROWS), url, state))
    try:
        running_run_id(state, gate)
        gate.passes = 1_000  # the other run's batch is answered; the first one's stays held
        other = run_cli(sync_args(config, write_audience(tmp_path / "b.csv", 10), url, state))
        gate.open()
        first.communicate(timeout=120)
    finally:
        gate.open()
        if first.poll() is None:
            first.kill()
    assert other.returncode == 0, other.stderr
    assert first.returncode == 0
