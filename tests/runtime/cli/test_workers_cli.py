"""`--workers N` on `destkit sync`, `dry-run` and `retry`: validated, same reports, and a killed parent resumes.

The CLI runs as a subprocess against the Hello Charles emulator served on a port.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import EmulatorState, create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import (
    report_lines,
    run_cli,
    start_cli,
    state_rows,
    sync_args,
    wait_until,
    write_audience,
    write_config,
)
from tests.conftest import API_KEY, PROPERTIES, TAGS

BAD = frozenset({5, 11, 1_500})


@pytest.fixture
def url() -> Iterator[str]:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    with running_server(app) as served:
        yield served


def report_by_row(path: Path) -> list[dict[str, object]]:
    return sorted(report_lines(path), key=lambda line: int(str(line["row"])))


@pytest.mark.parametrize("command", ["sync", "dry-run", "retry"])
@pytest.mark.parametrize(("workers", "why"), [("0", "greater than or equal to 1"), ("65", "less than or equal to 64")])
def test_a_worker_count_outside_1_to_64_is_refused_before_anything_runs(tmp_path: Path, command: str, workers: str,
                                                                        why: str) -> None:
    config = write_config(tmp_path)
    audience = write_audience(tmp_path / "audience.csv", 3)
    done = run_cli([command, str(config), "--input", str(audience), "--workers", workers])
    assert done.returncode == 2
    assert f"Invalid value for '--workers': Input should be {why}" in done.stderr


def test_a_dry_run_with_two_workers_writes_the_report_of_one_worker(tmp_path: Path, url: str) -> None:
    config = write_config(tmp_path)
    audience = write_audience(tmp_path / "audience.csv", 3_000, bad_phone_rows=BAD)
    reports = []
    for workers in ("1", "2"):
        report = tmp_path / f"dry-{workers}.jsonl"
        done = run_cli(["dry-run", str(config), "--input", str(audience), "--base-url", url, "--allow-http", "--quiet",
                        "--report", str(report), "--workers", workers])
        assert done.returncode == 1, done.stderr
        reports.append(report_by_row(report))
    assert reports[0] == reports[1]
    assert [line["row"] for line in reports[1]] == sorted(BAD)


def test_a_sync_with_two_workers_delivers_every_valid_row_once(tmp_path: Path) -> None:
    workspace = EmulatorState()
    config = write_config(tmp_path, "{concurrency: 4}")
    audience = write_audience(tmp_path / "audience.csv", 3_000, bad_phone_rows=BAD)
    state = tmp_path / "state.sqlite"
    report = tmp_path / "report.jsonl"
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=workspace)) as url:
        done = run_cli(sync_args(config, audience, url, state, "--report", str(report), "--workers", "2"))
    assert done.returncode == 1, done.stderr
    assert [line["row"] for line in report_by_row(report)] == sorted(BAD)
    assert len(workspace.contacts) == 3_000 - len(BAD)
    rows = [r for (r,) in state_rows(state, "SELECT row FROM outcomes")]
    assert sorted(rows) == list(range(1, 3_001))


def children_of(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def is_gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"  # a zombie has ended
    except FileNotFoundError:
        return True


def test_a_parent_killed_mid_run_is_resumed_with_exactly_one_outcome_per_row(tmp_path: Path) -> None:
    rows = 12_000
    workspace = EmulatorState()
    config = write_config(tmp_path, "{concurrency: 2}")
    audience = write_audience(tmp_path / "audience.csv", rows, bad_phone_rows=BAD)
    state = tmp_path / "state.sqlite"
    slow = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=workspace,
                      faults=FaultPlan(latency_ms=300))
    with running_server(slow) as url:
        proc = start_cli(sync_args(config, audience, url, state, "--workers", "2"))
        wait_until(lambda: len(state_rows(state, "SELECT row FROM outcomes")) > 0, what="the first outcomes")
        workers = children_of(proc.pid)
        assert len(workers) == 2
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        wait_until(lambda: all(is_gone(pid) for pid in workers), what="the workers to end with their parent")
        killed_at = len(state_rows(state, "SELECT row FROM outcomes"))
        assert killed_at < rows
        done = run_cli(sync_args(config, audience, url, state, "--resume", "--workers", "2", "--wait-for-lock"))
    assert done.returncode == 1, done.stderr
    [(run_id,)] = state_rows(state, "SELECT run_id FROM runs")
    by_row = state_rows(state, "SELECT row, COUNT(*), status FROM outcomes WHERE run_id = ? GROUP BY row", run_id)
    assert [row for row, _n, _status in by_row] == list(range(1, rows + 1))
    assert all(n == 1 for _row, n, _status in by_row)
    assert {row for row, _n, status in by_row if status != "delivered"} == BAD
    assert len(workspace.contacts) == rows - len(BAD)
    assert os.path.exists(state)


def test_sigterm_stops_every_worker_cleanly_and_the_resume_finishes_each_row_once(tmp_path: Path) -> None:
    rows = 12_000
    workspace = EmulatorState()
    config = write_config(tmp_path, "{concurrency: 2}")
    audience = write_audience(tmp_path / "audience.csv", rows, bad_phone_rows=BAD)
    state = tmp_path / "state.sqlite"
    slow = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=workspace,
                      faults=FaultPlan(latency_ms=300))
    with running_server(slow) as url:
        proc = start_cli(sync_args(config, audience, url, state, "--workers", "2"))
        wait_until(lambda: len(state_rows(state, "SELECT row FROM outcomes")) > 0, what="the first outcomes")
        workers = children_of(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert all(is_gone(pid) for pid in workers)
        stopped_at = state_rows(state, "SELECT row FROM outcomes")
        assert 0 < len(stopped_at) < rows
        assert "--workers 2 --resume" in err
        done = run_cli(sync_args(config, audience, url, state, "--resume", "--workers", "2"))
    assert done.returncode == 1, done.stderr
    [(run_id,)] = state_rows(state, "SELECT run_id FROM runs")
    by_row = state_rows(state, "SELECT row, COUNT(*) FROM outcomes WHERE run_id = ? GROUP BY row", run_id)
    assert [row for row, _n in by_row] == list(range(1, rows + 1))
    assert all(n == 1 for _row, n in by_row)
    assert len(workspace.contacts) == rows - len(BAD)
