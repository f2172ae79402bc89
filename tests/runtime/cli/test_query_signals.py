"""SIGTERM and Ctrl-C stop a `--input-sql` run whose query is still finding rows (an endless scan): before,
the CLI sat in DuckDB's C code and heard neither (Ctrl-C hung; SIGTERM did nothing once the run had begun)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import start_cli, state_rows, summary_of, wait_until, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS

# 20,000 contacts, then a scan that finds no more rows for hours (one DuckDB thread: one core)
ENDLESS = ("SET threads = 1; SELECT 'u' || i AS user_id, 'F' AS first_name, '+1415' || lpad(i::VARCHAR, 7, '0') "
           "AS phone, 'vip' AS segments FROM range(100000000000) t(i) WHERE i < {rows} OR hash(i) = 42")
READ = 16384  # the rows of the two full batches DuckDB hands over before it scans on


@pytest.fixture
def url() -> Iterator[str]:
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as served:
        yield served


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


def test_sigterm_while_the_query_finds_rows_stops_the_run_with_143_and_what_was_read_recorded(
        tmp_path: Path, url: str) -> None:
    state, report = tmp_path / "state.db", tmp_path / "report.jsonl"
    process = start_cli(["sync", str(write_config(tmp_path)), "--input-sql", ENDLESS.format(rows=20000),
                         "--base-url", url, "--allow-http", "--state", str(state), "--quiet", "--report", str(report)],
                        stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: state_rows(state, "SELECT count(*) FROM outcomes") >= [(8000,)], timeout=120,
                   what="the first batches of the rows the query gave to be delivered")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143, stderr
    assert "SIGTERM: stopping" in stderr and "Traceback" not in stderr
    assert "stopped by SIGTERM" in summary_of(report)["aborted"]
    [(rows, distinct, last)] = state_rows(state, "SELECT count(*), count(DISTINCT row), max(row) FROM outcomes")
    assert rows == distinct and 8000 <= rows <= READ and last <= READ


def test_ctrl_c_while_the_query_finds_its_first_rows_ends_the_command_with_130(tmp_path: Path, url: str) -> None:
    process = start_cli(["sync", str(write_config(tmp_path)), "--input-sql", ENDLESS.format(rows=0),
                         "--base-url", url, "--allow-http", "--state", str(tmp_path / "state.db"), "--quiet"],
                        stdout=subprocess.DEVNULL)
    try:
        # past the imports and the config's checks, the query is scanning
        wait_until(lambda: cpu_seconds(process.pid) > 5, timeout=120, what="the query to run")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
