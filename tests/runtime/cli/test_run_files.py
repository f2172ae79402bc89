"""Where `destkit sync` writes: each run into its own folder, an earlier report kept, the paths always printed.

Runs the CLI as a subprocess against the Hello Charles emulator served on a local port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import (
    ENV,
    KEY_ENV,
    report_lines,
    run_cli,
    state_rows,
    sync_args,
    write_audience,
    write_config,
)
from tests.conftest import API_KEY, PROPERTIES, TAGS


@pytest.fixture
def url() -> Iterator[str]:
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as served:
        yield served


def run_ids(state: Path) -> list[str]:
    return [str(run_id) for (run_id,) in state_rows(state, "SELECT run_id FROM runs ORDER BY started_at")]


def test_each_run_writes_its_report_and_summary_into_its_own_folder_and_keeps_the_earlier_ones(
        url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    config = write_config(tmp_path)
    first = run_cli(sync_args(config, write_audience(tmp_path / "a.csv", 4, bad_phone_rows=frozenset({2})), url, state))
    first_report = tmp_path / "runs" / run_ids(state)[0] / "report.jsonl"
    before = first_report.read_bytes()
    second = run_cli(sync_args(config, write_audience(tmp_path / "b.csv", 3), url, state))
    assert (first.returncode, second.returncode) == (1, 0), first.stderr + second.stderr
    first_id, second_id = run_ids(state)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted([first_id, second_id])
    for run_id in (first_id, second_id):
        assert sorted(p.name for p in (tmp_path / "runs" / run_id).iterdir()) == ["report.html", "report.jsonl",
                                                                                 "report.summary.json"]
    assert first_report.read_bytes() == before
    assert [line["row"] for line in report_lines(first_report)] == [2]
    assert report_lines(tmp_path / "runs" / second_id / "report.jsonl") == []


def test_quiet_still_prints_where_the_report_and_summary_are(url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    result = run_cli(sync_args(write_config(tmp_path), write_audience(tmp_path / "a.csv", 2), url, state))
    assert result.returncode == 0, result.stderr
    [run_id] = run_ids(state)
    folder = tmp_path / "runs" / run_id
    assert result.stdout == (f"report:  {folder / 'report.jsonl'}\nsummary: {folder / 'report.summary.json'}\n"
                             f"html:    {folder / 'report.html'}\n")


def test_a_run_refused_at_authentication_keeps_the_earlier_report_it_would_have_replaced(
        url: str, tmp_path: Path) -> None:
    state, report = tmp_path / "state.sqlite", tmp_path / "out" / "report.jsonl"
    config, audience = write_config(tmp_path), write_audience(tmp_path / "a.csv", 3, bad_phone_rows=frozenset({1}))
    good = run_cli(sync_args(config, audience, url, state, "--report", str(report)))
    assert good.returncode == 1, good.stderr
    report_before, summary_before = report.read_bytes(), report.with_suffix(".summary.json").read_bytes()
    refused = run_cli(sync_args(config, audience, url, state, "--report", str(report)),
                      env={**ENV, KEY_ENV: "not-the-key"})
    assert refused.returncode == 2
    assert "authentication failed" in refused.stderr
    assert (report.read_bytes(), report.with_suffix(".summary.json").read_bytes()) == (report_before, summary_before)
    assert refused.stdout == (f"report:  none written; the earlier report {report} and its summary were kept "
                              "(no record had an outcome).\n")


def test_a_run_refused_at_authentication_prints_no_table_of_zeros(url: str, tmp_path: Path) -> None:
    args = [a for a in sync_args(write_config(tmp_path), write_audience(tmp_path / "a.csv", 2), url,
                                 tmp_path / "state.sqlite") if a != "--quiet"]
    refused = run_cli(args, env={**ENV, KEY_ENV: "not-the-key"})
    assert refused.returncode == 2
    assert "received" not in refused.stdout
    assert "report:  " in refused.stdout


def test_no_state_with_resume_is_a_usage_error_that_sends_nothing(tmp_path: Path) -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    with running_server(app) as url:
        result = run_cli(["sync", str(write_config(tmp_path)), "--input", str(write_audience(tmp_path / "a.csv", 2)),
                          "--base-url", url, "--allow-http", "--no-state", "--resume"])
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == ("error: --resume continues a run recorded in the state store, and "
                                              "--no-state keeps none; drop one of them.")
    assert app.state.emulator.contacts == {}
    assert not (tmp_path / "runs").exists()


def test_without_a_state_store_a_dead_letter_promises_no_later_run(tmp_path: Path) -> None:
    from destkit.destinations._kit import FaultPlan

    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, faults=FaultPlan(rate_503=1.0))
    config = write_config(tmp_path, "{max_attempts: 1}")
    report = tmp_path / "r.jsonl"
    with running_server(app) as url:
        result = run_cli(["sync", str(config), "--input", str(write_audience(tmp_path / "a.csv", 2)), "--base-url", url,
                          "--allow-http", "--no-state", "--quiet", "--report", str(report)])
    assert result.returncode == 1, result.stderr
    messages = [line["message"] for line in report_lines(report)]
    assert [line["outcome"] for line in report_lines(report)] == ["dead_lettered", "dead_lettered"]
    assert not [m for m in messages if "next run" in m or "destkit retry" in m]
    assert all(m.endswith("The record is dead-lettered; this run keeps no state (--no-state), so no later run knows "
                          "it: run the input again to send it.") for m in messages)
    assert ("2 records dead-lettered (see the report). This run kept no state (--no-state), so no later run or "
            "`destkit retry` knows them: run the whole input again to send them, or run with a state store.") \
        in result.stdout
