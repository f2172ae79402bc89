"""A worker process of `destkit sync --workers 2` killed mid-run (SIGKILL, the OOM killer): the run ends with exit 2
saying a worker died (not that authentication failed), its records get one outcome each, and `--resume` finishes."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import EmulatorState, create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import run_cli, start_cli, state_rows, sync_args, wait_until, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS
from tests.runtime.cli.test_workers_cli import children_of

ROWS = 6_000


def parquet_audience(folder: Path) -> Path:
    table = pcsv.read_csv(write_audience(folder / "audience.csv", ROWS), convert_options=pcsv.ConvertOptions(
        column_types=dict.fromkeys(["user_id", "first_name", "phone", "segments"], pa.string())))
    pq.write_table(table, folder / "audience.parquet", row_group_size=1_500)
    return folder / "audience.parquet"


def test_a_killed_worker_aborts_the_run_naming_it_and_the_resume_gives_every_row_one_outcome(tmp_path: Path) -> None:
    config, audience, state = write_config(tmp_path, "{concurrency: 2}"), parquet_audience(tmp_path), tmp_path / "s.db"
    slow = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=EmulatorState(),
                      faults=FaultPlan(latency_ms=300))
    with running_server(slow) as url:
        proc = start_cli(sync_args(config, audience, url, state, "--workers", "2"))
        wait_until(lambda: len(state_rows(state, "SELECT row FROM outcomes")) > 0, what="the first outcomes")
        os.kill(children_of(proc.pid)[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
        message = " ".join(stderr.split())
        assert proc.returncode == 2, stderr
        assert re.search(r"the run was aborted: worker process [01] ended unexpectedly \(exit code -9\)\.", message)
        assert "authentication failed" not in message and "Traceback" not in message
        done = run_cli(sync_args(config, audience, url, state, "--resume", "--workers", "2", "--wait-for-lock"))
    assert done.returncode == 1, done.stderr  # the records the dead worker had are dead-lettered
    [(run_id,)] = state_rows(state, "SELECT run_id FROM runs")
    by_row = state_rows(state, "SELECT row, COUNT(*) FROM outcomes WHERE run_id = ? GROUP BY row", run_id)
    assert [row for row, _n in by_row] == list(range(1, ROWS + 1))
    assert all(n == 1 for _row, n in by_row)
