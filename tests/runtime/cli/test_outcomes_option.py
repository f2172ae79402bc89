"""`--outcomes PATH` and `options.primary_key` through the CLI: `destkit sync`, `dry-run` and `retry` as
subprocesses against the Hello Charles emulator served on a port, with a real SQLite state store.
"""

from __future__ import annotations

import csv
import shlex
import signal
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine.outcome_table import OUTCOME_COLUMNS
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
    write_config,
)
from tests.conftest import API_KEY, PROPERTIES, TAGS

KEYED = "{primary_key: customer_id, concurrency: 1}"


def write_keyed_audience(path: Path, rows: int, bad: frozenset[int] = frozenset()) -> Path:
    """Contacts with a `customer_id` column (C<row + 1000>); the `bad` rows have a phone the checks refuse."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "user_id", "first_name", "phone", "segments"])
        for row in range(1, rows + 1):
            phone = "415-555-0101" if row in bad else f"+1415{row:07d}"
            w.writerow([f"C{row + 1000}", f"u{row:05d}", f"F{row}", phone, TAGS[row % len(TAGS)]])
    return path


def emulator(**faults: Any) -> Any:
    return create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, faults=FaultPlan(**faults))


def parquet_rows(path: Path) -> list[dict[str, Any]]:
    return sorted(pq.read_table(path).to_pylist(), key=lambda r: r["row"])


def killed_with_a_batch_in_flight(args: list[str], gate: Gate, state: Path) -> None:
    """Run `args`; SIGKILL it once a batch is recorded and the next is held by `gate`, then open the gate."""
    first = start_cli(args)
    try:
        wait_until(lambda: gate.held > 0 and len(outcome_rows(state)) > 0, what="a batch recorded, one in flight")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        gate.open()


def test_sync_writes_a_parquet_row_per_record_keyed_by_the_primary_key(tmp_path: Path) -> None:
    audience = write_keyed_audience(tmp_path / "a.csv", 30, bad=frozenset({4}))
    state, outcomes = tmp_path / "state.sqlite", tmp_path / "out" / "outcomes.parquet"
    with running_server(emulator()) as url:
        done = run_cli(sync_args(write_config(tmp_path, KEYED), audience, url, state, "--outcomes", str(outcomes)))
    assert done.returncode == 1, done.stderr  # row 4 is invalid
    rows = parquet_rows(outcomes)
    assert [(r["row"], r["primary_key"]) for r in rows] == [(i, f"C{i + 1000}") for i in range(1, 31)]
    assert {r["run_id"] for r in rows} == {summary_of(run_report(state))["run_id"]}
    assert [(r["primary_key"], r["reason"]) for r in rows if r["outcome"] != "delivered"] == [("C1004", "invalid_phone")]
    assert f"outcomes: {outcomes}" in done.stdout


def test_the_report_line_of_a_record_carries_its_primary_key(tmp_path: Path) -> None:
    audience = write_keyed_audience(tmp_path / "a.csv", 5, bad=frozenset({2}))
    state = tmp_path / "state.sqlite"
    with running_server(emulator()) as url:
        run_cli(sync_args(write_config(tmp_path, KEYED), audience, url, state))
    [line] = report_lines(run_report(state))
    assert (line["row"], line["primary_key"], line["reason"]) == (2, "C1002", "invalid_phone")
    [group] = summary_of(run_report(state))["error_groups"]
    assert group["samples"][0]["primary_key"] == "C1002"


def test_dry_run_writes_the_outcomes_as_csv(tmp_path: Path) -> None:
    audience = write_keyed_audience(tmp_path / "a.csv", 4, bad=frozenset({3}))
    outcomes = tmp_path / "outcomes.csv"
    with running_server(emulator()) as url:
        done = run_cli(["dry-run", str(write_config(tmp_path, KEYED)), "--input", str(audience), "--base-url", url,
                        "--allow-http", "--state", str(tmp_path / "state.sqlite"), "--quiet", "--outcomes",
                        str(outcomes)])
    assert done.returncode == 1, done.stderr
    with outcomes.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = sorted(reader, key=lambda r: int(r["row"]))
    assert reader.fieldnames == list(OUTCOME_COLUMNS)
    assert [(r["primary_key"], r["outcome"], r["reason"]) for r in rows] == [
        ("C1001", "delivered", ""), ("C1002", "delivered", ""), ("C1003", "invalid", "invalid_phone"),
        ("C1004", "delivered", "")]


def test_retry_writes_the_records_it_sends_again_as_jsonl(tmp_path: Path) -> None:
    audience = write_keyed_audience(tmp_path / "a.csv", 6)
    state, config = tmp_path / "state.sqlite", write_config(tmp_path, "{primary_key: customer_id, max_attempts: 1}")
    with running_server(emulator(rate_500=1.0)) as failing:
        first = run_cli(sync_args(config, audience, failing, state))
    assert first.returncode == 1, first.stderr  # every record dead-lettered
    outcomes = tmp_path / "retry.jsonl"
    with running_server(emulator()) as healthy:
        again = run_cli(sync_args(config, audience, healthy, state, "--outcomes", str(outcomes), command="retry"))
    assert again.returncode == 0, again.stderr
    lines = sorted((orjson.loads(line) for line in outcomes.read_bytes().splitlines()), key=lambda line: line["row"])
    assert [(line["primary_key"], line["outcome"]) for line in lines] == [(f"C{1000 + i}", "delivered")
                                                                         for i in range(1, 7)]


def test_a_resumed_run_carries_the_primary_key_in_its_report_and_outcomes_of_every_row(tmp_path: Path) -> None:
    audience = write_keyed_audience(tmp_path / "a.csv", 3000, bad=frozenset({5, 2500}))
    state, outcomes = tmp_path / "state.sqlite", tmp_path / "outcomes.parquet"
    gate = Gate(emulator(), passes=1)  # the first batch is answered; the second is held until the kill
    with running_server(gate) as url:
        args = sync_args(write_config(tmp_path, KEYED), audience, url, state, "--outcomes", str(outcomes))
        killed_with_a_batch_in_flight(args, gate, state)
        resumed = run_cli([*args, "--resume"])
    assert resumed.returncode == 1, resumed.stderr
    assert sorted((line["row"], line["primary_key"]) for line in report_lines(run_report(state))) == [
        (5, "C1005"), (2500, "C3500")]
    rows = parquet_rows(outcomes)
    assert [r["row"] for r in rows] == list(range(1, 3001))
    assert all(r["primary_key"] == f"C{r['row'] + 1000}" for r in rows)
    [(run_id,)] = state_rows(state, "SELECT run_id FROM runs")
    assert {r["run_id"] for r in rows} == {run_id}


def test_a_killed_run_leaves_no_unreadable_parquet_file_and_its_resume_writes_it_whole(tmp_path: Path) -> None:
    audience = write_keyed_audience(tmp_path / "a.csv", 2000)
    state, outcomes = tmp_path / "state.sqlite", tmp_path / "outcomes.parquet"
    gate = Gate(emulator(), passes=1)
    with running_server(gate) as url:
        args = sync_args(write_config(tmp_path, KEYED), audience, url, state, "--outcomes", str(outcomes))
        killed_with_a_batch_in_flight(args, gate, state)
        assert sorted(p.name for p in tmp_path.iterdir() if "outcomes" in p.name) == [".outcomes.parquet.partial"]
        resumed = run_cli([*args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert [r["row"] for r in parquet_rows(outcomes)] == list(range(1, 2001))
    assert sorted(p.name for p in tmp_path.iterdir() if "outcomes" in p.name) == ["outcomes.parquet"]


def test_a_stopped_run_leaves_a_readable_outcome_file_of_the_records_that_had_an_outcome(tmp_path: Path) -> None:
    audience = write_keyed_audience(tmp_path / "a.csv", 5000)
    state, outcomes = tmp_path / "state.sqlite", tmp_path / "outcomes.parquet"
    gate = Gate(emulator(), passes=1)
    with running_server(gate) as url:
        proc = start_cli(sync_args(write_config(tmp_path, KEYED), audience, url, state, "--outcomes", str(outcomes)))
        try:
            wait_until(lambda: gate.held > 0 and len(outcome_rows(state)) > 0, what="a batch recorded, one in flight")
            proc.send_signal(signal.SIGTERM)
            gate.open()
            _out, err = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 143, err
    assert [r["row"] for r in parquet_rows(outcomes)] == outcome_rows(state)
    [resume] = [shlex.split(line) for line in err.splitlines() if line.strip().startswith("destkit ")]
    assert resume[resume.index("--outcomes") + 1] == str(outcomes)


def test_a_primary_key_the_input_lacks_is_a_config_error_with_a_did_you_mean(tmp_path: Path) -> None:
    audience = write_keyed_audience(tmp_path / "a.csv", 2)
    config = write_config(tmp_path, "{primary_key: customer_ID}")
    with running_server(emulator()) as url:
        done = run_cli(sync_args(config, audience, url, tmp_path / "state.sqlite"))
    assert done.returncode == 2
    assert f"{config}:6: options.primary_key: 'customer_ID' is not a column of the header of {audience.name}. " \
           "Fix: did you mean 'customer_id'?" in " ".join(done.stderr.split())


def test_an_outcome_file_of_an_unknown_kind_stops_the_command_before_anything_is_sent(tmp_path: Path) -> None:
    audience = write_keyed_audience(tmp_path / "a.csv", 2)
    app = emulator()
    with running_server(app) as url:
        done = run_cli(sync_args(write_config(tmp_path, KEYED), audience, url, tmp_path / "state.sqlite",
                                 "--outcomes", str(tmp_path / "outcomes.xlsx")))
    assert done.returncode == 2
    assert "the file must end in .parquet, .jsonl, .csv" in " ".join(done.stderr.split())
    assert [r for r in app.state.emulator.requests if r.method != "GET"] == []
