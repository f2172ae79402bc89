"""The HTML report of a real run, opened from disk in a real headless Chromium: the counts it shows are the
run's, and nothing it needs comes from the network. Saves the screenshot the README shows.

Chromium is Debian's package (`.ci/run` installs it under CI=true), driven by the `playwright` package (dev
extra). Outside CI a machine without them skips this test; in CI it fails instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import run_cli, run_report, summary_of, sync_args, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "images" / "html-report.png"
IN_CI = os.environ.get("CI") == "true"


def browser_or_skip() -> None:
    """In CI a missing browser is a failure, never a skip."""
    missing = []
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        missing.append("chromium (apt-get install -y chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing and IN_CI:
        pytest.fail(f"CI=true but {' and '.join(missing)} is missing: .ci/run installs them")
    if missing:
        pytest.skip(f"{' and '.join(missing)} is not installed")


def a_run_with_every_kind_of_trouble(tmp_path: Path) -> Path:
    """A sync of 6,000 contacts: some phones invalid, the emulator slow and throttling; its report.html."""
    state = tmp_path / "state.sqlite"
    audience = write_audience(tmp_path / "audience.csv", 6_000, bad_phone_rows=frozenset(range(7, 6_000, 97)))
    config = write_config(tmp_path, "{concurrency: 1}")
    faults = "429=0.3,retry_after=0.3,latency=150,jitter=120,seed=7"
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, faults=faults)) as url:
        result = run_cli(sync_args(config, audience, url, state))
    assert result.returncode == 1, result.stderr
    return run_report(state)


def test_the_html_report_opens_from_disk_in_chromium_and_shows_the_runs_counts(tmp_path: Path) -> None:
    browser_or_skip()
    from playwright.sync_api import sync_playwright

    report = a_run_with_every_kind_of_trouble(tmp_path)
    summary = summary_of(report)
    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")))
        try:
            page = browser.new_page(viewport={"width": 1150, "height": 900})
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith("file://") else None)
            page.goto(report.with_name("report.html").as_uri())
            shown = {name: page.locator(f'[data-count="{name}"]').inner_text()
                     for name in ("received", "delivered", "invalid", "rejected", "dead_lettered", "skipped")}
            group = page.locator('[data-group="invalid_phone"] td').first.inner_text()
            requests = page.locator('[data-figure="requests"]').inner_text()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert shown == {name: f"{summary[name]:,}" for name in shown}
    assert (shown["received"], shown["invalid"]) == ("6,000", "62")
    assert group == "62"
    assert requests == f"{summary['requests']:,}"
    assert external == []
