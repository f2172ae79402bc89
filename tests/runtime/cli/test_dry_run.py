"""`destkit dry-run`: the whole input through everything but the network, the files a sync writes, its exit codes.

Runs the CLI as a subprocess against the Hello Charles emulator served on a local port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import ENV, KEY_ENV, report_lines, run_cli, summary_of, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS, emulator_state

CATALOGS = "catalogs: {tags: [vip, newsletter, summer_sale, '984'], custom_properties: [loyalty_tier]}\n"


@pytest.fixture
def app() -> Starlette:
    return create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)


@pytest.fixture
def url(app: Starlette) -> Iterator[str]:
    with running_server(app) as served:
        yield served


def dry_run_args(config: Path, audience: Path, *more: str) -> list[str]:
    return ["dry-run", str(config), "--input", str(audience), "--quiet", *more]


def the_run_folder(state: Path) -> Path:
    [folder] = list((state.parent / "runs").iterdir())
    return folder


def test_a_dry_run_writes_the_report_and_summary_into_its_run_folder_and_exits_1_for_records_not_deliverable(
        url: str, app: Starlette, tmp_path: Path) -> None:
    state = tmp_path / "store" / "state.sqlite"
    audience = write_audience(tmp_path / "a.csv", 4, bad_phone_rows=frozenset({2}))
    result = run_cli(dry_run_args(write_config(tmp_path), audience, "--base-url", url, "--allow-http",
                                  "--state", str(state)))
    assert result.returncode == 1, result.stderr
    folder = the_run_folder(state)
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.jsonl", "report.summary.json"]
    assert [(line["row"], line["outcome"], line["reason"]) for line in report_lines(folder / "report.jsonl")] == [
        (2, "invalid", "invalid_phone")]
    summary = summary_of(folder / "report.jsonl")
    assert (summary["dry_run"], summary["received"], summary["delivered"], summary["invalid"]) == (True, 4, 3, 1)
    assert summary["run_id"] == folder.name
    assert result.stdout.splitlines() == [
        f"report:  {folder / 'report.jsonl'}", f"summary: {folder / 'report.summary.json'}",
        f"html:    {folder / 'report.html'}",
        "Dry run: 3 records would be sent; nothing was sent and no state was kept."]


def test_a_dry_run_writes_the_html_report_where_html_report_says_too(url: str, tmp_path: Path) -> None:
    state = tmp_path / "store" / "state.sqlite"
    audience = write_audience(tmp_path / "a.csv", 3, bad_phone_rows=frozenset({3}))
    page = tmp_path / "out" / "dry.html"
    result = run_cli(dry_run_args(write_config(tmp_path), audience, "--base-url", url, "--allow-http",
                                  "--state", str(state), "--html-report", str(page)))
    assert result.returncode == 1, result.stderr
    html = page.read_text(encoding="utf-8")
    assert html == (the_run_folder(state) / "report.html").read_text(encoding="utf-8")
    assert "invalid_phone" in html


def test_a_dry_run_reads_the_catalogs_and_sends_nothing_and_keeps_no_state(
        url: str, app: Starlette, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    result = run_cli(dry_run_args(write_config(tmp_path), write_audience(tmp_path / "a.csv", 3), "--base-url", url,
                                  "--allow-http", "--state", str(state)))
    assert result.returncode == 0, result.stderr
    assert sorted({(r.method, r.path) for r in emulator_state(app).requests}) == [
        ("GET", "/api/v0/custom_properties"), ("GET", "/api/v0/tags")]
    assert not state.exists()


def test_an_offline_dry_run_uses_the_configs_catalogs_and_needs_no_secret_nor_destination(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + CATALOGS, encoding="utf-8")
    report = tmp_path / "out" / "dry.jsonl"
    result = run_cli(dry_run_args(config, write_audience(tmp_path / "a.csv", 3, bad_phone_rows=frozenset({3})),
                                  "--offline", "--report", str(report)), env={**ENV, KEY_ENV: ""})
    assert result.returncode == 1, result.stderr
    assert [line["row"] for line in report_lines(report)] == [3]
    assert summary_of(report)["delivered"] == 2


def test_an_offline_dry_run_without_the_catalogs_in_the_config_is_a_config_error(tmp_path: Path) -> None:
    result = run_cli(dry_run_args(write_config(tmp_path), write_audience(tmp_path / "a.csv", 2), "--offline",
                                  "--state", str(tmp_path / "state.sqlite")))
    assert result.returncode == 2
    assert "the tags catalog is needed to check records but no network is allowed" in result.stderr


def test_a_dry_run_refused_at_authentication_exits_2(url: str, tmp_path: Path) -> None:
    result = run_cli(dry_run_args(write_config(tmp_path), write_audience(tmp_path / "a.csv", 2), "--base-url", url,
                                  "--allow-http", "--state", str(tmp_path / "state.sqlite")),
                     env={**ENV, KEY_ENV: "not-the-key"})
    assert result.returncode == 2
    assert "authentication failed" in result.stderr
    assert "not-the-key" not in result.stdout + result.stderr
