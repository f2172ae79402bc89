"""The mapping tester's server (`destkit.runtime.ui.app`) on a real port: secrets entered stay in the
process, the downloaded config is a valid sync config, and pages of other sites cannot drive it."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from destkit.runtime.cli.server import running_server
from destkit.runtime.cli.ui_command import ui
from destkit.runtime.engine import build_sync
from destkit.runtime.ui.app import create_app

SECRET = "entered-secret-3f9c2a7d"
TRIAL: dict[str, Any] = {
    "destination": "hello_charles", "action": "send_contacts", "settings": {"subdomain": "acme"},
    "mapping": "external_reference_id: id\nphone_number: phone\n", "extra": "",
    "sample": "id,phone\nc-1,+4915112345678\nc-2,0151\n", "format": "csv",
}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    with running_server(create_app()) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def test_the_ui_listens_on_127_0_0_1_by_default() -> None:
    assert inspect.signature(ui).parameters["host"].default == "127.0.0.1"


def test_an_entered_secret_is_answered_by_its_name_only(client: httpx.Client) -> None:
    reply = client.post("/api/secrets", json={"destination": "hello_charles", "secrets": {"api_key": SECRET}})
    assert reply.json() == {"secrets_set": ["api_key"]}


def test_an_entered_secret_is_what_the_sample_is_sent_with_and_no_answer_or_file_holds_it(
        client: httpx.Client, tmp_path: Path) -> None:
    client.post("/api/secrets", json={"destination": "hello_charles", "secrets": {"api_key": SECRET}})
    answers = [client.post(path, json=TRIAL) for path in ("/api/preview", "/api/send", "/api/config")]
    answers.append(client.get("/api/destinations/hello_charles/actions/send_contacts"))
    assert answers[1].json()["summary"] == {"received": 2, "delivered": 1, "not_delivered": 1}
    assert [a for a in answers if SECRET in a.text] == []
    assert [p for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()] == []


def test_the_preview_shows_the_mapped_body_and_the_outcome_with_its_fix(client: httpx.Client) -> None:
    items = client.post("/api/preview", json=TRIAL).json()["items"]
    assert items[0] == {"row": 1, "warnings": [], "body": {
        "external_reference_id": "c-1", "source_type": "zeotap",
        "phone_numbers": [{"type": "mobile", "value": "+4915112345678"}]}}
    assert items[1]["outcome"]["reason"] == "invalid_phone"
    assert items[1]["outcome"]["message"].endswith("add the e164 transform to normalise it.")


def test_a_column_the_sample_lacks_is_refused_with_a_did_you_mean(client: httpx.Client) -> None:
    reply = client.post("/api/preview", json={**TRIAL, "mapping": "external_reference_id: idd\n"}).json()
    assert [(i["key"], i["fix"]) for i in reply["issues"]] == [("mapping.external_reference_id", "did you mean 'id'?")]


def test_the_downloaded_config_names_secret_references_and_loads(client: httpx.Client, tmp_path: Path) -> None:
    text = client.post("/api/config", json=TRIAL).text
    config = yaml.safe_load(text)
    assert config["secrets"]["api_key"] == {"env": "HELLO_CHARLES_API_KEY"}
    path = tmp_path / "sync.yaml"
    path.write_text(text, encoding="utf-8")
    assert build_sync(path, needs_secrets=False).config.mapping == {"external_reference_id": "id", "phone_number": "phone"}


def test_a_page_of_another_site_cannot_post_to_the_tester(client: httpx.Client) -> None:
    reply = client.post("/api/secrets", json={"destination": "hello_charles", "secrets": {"api_key": SECRET}},
                        headers={"origin": "https://evil.example"})
    assert reply.status_code == 403


def test_a_jsonl_sample_is_sent_to_the_emulator_of_a_destination_at_the_users_own_url(client: httpx.Client) -> None:
    trial = {"destination": "webhook", "action": "send", "mapping": "id: id\ndata: data\n", "extra": "",
             "settings": {"url": "https://hooks.example.com/hooks/destkit", "method": "POST", "mode": "batch"},
             "sample": '{"id": "u1", "data": {"plan": "pro"}}\n', "format": "jsonl"}
    reply = client.post("/api/send", json=trial).json()
    assert reply["summary"] == {"received": 1, "delivered": 1, "not_delivered": 0}
    assert [(a["method"], a["path"], a["status"]) for a in reply["answers"]] == [("POST", "/hooks/destkit/", 200)]


def test_a_sample_over_5_mb_is_refused_with_what_to_do(client: httpx.Client) -> None:
    reply = client.post("/api/preview", json={**TRIAL, "sample": "id\n" + "x\n" * 2_600_000})
    assert reply.status_code == 413
    assert reply.json()["issues"] == [{"key": "sample", "message": "the sample is over 5 MB.",
                                       "fix": "try a smaller sample: the first rows show the mapping."}]


def test_a_body_that_is_not_json_is_refused_with_a_message(client: httpx.Client) -> None:
    reply = client.post("/api/preview", content=b"{not json", headers={"content-type": "application/json"})
    assert reply.status_code == 400
    assert reply.json()["issues"][0]["message"] == "the request body is not JSON."


def test_a_request_for_another_host_name_is_refused_against_dns_rebinding(client: httpx.Client) -> None:
    reply = client.post("/api/preview", json=TRIAL, headers={"host": "rebind.evil.example"})
    assert reply.status_code == 403
