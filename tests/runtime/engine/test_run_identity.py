"""One run id everywhere: the log lines, the summary and the state store name a run by the same id."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import (
    Gate,
    run_cli,
    run_report,
    start_cli,
    state_rows,
    summary_of,
    sync_args,
    wait_until,
    write_audience,
    write_config,
)
from tests.conftest import API_KEY, PROPERTIES, TAGS


def logged_run_ids(stderr: str) -> set[str]:
    lines = [orjson.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines, "no JSON log line"
    return {line.get("run_id") for line in lines}


@pytest.fixture
def url() -> object:
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as served:
        yield served


def test_the_logs_the_summary_and_the_state_name_the_same_run_id(url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    audience = write_audience(tmp_path / "a.csv", 2500)
    result = run_cli(sync_args(write_config(tmp_path), audience, url, state, "--log-level", "info"))
    assert result.returncode == 0, result.stderr
    [(stored,)] = state_rows(state, "SELECT run_id FROM runs")
    assert logged_run_ids(result.stderr) == {summary_of(run_report(state))["run_id"]} == {stored}


def test_a_resumed_run_logs_and_summarises_under_the_id_it_was_started_with(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    audience = write_audience(tmp_path / "a.csv", 3000)
    gate = Gate(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES), passes=1)
    with running_server(gate) as served:
        args = sync_args(write_config(tmp_path, "{concurrency: 1}"), audience, served, state, "--log-level", "info")
        first = start_cli(args)
        try:
            wait_until(lambda: gate.held > 0, what="a batch in flight")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            gate.open()
        resumed = run_cli([*args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    [(stored,)] = state_rows(state, "SELECT run_id FROM runs")
    assert logged_run_ids(resumed.stderr) == {summary_of(run_report(state))["run_id"]} == {stored}
