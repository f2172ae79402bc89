"""`destkit sync` and `destkit retry` write the HTML report into the run's folder and where --html-report says,
group the records not delivered in the summary they print and in the summary file.

Runs the CLI as a subprocess against the Hello Charles emulator served on a local port.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import (
    report_lines,
    run_cli,
    run_report,
    summary_of,
    sync_args,
    write_audience,
    write_config,
)
from tests.conftest import API_KEY, PROPERTIES, TAGS

BAD_PHONES = frozenset({2, 5, 7, 9, 12})


@pytest.fixture
def url() -> Iterator[str]:
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as served:
        yield served


def loud(args: list[str]) -> list[str]:
    return [a for a in args if a != "--quiet"]


def test_a_sync_writes_report_html_into_its_run_folder_with_the_exact_counts(url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    audience = write_audience(tmp_path / "a.csv", 30, bad_phone_rows=BAD_PHONES)
    result = run_cli(sync_args(write_config(tmp_path), audience, url, state))
    assert result.returncode == 1, result.stderr
    report = run_report(state)
    page = report.with_name("report.html").read_text(encoding="utf-8")
    assert f"html:    {report.with_name('report.html')}" in result.stdout
    assert '<td class="num" data-count="delivered">25</td>' in page
    assert '<td class="num" data-count="invalid">5</td>' in page
    assert '<th class="num" data-count="received">30</th>' in page
    assert API_KEY not in page


def test_html_report_names_a_second_copy_and_the_command_prints_it(url: str, tmp_path: Path) -> None:
    state, named = tmp_path / "state.sqlite", tmp_path / "out" / "run.html"
    audience = write_audience(tmp_path / "a.csv", 4)
    result = run_cli(sync_args(write_config(tmp_path), audience, url, state, "--html-report", str(named)))
    assert result.returncode == 0, result.stderr
    assert f"html:    {named}" in result.stdout
    assert named.read_text(encoding="utf-8") == run_report(state).with_name("report.html").read_text(encoding="utf-8")


def test_a_retry_writes_its_own_html_report_where_html_report_says(tmp_path: Path) -> None:
    state, named = tmp_path / "state.sqlite", tmp_path / "retry.html"
    config = write_config(tmp_path, "{max_attempts: 1}")
    audience = write_audience(tmp_path / "a.csv", 40)
    with running_server(create_app(api_key=API_KEY, tags=TAGS, faults="500=1.0")) as failing:
        first = run_cli(sync_args(config, audience, failing, state))
    dead = summary_of(run_report(state))["dead_lettered"]
    with running_server(create_app(api_key=API_KEY, tags=TAGS)) as healthy:
        result = run_cli(sync_args(config, audience, healthy, state, "--html-report", str(named), command="retry"))
    assert (first.returncode, result.returncode, dead) == (1, 0, 40), first.stderr + result.stderr
    page = named.read_text(encoding="utf-8")
    assert f'<td class="num" data-count="delivered">{dead}</td>' in page
    assert f'<th class="num" data-count="received">{dead}</th>' in page


def test_the_printed_summary_groups_the_records_not_delivered_with_three_sample_rows(url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    audience = write_audience(tmp_path / "a.csv", 30, bad_phone_rows=BAD_PHONES)
    result = run_cli(loud(sync_args(write_config(tmp_path), audience, url, state)))
    assert result.returncode == 1, result.stderr
    assert "  5 records  invalid · invalid_phone · phone_number\n" in result.stdout
    assert re.findall(r"e\.g\. row (\d+) · key (\w+)", result.stdout) == [("2", "u00002"), ("5", "u00005"),
                                                                         ("7", "u00007")]
    assert result.stdout.count("is not in international format") == 1


def test_the_summary_file_keeps_its_keys_and_adds_the_error_groups(url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    audience = write_audience(tmp_path / "a.csv", 30, bad_phone_rows=BAD_PHONES)
    run_cli(sync_args(write_config(tmp_path), audience, url, state))
    summary = summary_of(run_report(state))
    assert (summary["received"], summary["delivered"], summary["invalid"]) == (30, 25, 5)
    assert summary["reasons"] == {"invalid_phone": 5}
    [group] = summary["error_groups"]
    assert (group["outcome"], group["reason"], group["field"], group["count"]) == ("invalid", "invalid_phone",
                                                                                  "phone_number", 5)
    assert [s["row"] for s in group["samples"]] == [2, 5, 7]
    assert (summary["error_groups_other"], summary["throttle_waits"]) == (0, 0)


def test_the_report_line_of_an_invalid_record_carries_its_offending_value(url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"  # the report is rewritten from the state store: the value goes through it
    audience = write_audience(tmp_path / "a.csv", 3, bad_phone_rows=frozenset({2}))
    run_cli(sync_args(write_config(tmp_path), audience, url, state))
    [line] = report_lines(run_report(state))
    assert (line["row"], line["field"], line["value"]) == (2, "phone_number", "415-555-0101")
    assert summary_of(run_report(state))["error_groups"][0]["samples"][0]["value"] == "415-555-0101"
