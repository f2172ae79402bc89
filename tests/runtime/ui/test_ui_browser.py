"""`destkit ui` in a real browser: headless Chromium (Debian's `chromium`, driven by playwright) loads the
page served by the CLI, picks Hello Charles / Send Contacts, edits the mapping, uploads a sample, and sees
each record's mapped body and the error text; a secret typed into the page is never written anywhere.

When CI=true and chromium is missing the test fails (`.ci/run` installs it); elsewhere it is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOT = ROOT / "docs" / "images" / "ui.png"
SECRET = "ui-secret-7c1f9a2e5b"

SAMPLE = (
    "customer_id,given_name,phone,segments\n"
    "c-1,Anna,+4915112345678,vip\n"
    "c-2,Ben,0151 1234 567,newsletter\n"
    "c-3,Clara,+4915112345679,platinum_club\n"
)


def browser_available() -> None:
    """Fail under CI (it installs chromium), skip on a developer machine without it."""
    missing = [what for what, ok in (("chromium", Path(CHROMIUM).exists()), ("playwright", _has_playwright()))
               if not ok]
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"{' and '.join(missing)} missing under CI: .ci/run installs them")
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed")


def _has_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def ui_url(home: Path, tmp_path: Path) -> Iterator[str]:
    """`destkit ui --port 0` started as a user would, in an empty folder that is also its HOME."""
    env = {**os.environ, "HOME": str(home), "COLUMNS": "200", "TMPDIR": str(home)}
    log = (tmp_path / "ui.stderr").open("w")
    process = subprocess.Popen([sys.executable, "-m", "destkit.runtime.cli.app", "ui", "--port", "0"], cwd=home,
                               env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert found, first
        yield found.group()
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def files_holding(folder: Path, text: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def type_with_completion(page: Any, field_prefix: str, column_prefix: str) -> None:
    """Type the start of a destination field and of a source column at the mapping's end, each completed by Tab."""
    page.locator("#mapping").press("End")
    page.keyboard.press("Control+End")
    for prefix in (field_prefix, column_prefix):
        page.keyboard.type(prefix)
        page.locator("#completion").wait_for(state="visible")
        page.keyboard.press("Tab")


@pytest.mark.slow
def test_the_mapping_tester_shows_each_sample_records_body_or_error_in_chromium(
        ui_url: str, home: Path, tmp_path: Path) -> None:
    browser_available()
    from playwright.sync_api import expect, sync_playwright

    sample = tmp_path / "sample.csv"
    sample.write_text(SAMPLE, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
        page.goto(ui_url + "/")
        page.select_option("#destination", "hello_charles")
        page.select_option("#action", "send_contacts")
        expect(page.locator("body")).to_have_attribute("data-loaded", "hello_charles/send_contacts")
        expect(page.locator("#fields tbody tr", has_text="external_reference_id")).to_contain_text("*")

        page.set_input_files("#sample-file", str(sample))
        page.fill("#mapping", "external_reference_id: customer_id\nfirst_name: given_name\ntags: segments\n")
        type_with_completion(page, "pho", "ph")
        expect(page.locator("#mapping")).to_have_value(
            "external_reference_id: customer_id\nfirst_name: given_name\ntags: segments\nphone_number: phone")
        records = page.locator("#results .record")
        expect(records).to_have_count(3)

        expect(records.nth(0).locator("pre.body")).to_contain_text('"external_reference_id": "c-1"')
        expect(records.nth(0).locator("pre.body")).to_contain_text('"first_name": "Anna"')
        expect(records.nth(1)).to_contain_text("invalid_phone")
        expect(records.nth(1)).to_contain_text("phone_number '0151 1234 567' is not in international format")
        expect(records.nth(2)).to_contain_text("tag 'platinum_club' is not in the destination's tags catalog")
        expect(page.locator("#catalogs")).to_contain_text("summer_sale")

        page.fill("#secrets input[data-secret=api_key]", SECRET)
        page.click("#save-secrets")
        expect(page.locator("#secrets-status")).to_have_text("set: api_key")
        page.click("#send")
        expect(page.locator("#sent")).to_have_text("sent: 3 received, 1 delivered, 2 not delivered")
        expect(page.locator("#answers")).to_contain_text("PUT /api/v1beta/contacts/batch → 200")

        page.fill("#mapping", "external_reference_id: customer_id\nfirst_name: givn_name\n")
        expect(page.locator("#issues")).to_contain_text("givn_name")
        page.fill("#mapping", "external_reference_id: customer_id\nfirst_name: given_name\n"
                              "phone_number: phone\ntags: segments\n")
        expect(records).to_have_count(3)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        with page.expect_download() as download_info:
            page.click("#download")
        config = Path(download_info.value.path()).read_text(encoding="utf-8")
        assert "api_key:\n    env: HELLO_CHARLES_API_KEY" in config
        assert SECRET not in page.content()
        browser.close()
    assert SECRET not in config
    assert files_holding(home, SECRET) == []
