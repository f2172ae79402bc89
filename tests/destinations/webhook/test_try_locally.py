"""The webhook example can be tried on one machine: previewed offline without DNS, and synced to
`destkit emulate webhook` with the signing secret its banner names."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from destkit.destinations.webhook.emulator import DEFAULT_SECRET
from destkit.runtime import Status, build_sync
from destkit.runtime.engine.sources import read_records
from tests.cli_runs import CLI, ENV, run_cli

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def no_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"a DNS lookup of {host}")


def test_an_offline_preview_of_the_webhook_example_looks_no_host_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOK_SIGNING_SECRET", raising=False)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    sync = build_sync(EXAMPLES / "webhook.sync.yaml", needs_secrets=False)
    items = sync.preview(read_records(EXAMPLES / "audience.csv"), 4, offline=True)
    assert items[0].body == {"id": "anna@example.com", "type": "audience.entered", "data": {
        "email": "anna@example.com", "phone": "+4915112345671", "first_name": "Anna", "last_name": "Schmidt",
        "segments": "vip,newsletter", "tier": "gold"}}
    assert [item.outcome.reason if item.outcome else None for item in items] == [None, None, None, "invalid_phone"]


def test_every_source_column_the_webhook_example_maps_is_in_the_example_audience() -> None:
    sync = build_sync(EXAMPLES / "webhook.sync.yaml", needs_secrets=False)
    [first, *_] = sync.preview(read_records(EXAMPLES / "audience.csv"), 1, offline=True)
    assert first.body is not None and all(value not in (None, "") for value in first.body["data"].values())
    assert set(first.body["data"]) == {"email", "phone", "first_name", "last_name", "segments", "tier"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def banner_of(proc: subprocess.Popen[str]) -> list[str]:
    """The emulator's banner lines, up to the one that says how to stop it."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line.rstrip("\n"))
        if "Ctrl-C stops" in line or not line:
            return lines
    raise AssertionError(f"no banner: {lines}")


def test_the_webhook_emulator_banner_names_its_signing_secret_and_the_example_syncs_with_it(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([*CLI, "emulate", "webhook", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**ENV, "COLUMNS": "200"})
    try:
        banner = banner_of(proc)
        url = f"http://127.0.0.1:{port}"
        secret_lines = [line for line in banner if line.startswith("  Signing secret:")]
        assert secret_lines == [f"  Signing secret: {DEFAULT_SECRET}"]
        assert not [line for line in banner if "API key" in line]
        synced = run_cli(["sync", str(EXAMPLES / "webhook.sync.yaml"), "--input", str(EXAMPLES / "audience.csv"),
                          "--base-url", url, "--allow-http", "--state", str(tmp_path / "state.sqlite"), "--quiet"],
                         env={**ENV, "WEBHOOK_SIGNING_SECRET": secret_lines[0].split()[-1]})
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert synced.returncode == 1, synced.stderr  # row 4's phone is invalid on purpose
    [summary] = (tmp_path / "runs").glob("*/report.summary.json")
    counts = orjson.loads(summary.read_bytes())
    assert (counts[Status.DELIVERED.value], counts[Status.INVALID.value]) == (3, 1)
    assert os.path.basename(summary.parent) in synced.stdout
