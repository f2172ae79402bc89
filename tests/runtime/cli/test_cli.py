"""The `destkit` command line, run as a subprocess, one behaviour per test.

Sync tests serve the Hello Charles emulator on a real local port from this process
(`running_server`) and point the CLI at it with `--base-url ... --allow-http`, so the CLI goes
through the same HTTP client code it would use against the real service.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server

KEY_ENV = "DESTKIT_TEST_HC_KEY"
KEY = "test-key-3f9a"
CANARY = "CANARY-s3cr3t-7d41c0ffee"

AUDIENCE = """\
external_id,first_name,phone,email,tags,custom_properties
c1,Anna,+491511234567,anna@example.com,"vip,newsletter","{""loyalty_tier"": ""gold""}"
c2,Ben,0151 1234 567,ben@example.com,vip,
c3,Cara,+491511234568,cara@example.com,platinum_club,
c4,Dan,+491511234569,dan@example.com,,"{""Loyalty Tier"": ""gold""}"
,Eve,+491511234570,eve@example.com,,
c6,Fay,+491511234571,fay@example.com,summer_sale,"{""plan"": ""pro""}"
"""

MAPPING = """\
mapping:
  external_reference_id: external_id
  first_name: first_name
  phone_number: phone
  email_address: email
  tags: tags
  custom_properties: custom_properties
"""


def write_config(folder: Path, *, mapping: str = MAPPING, extra: str = "") -> Path:
    path = folder / "sync.yaml"
    path.write_text(
        "destination: hello_charles\naction: send_contacts\nsettings: {subdomain: acme}\n"
        f"secrets: {{api_key: {{env: {KEY_ENV}}}}}\n{mapping}{extra}",
        encoding="utf-8",
    )
    return path


def write_audience(folder: Path, text: str = AUDIENCE) -> Path:
    path = folder / "audience.csv"
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str, key: str = KEY, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", KEY_ENV: key, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "destkit.runtime.cli.app", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def run_folder(folder: Path) -> Path:
    """The one run folder a sync with `--state folder/state.sqlite` wrote (`runs/<run id>/`)."""
    [found] = (folder / "runs").iterdir()
    return found


def report_lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture
def emulator() -> Iterator[tuple[Starlette, str]]:
    app = create_app(api_key=KEY)
    with running_server(app) as url:
        yield app, url


def sync_args(config: Path, audience: Path, url: str, *more: str) -> list[str]:
    """A sync with its state store (and so its run folders) beside the config."""
    return ["sync", str(config), "--input", str(audience), "--base-url", url, "--allow-http",
            "--state", str(config.parent / "state.sqlite"), *more]


# --- demo, specs, version ------------------------------------------------------------------------


def test_demo_exits_0_and_its_summary_and_report_account_for_every_row(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = cli("demo", env={"DESTKIT_DEMO_DIR": str(folder)})

    assert result.returncode == 0, result.stderr
    summary = orjson.loads((folder / "audience.report.summary.json").read_bytes())
    assert summary["received"] == 2500
    assert summary["delivered"] == 2495
    assert summary["invalid"] == 5
    assert summary["rejected"] == summary["dead_lettered"] == summary["skipped"] == 0
    assert (
        summary["delivered"]
        + summary["invalid"]
        + summary["rejected"]
        + summary["dead_lettered"]
        + summary["skipped"]
    ) == summary["received"]
    assert summary["reasons"] == {
        "invalid_phone": 1,
        "malformed_input": 1,
        "missing_required": 1,
        "unknown_custom_property": 1,
        "unknown_tag": 1,
    }
    lines = report_lines(folder / "audience.report.jsonl")
    assert [(line["row"], line["outcome"], line["reason"]) for line in lines] == [
        (25, "invalid", "invalid_phone"),
        (400, "invalid", "unknown_tag"),
        (1000, "invalid", "unknown_custom_property"),
        (1375, "invalid", "missing_required"),
        (2225, "invalid", "malformed_input"),
    ]
    assert (folder / "sync.yaml").is_file()
    assert (folder / "audience.csv").is_file()
    assert str(folder / "audience.report.jsonl") in result.stdout


def test_specs_lists_hello_charles_and_its_send_contacts_action() -> None:
    result = cli("specs")

    assert result.returncode == 0, result.stderr
    assert "hello_charles" in result.stdout
    assert "send_contacts" in result.stdout
    assert "external_reference_id *" in result.stdout
    assert "1,000 records" in result.stdout


def test_version_prints_the_package_version() -> None:
    result = cli("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == "destkit 0.1.0"


# --- preview -------------------------------------------------------------------------------------


def test_preview_shows_a_body_and_an_invalid_phone_outcome(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        extra="catalogs:\n  tags: [vip, newsletter, summer_sale]\n"
        "  custom_properties: {loyalty_tier: Loyalty Tier, plan: Plan}\n",
    )
    audience = write_audience(tmp_path)

    result = cli("preview", str(config), "--input", str(audience), "-n", "2", "--offline")

    assert result.returncode == 0, result.stderr
    assert '"external_reference_id": "c1"' in result.stdout
    assert '"value": "+491511234567"' in result.stdout
    assert "row 2 · invalid · c2" in result.stdout
    assert "reason: invalid_phone" in result.stdout
    assert "field: phone_number" in result.stdout
    assert "row 3" not in result.stdout
    assert "Previewed 2 records; nothing was sent." in result.stdout


# --- sync ----------------------------------------------------------------------------------------


def test_sync_exits_1_reports_each_undelivered_row_and_delivers_only_valid_contacts(
    tmp_path: Path, emulator: tuple[Starlette, str]
) -> None:
    app, url = emulator
    config, audience = write_config(tmp_path), write_audience(tmp_path)

    result = cli(*sync_args(config, audience, url))

    assert result.returncode == 1, result.stderr
    lines = report_lines(run_folder(tmp_path) / "report.jsonl")
    assert [(line["row"], line["key"], line["outcome"], line["reason"], line["field"]) for line in lines] == [
        (2, "c2", "invalid", "invalid_phone", "phone_number"),
        (3, "c3", "invalid", "unknown_tag", "tags"),
        (4, "c4", "invalid", "unknown_custom_property", "custom_properties"),
        (5, None, "invalid", "missing_required", "external_reference_id"),
    ]
    assert set(app.state.emulator.contacts) == {"c1", "c6"}
    summary = orjson.loads((run_folder(tmp_path) / "report.summary.json").read_bytes())
    assert (summary["received"], summary["delivered"], summary["invalid"]) == (6, 2, 4)


def test_sync_writes_the_report_where_report_says(tmp_path: Path, emulator: tuple[Starlette, str]) -> None:
    _app, url = emulator
    config, audience = write_config(tmp_path), write_audience(tmp_path)
    report = tmp_path / "out" / "run.jsonl"

    result = cli(*sync_args(config, audience, url, "--report", str(report), "--quiet"))

    assert result.returncode == 1, result.stderr
    assert len(report_lines(report)) == 4
    assert orjson.loads((tmp_path / "out" / "run.summary.json").read_bytes())["report"] == str(report)
    assert result.stdout == (f"report:  {report}\nsummary: {tmp_path / 'out' / 'run.summary.json'}\n"
                             f"html:    {tmp_path / 'out' / 'run.html'}\n")


def test_sync_exits_0_when_every_record_is_delivered(tmp_path: Path, emulator: tuple[Starlette, str]) -> None:
    app, url = emulator
    config = write_config(tmp_path)
    audience = write_audience(tmp_path, AUDIENCE.splitlines()[0] + "\n" + AUDIENCE.splitlines()[1] + "\n")

    result = cli(*sync_args(config, audience, url))

    assert result.returncode == 0, result.stderr
    assert set(app.state.emulator.contacts) == {"c1"}
    assert report_lines(run_folder(tmp_path) / "report.jsonl") == []


def test_sync_exits_2_on_an_unknown_mapping_field_naming_the_key(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, mapping="mapping:\n  external_reference_id: external_id\n  favourite_colour: colour\n"
    )
    audience = write_audience(tmp_path)

    result = cli("sync", str(config), "--input", str(audience), cwd=tmp_path)

    assert result.returncode == 2
    assert (
        f"{config}:7: mapping.favourite_colour: 'favourite_colour' is not a field of this action."
        in result.stderr
    )
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / ".destkit").exists()


def test_sync_exits_2_when_the_destination_refuses_the_api_key(
    tmp_path: Path, emulator: tuple[Starlette, str]
) -> None:
    app, url = emulator
    config, audience = write_config(tmp_path), write_audience(tmp_path)

    result = cli(*sync_args(config, audience, url), key="not-the-key")

    assert result.returncode == 2
    assert "authentication failed" in result.stderr
    assert "HTTP 401" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert app.state.emulator.contacts == {}


def test_sync_exits_2_on_a_missing_input_file(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    result = cli("sync", str(config), "--input", str(tmp_path / "nope.csv"))

    assert result.returncode == 2
    assert f"input file {tmp_path / 'nope.csv'} does not exist" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_sync_reports_a_malformed_csv_line_as_invalid_malformed_input(
    tmp_path: Path, emulator: tuple[Starlette, str]
) -> None:
    app, url = emulator
    config = write_config(tmp_path)
    lines = AUDIENCE.splitlines()
    broken = 'c7,"Mia "The Boss",+491511234572,mia@example.com,,'
    audience = write_audience(tmp_path, "\n".join([lines[0], lines[1], broken, lines[6]]) + "\n")

    result = cli(*sync_args(config, audience, url))

    assert result.returncode == 1, result.stderr
    [line] = report_lines(run_folder(tmp_path) / "report.jsonl")
    assert (line["row"], line["outcome"], line["reason"]) == (2, "invalid", "malformed_input")
    assert line["message"].startswith("line 3 ")
    assert set(app.state.emulator.contacts) == {"c1", "c6"}


def test_an_unclosed_quote_does_not_swallow_the_following_rows(
    tmp_path: Path, emulator: tuple[Starlette, str]
) -> None:
    app, url = emulator
    config = write_config(tmp_path)
    lines = AUDIENCE.splitlines()
    broken = 'c7,"Mia,+491511234572,mia@example.com,,'
    audience = write_audience(tmp_path, "\n".join([lines[0], broken, lines[1], lines[6]]) + "\n")

    cli(*sync_args(config, audience, url))

    assert set(app.state.emulator.contacts) == {"c1", "c6"}


def test_secret_appears_nowhere_in_output_or_report_files(tmp_path: Path) -> None:
    app = create_app(api_key=CANARY)
    config, audience = write_config(tmp_path), write_audience(tmp_path)
    with running_server(app) as url:
        result = cli(*sync_args(config, audience, url), key=CANARY)

    assert result.returncode == 1, result.stderr
    assert len(app.state.emulator.contacts) == 2
    texts = [
        result.stdout,
        result.stderr,
        *(p.read_text("utf-8") for p in run_folder(tmp_path).glob("report.*")),
    ]
    assert len(texts) == 5  # stdout, stderr, the report, its summary and the HTML report
    assert not [t for t in texts if CANARY in t]


def test_refused_secret_appears_nowhere_in_output(tmp_path: Path, emulator: tuple[Starlette, str]) -> None:
    _app, url = emulator
    config, audience = write_config(tmp_path), write_audience(tmp_path)

    result = cli(*sync_args(config, audience, url), key=CANARY)

    assert result.returncode == 2
    assert CANARY not in result.stdout + result.stderr
    assert CANARY not in (run_folder(tmp_path) / "report.jsonl").read_text("utf-8")


# --- emulate -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_emulate_serves_the_emulator_with_the_given_api_key() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "destkit.runtime.cli.app",
            "emulate",
            "hello_charles",
            "--port",
            str(port),
            "--api-key",
            "emu-key",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        status = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(
                    f"http://127.0.0.1:{port}/api/v0/tags", headers={"x-api-key": "emu-key"}
                ).status_code
                break
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        stdout, _stderr = proc.communicate(timeout=20)

    assert status == 200
    assert f"base URL: http://127.0.0.1:{port}" in stdout
    assert "API key:  emu-key" in stdout


def test_offline_preview_needs_no_secret(tmp_path: Path) -> None:
    audience = tmp_path / "a.csv"
    audience.write_text("external_id,phone\nc1,+491511234567\n", encoding="utf-8")
    config = write_config(
        tmp_path,
        mapping="mapping: {external_reference_id: external_id, phone_number: phone}\n",
        extra="catalogs: {tags: [vip], custom_properties: [plan]}\n",
    )
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    proc = subprocess.run([sys.executable, "-m", "destkit.runtime.cli.app", "preview", str(config), "--input", str(audience),
                           "--offline"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "would be sent as" in proc.stdout
