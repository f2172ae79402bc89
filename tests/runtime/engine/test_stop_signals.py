"""SIGTERM and SIGINT stop a run cleanly: in-flight batches recorded, report and summary written, exit 143 / 130.

The CLI runs as a subprocess against the Hello Charles emulator served on a port behind a `Gate`:
the first two batches are answered, the next two are held in flight until the test has sent the
signal. The resume command the CLI prints is then run as printed and must finish the job with
every row accounted for exactly once.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import EmulatorState, create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import (
    Gate,
    outcome_rows,
    report_lines,
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

ROWS = 12_000
BAD = frozenset({5, 11, 7_000})
IN_FLIGHT_DONE = set(range(1, 4001))  # batches 1-2 answered, 3-4 in flight at the signal (1,000 records each)


def gated(state: EmulatorState | None = None, passes: int = 2, **faults: float) -> Gate:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=state, faults=FaultPlan(**faults))
    return Gate(app, passes)


@pytest.fixture
def served() -> Iterator[tuple[Gate, str]]:
    gate = gated()
    with running_server(gate) as url:
        yield gate, url


def stopped_by(signum: int, args: list[str], state: Path, gate: Gate) -> subprocess.CompletedProcess[str]:
    """Start the CLI; once two batches are answered and two held in flight, send `signum`, then let them finish."""
    proc = start_cli(args)
    try:
        wait_until(lambda: gate.held == 2 and len(outcome_rows(state)) > 0, what="two batches in flight")
        proc.send_signal(signum)
        gate.open()
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def printed_resume_command(stopped: subprocess.CompletedProcess[str]) -> list[str]:
    """The arguments of the `destkit ...` command the stopped CLI said to run."""
    [line] = [line for line in stopped.stderr.splitlines() if line.strip().startswith("destkit ")]
    return shlex.split(line)[1:]


def the_run_id(state: Path, kind: str = "sync") -> str:
    [(run_id,)] = state_rows(state, "SELECT run_id FROM runs WHERE kind = ?", kind)
    return str(run_id)


def test_sigterm_exits_143_with_a_complete_report_and_summary_of_what_was_done(
        served: tuple[Gate, str], tmp_path: Path) -> None:
    gate, url = served
    audience = write_audience(tmp_path / "a.csv", ROWS, bad_phone_rows=BAD)
    state, report = tmp_path / "state.sqlite", tmp_path / "a.report.jsonl"
    report.with_suffix(".summary.json").write_text('{"run_id": "an earlier run"}')
    args = sync_args(write_config(tmp_path, "{concurrency: 2}"), audience, url, state, "--report", str(report))
    stopped = stopped_by(signal.SIGTERM, args, state, gate)
    assert stopped.returncode == 143, stopped.stderr
    run_id = the_run_id(state)
    done = outcome_rows(state, run_id)
    assert set(done) >= IN_FLIGHT_DONE and len(done) < ROWS
    failed = {r for (r,) in state_rows(state, "SELECT row FROM outcomes WHERE status != 'delivered'")}
    assert {line["row"] for line in report_lines(report)} == failed
    summary = summary_of(report)
    assert (summary["run_id"], summary["received"]) == (run_id, len(done))
    assert summary["delivered"] + summary["invalid"] == len(done)
    assert "SIGTERM" in summary["aborted"]


def test_sigterm_prints_the_command_that_resumes_and_it_finishes_every_row_once(
        served: tuple[Gate, str], tmp_path: Path) -> None:
    gate, url = served
    audience = write_audience(tmp_path / "a.csv", ROWS, bad_phone_rows=BAD)
    state = tmp_path / "state.sqlite"
    args = sync_args(write_config(tmp_path, "{concurrency: 2}"), audience, url, state)
    stopped = stopped_by(signal.SIGTERM, args, state, gate)
    assert stopped.returncode == 143, stopped.stderr
    report = run_report(state)  # the resumed run writes into the folder of the run it finishes
    command = printed_resume_command(stopped)
    assert command == [*args, "--resume"]
    resumed = run_cli(command)
    assert resumed.returncode == 1, resumed.stderr  # the three bad phones
    assert outcome_rows(state) == list(range(1, ROWS + 1))
    assert sorted(line["row"] for line in report_lines(report)) == sorted(BAD)
    summary = summary_of(report)
    assert (summary["run_id"], summary["received"], summary["delivered"]) == (the_run_id(state), ROWS, ROWS - len(BAD))
    assert len(gate.app.state.emulator.contacts) == ROWS - len(BAD)


def test_sigint_exits_130_and_resume_finishes_every_row_once(served: tuple[Gate, str], tmp_path: Path) -> None:
    gate, url = served
    state = tmp_path / "state.sqlite"
    args = sync_args(write_config(tmp_path, "{concurrency: 2}"), write_audience(tmp_path / "a.csv", ROWS), url, state)
    stopped = stopped_by(signal.SIGINT, args, state, gate)
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert set(outcome_rows(state)) >= IN_FLIGHT_DONE
    resumed = run_cli([*args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert outcome_rows(state) == list(range(1, ROWS + 1))


def test_a_second_signal_stops_at_once_without_waiting_for_batches_in_flight(tmp_path: Path) -> None:
    workspace = EmulatorState()
    state = tmp_path / "state.sqlite"
    config, audience = write_config(tmp_path), write_audience(tmp_path / "a.csv", ROWS)
    gate = gated(workspace, passes=0)  # no batch is answered until the process is gone
    stderr = tmp_path / "stderr.txt"
    with running_server(gate) as url, stderr.open("w") as err:
        proc = start_cli([*sync_args(config, audience, url, state), "--stop-grace", "3600"], stderr=err)
        try:
            wait_until(lambda: gate.held > 0, what="a batch in flight")
            proc.send_signal(signal.SIGTERM)
            # a signal sent while the same one is pending is lost: send the second once the first was seen
            wait_until(lambda: "SIGTERM: stopping" in stderr.read_text(), what="the first signal to be handled")
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=90)  # far less than the hour of grace the first signal allowed
        finally:
            if proc.poll() is None:
                proc.kill()
            gate.open()
    assert proc.returncode == 143
    assert outcome_rows(state) == []
    with running_server(gated(workspace, passes=ROWS)) as url:
        resumed = run_cli([*sync_args(config, audience, url, state), "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert outcome_rows(state) == list(range(1, ROWS + 1))


def test_ctrl_c_during_a_retry_dead_letters_nothing_and_the_next_retry_delivers_the_rest(tmp_path: Path) -> None:
    workspace = EmulatorState()
    audience = write_audience(tmp_path / "a.csv", ROWS)
    state = tmp_path / "state.sqlite"
    config = write_config(tmp_path, "{max_attempts: 1, concurrency: 2}")
    with running_server(gated(workspace, passes=ROWS, rate_503=1.0)) as url:
        first = run_cli(sync_args(config, audience, url, state))
    assert first.returncode == 1 and summary_of(run_report(state))["dead_lettered"] == ROWS
    gate = gated(workspace)
    with running_server(gate) as url:
        retry_args = sync_args(config, audience, url, state, command="retry")
        stopped = stopped_by(signal.SIGINT, retry_args, state, gate)
        assert stopped.returncode == 130, stopped.stderr
        assert state_rows(state, "SELECT row FROM outcomes WHERE message LIKE '%RuntimeError%'") == []
        assert set(outcome_rows(state, the_run_id(state, "retry"))) >= IN_FLIGHT_DONE
        assert printed_resume_command(stopped) == retry_args
        again = run_cli(retry_args)
    assert again.returncode == 0, again.stderr
    assert "Nothing to retry" not in again.stdout
    assert len(workspace.contacts) == ROWS
    report = run_report(state, "retry")  # the retry that finished the interrupted one wrote into its folder
    assert report_lines(report) == []
    assert summary_of(report)["delivered"] == ROWS
