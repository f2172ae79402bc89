"""The files in examples/ work as shown."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Outcome, Status, build_sync
from destkit.runtime.engine.sources import read_records

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_hello_charles_example_syncs_its_audience(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELLO_CHARLES_API_KEY", "example-key")
    app = create_app(api_key="example-key")
    sync = build_sync(EXAMPLES / "hello_charles.sync.yaml", base_url="http://acme.hello-charles.test",
                      transport=httpx.ASGITransport(app=app), allow_http=True)
    outcomes: list[Outcome] = []
    sync.run(read_records(EXAMPLES / "audience.csv"), on_outcome=outcomes.append)
    by_row = {o.row: o for o in outcomes}
    assert [by_row[r].status for r in (1, 2, 3, 4)] == [Status.DELIVERED] * 3 + [Status.INVALID]
    assert by_row[3].warnings is not None and by_row[3].warnings[0]["reason"] == "unknown_tag"
    assert by_row[4].reason == "invalid_phone"
    contacts = app.state.emulator.contacts
    assert contacts["+4915112345671"].first_name == "Anna"
    assert contacts["+4915112345671"].custom_properties == {"loyalty_tier": "gold", "zeotap_audience_name": "Summer VIP"}
    assert contacts["+4915112345672"].phone_numbers == [{"type": "mobile", "value": "+4915112345672"}]


@pytest.mark.parametrize("name, env", [
    ("emarsys.sync.yaml", {"EMARSYS_USERNAME": "acme001", "EMARSYS_SECRET": "s3cr3t-value"}),
    ("webhook.sync.yaml", {"WEBHOOK_SIGNING_SECRET": "whsec_c2VjcmV0LXNpZ25pbmcta2V5"}),
    ("braze.sync.yaml", {"BRAZE_REST_API_KEY": "braze-rest-key"}),
])
def test_the_other_example_configs_are_valid(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # a transport means nothing is sent; the webhook's host is still resolved and checked, and DNS cannot run
    # here, so it answers a public address
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *rest, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("93.184.216.34", 0))]
        if host == "hooks.example.com" else real(host, *rest, **kw))
    sync = build_sync(EXAMPLES / name, transport=httpx.ASGITransport(app=create_app()))
    assert sync.action_id in ("upsert_contacts", "send", "track_users")


def test_the_embedding_example_runs() -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLES / "embed.py")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "'delivered': 2500" in proc.stdout
