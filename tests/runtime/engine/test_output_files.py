"""The files a run writes hold personal data: created 0600, never over the input, never through a symlink."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine.report import JsonlReport
from destkit.runtime.engine.state import StateStore
from destkit.runtime.outcomes import Outcome, Status
from tests.cli_runs import run_cli, run_report, sync_args, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask, under which files are created 0644 unless asked otherwise
    yield
    os.umask(old)


@pytest.fixture
def url() -> Iterator[str]:
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as served:
        yield served


def test_the_state_store_report_and_summary_are_created_readable_by_their_owner_only(url: str, tmp_path: Path) -> None:
    audience = write_audience(tmp_path / "a.csv", 10, bad_phone_rows=frozenset({3}))
    state = tmp_path / "state" / "state.sqlite"
    result = run_cli(sync_args(write_config(tmp_path), audience, url, state))
    assert result.returncode == 1, result.stderr
    report = run_report(state)
    assert (mode(state), mode(report), mode(report.with_suffix(".summary.json"))) == (0o600, 0o600, 0o600)


def test_a_report_that_exists_readable_by_all_is_rewritten_readable_by_its_owner_only(tmp_path: Path) -> None:
    report = tmp_path / "r.jsonl"
    report.write_text("an earlier report\n")
    report.chmod(0o644)
    writer = JsonlReport(report)
    writer(Outcome(row=1, status=Status.INVALID, key="k"))
    writer.close()
    assert mode(report) == 0o600


def test_a_state_store_file_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    StateStore(tmp_path / "s.sqlite").close()
    assert mode(tmp_path / "s.sqlite") == 0o600


@pytest.mark.parametrize("spelling", ["same", "relative", "through a symlink"])
def test_a_report_path_that_is_the_input_is_refused_and_the_input_kept(spelling: str, url: str, tmp_path: Path) -> None:
    audience = write_audience(tmp_path / "a.csv", 10)
    before = audience.read_bytes()
    report = {"same": str(audience), "relative": os.path.relpath(audience),
              "through a symlink": str(tmp_path / "link.csv")}[spelling]
    if spelling == "through a symlink":
        (tmp_path / "link.csv").symlink_to(audience)
    result = run_cli(sync_args(write_config(tmp_path), audience, url, tmp_path / "s.sqlite", "--report", report))
    assert result.returncode == 2
    assert "is the input" in result.stderr
    assert audience.read_bytes() == before


def test_a_summary_path_that_is_the_input_is_refused_and_the_input_kept(url: str, tmp_path: Path) -> None:
    audience = tmp_path / "r.summary.json"  # the summary of the report r.jsonl
    audience.write_text('{"user_id": "u1", "phone": "+14155550101"}\n')
    result = run_cli(sync_args(write_config(tmp_path), audience, url, tmp_path / "s.sqlite", "--report",
                               str(tmp_path / "r.jsonl"), "--format", "jsonl"))
    assert result.returncode == 2
    assert "is the input" in result.stderr
    assert audience.read_text() == '{"user_id": "u1", "phone": "+14155550101"}\n'


def test_a_report_path_that_is_the_state_store_is_refused(url: str, tmp_path: Path) -> None:
    audience, state = write_audience(tmp_path / "a.csv", 10), tmp_path / "s.sqlite"
    StateStore(state).close()
    before = state.read_bytes()
    result = run_cli(sync_args(write_config(tmp_path), audience, url, state, "--report", str(state)))
    assert result.returncode == 2
    assert "is the state store" in result.stderr
    assert state.read_bytes() == before


@pytest.mark.parametrize("which", ["report", "summary"])
def test_a_report_or_summary_path_that_is_a_symlink_is_refused_and_its_target_kept(
        which: str, url: str, tmp_path: Path) -> None:
    audience = write_audience(tmp_path / "a.csv", 10, bad_phone_rows=frozenset({3}))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    report = tmp_path / "r.jsonl"
    (report if which == "report" else report.with_suffix(".summary.json")).symlink_to(victim)
    result = run_cli(sync_args(write_config(tmp_path), audience, url, tmp_path / "s.sqlite", "--report", str(report)))
    assert result.returncode == 2
    assert "symlink" in result.stderr
    assert victim.read_text() == "precious\n"
