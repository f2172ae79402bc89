"""The mapping tester's server given hostile requests: wrong JSON shapes, an alias bomb, a huge body, traversal.

A request whose `secrets` or `settings` is no mapping was an internal error (500); YAML typed into
the page was read by `yaml.safe_load`, so nine levels of aliases took seconds per level and
gigabytes (the sync config file refuses them); a body over the limit was read whole before it was
refused. Each is now a 400/413 answer naming the key and the fix, read without reading on.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from destkit.runtime.cli.server import running_server
from destkit.runtime.ui.app import MAX_BODY_BYTES, create_app
from tests.runtime.ui.test_ui_server import TRIAL

LEVELS = "".join(f"&{n} [{', '.join(['*' + p] * 9)}], " for p, n in zip("abcdefg", "bcdefgh", strict=True))
BOMB = "[&a [x, x, x, x, x, x, x, x, x], " + LEVELS + "]"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    with running_server(create_app()) as url:
        yield url


@pytest.fixture
def client(served: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served, timeout=30) as http:
        yield http


@pytest.mark.parametrize("secrets", [["api_key"], "api_key", 5])
def test_secrets_that_are_no_mapping_are_refused_with_the_fix(client: httpx.Client, secrets: Any) -> None:
    reply = client.post("/api/secrets", json={"destination": "hello_charles", "secrets": secrets})
    assert reply.status_code == 400
    assert reply.json() == {"issues": [{"key": "secrets", "message": "the secrets must be a mapping of name: value.",
                                        "fix": "send {\"secrets\": {\"api_key\": \"...\"}}."}]}


@pytest.mark.parametrize("path", ["/api/preview", "/api/send", "/api/config"])
def test_settings_that_are_no_mapping_are_refused_with_the_fix(client: httpx.Client, path: str) -> None:
    reply = client.post(path, json={**TRIAL, "settings": ["acme"]})
    assert reply.status_code == 400
    assert reply.json()["issues"] == [{"key": "settings", "message": "the settings must be a mapping of name: value.",
                                       "fix": "send {\"settings\": {\"subdomain\": \"...\"}}."}]


def test_a_yaml_alias_bomb_in_the_mapping_is_refused_at_once(client: httpx.Client) -> None:
    reply = client.post("/api/preview", json={**TRIAL, "mapping": f"external_reference_id: id\ntags: {{const: {BOMB}}}\n"},
                        timeout=10)
    [issue] = reply.json()["issues"]
    assert issue["key"] == "mapping"
    assert issue["message"].startswith("this is not valid YAML (line 2, column ")
    assert "expand to more than 10,000 values (an alias bomb?)" in issue["message"]


def test_a_key_written_twice_in_the_mapping_is_refused(client: httpx.Client) -> None:
    reply = client.post("/api/preview", json={**TRIAL, "mapping": TRIAL["mapping"] + "phone_number: id\n"})
    [issue] = reply.json()["issues"]
    assert (issue["key"], issue["message"]) == (
        "mapping", "this is not valid YAML (line 3, column 1): the key 'phone_number' is written twice in this mapping "
        "(first on line 2).")


def test_a_body_over_the_limit_is_refused_without_being_read_whole(served: str) -> None:
    """The server answers 413 while the client is still sending: it stopped reading at the limit."""
    address = urlsplit(served)
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(b"POST /api/preview HTTP/1.1\r\nHost: " + address.netloc.encode() + b"\r\ncontent-type: application/json"
                     b"\r\ncontent-length: " + str(50 * MAX_BODY_BYTES).encode() + b"\r\n\r\n" + b" " * 65536)
        status_line = conn.recv(65536).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"


@pytest.mark.parametrize("path", ["/static/../../etc/passwd", "/static/..%2F..%2Fetc%2Fpasswd", "/static/%2e%2e%2fapp.py",
                                  "/api/destinations/..%2F..%2Fetc%2Fpasswd/actions/x"])
def test_a_traversing_path_is_not_found(client: httpx.Client, path: str) -> None:
    reply = client.get(path)
    assert (reply.status_code, "root:" in reply.text) == (404, False)
