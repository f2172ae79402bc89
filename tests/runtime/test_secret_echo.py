"""A destination that echoes the API key back, in every form it could take, never gets it into our outputs.

The echo destination (a small Starlette app) puts the key it was sent, raw, upper- and lower-cased,
URL-encoded, base64 and hex encoded, into per-record ids, notes, error codes and messages, whole-request
errors, a 5xx and a redirect. Every output is then searched for every form: the outcomes, the report,
the summary, the state database's bytes, the log lines and what the CLI prints.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.runtime import Outcome, Secret, Status, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.config.secrets import redact
from destkit.runtime.engine.state import StateStore
from destkit.runtime.spec.loader import parse_spec

SECRET = "Sk-Echo Tr0ub4dor&3/x+y~aa"  # chosen so that each form below is a different string


def forms(secret: str) -> dict[str, str]:
    """Every form a destination could echo the secret in, computed here independently of destkit."""
    raw = secret.encode()
    b64, b64url = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    return {
        "raw": secret, "upper": secret.upper(), "lower": secret.lower(),
        "quote": quote(secret), "quote_nothing_safe": quote(secret, safe=""), "quote_plus": quote_plus(secret),
        "base64": b64, "base64_unpadded": b64.rstrip("="), "base64url": b64url, "base64url_unpadded": b64url.rstrip("="),
        "hex": raw.hex(), "HEX": raw.hex().upper(),
        "basic_credential": base64.b64encode(b"user:" + raw).decode(),  # inside a longer encoded string
    }


FORMS = forms(SECRET)
KINDS = ("ok", "refused", "odd", "whole", "retry", "moved")

SPEC = """\
spec_version: 1
id: echo
name: Echo
base_url: https://echo.example.com
secrets:
  api_key: {title: API key}
auth: {kind: api_key, in: query, name: api_key, value: "{{ secrets.api_key }}"}
actions:
  send:
    title: Send
    fields:
      id: {type: string, required: true}
    batch: {max_records: 1}
    request: {method: POST, path: /send, body: {items: $records}, record: {id: $id}}
    response:
      results: results
      ok: {field: status, in: [ok], failed: [failed]}
      id: id
      note: note
      error: {code: code, message: message}
    errors: {split: []}
"""


def echo_app() -> Starlette:
    """Answers record `<kind>:<form name>` with the API key it was sent, in that form, where `kind` says."""

    async def send(request: Request) -> Response:
        kind, _, name = (await request.json())["items"][0]["id"].partition(":")
        echoed = forms(request.query_params["api_key"])[name]
        if kind == "ok":
            return JSONResponse({"results": [{"status": "ok", "id": echoed, "note": f"stored for {echoed}"}]})
        if kind == "refused":
            return JSONResponse({"results": [{"status": "failed", "code": echoed, "message": f"key {echoed} is bad"}]})
        if kind == "odd":
            return JSONResponse({"results": [{"status": echoed}]})
        if kind == "whole":
            return JSONResponse({"errors": [{"code": echoed, "message": f"whole request refused: {echoed}"}]}, 400)
        if kind == "retry":
            return JSONResponse({"message": f"overloaded, key {echoed}"}, 503)
        return Response(status_code=302, headers={"location": f"https://elsewhere.test/?key={echoed}"})

    return Starlette(routes=[Route("/send", send, methods=["POST"])])


RECORDS = [{"id": f"{kind}:{name}"} for kind in KINDS for name in FORMS]
OPTIONS = {"max_attempts": 1}  # the 5xx answers are dead-lettered at once, without waiting to retry


def leaks(text: str) -> list[str]:
    return [name for name, form in FORMS.items() if form in text]


def config(**overrides: Any) -> dict[str, Any]:
    return {"destination": "echo", "action": "send", "secrets": {"api_key": SECRET}, "mapping": {"id": "id"},
            "options": OPTIONS, **overrides}


def in_process_sync() -> Any:
    return build_sync(config(), spec=parse_spec(SPEC, "echo.yaml"), base_url="http://echo.test",
                      transport=httpx.ASGITransport(app=echo_app()), allow_http=True)


# --- redact, one form at a time -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(FORMS) - {"basic_credential"}))
def test_redact_replaces_each_form_of_a_secret(name: str) -> None:
    assert redact(f"before {FORMS[name]} after", [Secret(SECRET)]) == "before *** after"


def test_redact_replaces_the_secret_inside_longer_base64_text() -> None:
    # the characters at either end also encode bits of "user:" and of the padding, so they stay
    assert FORMS["basic_credential"] == "dXNlcjpTay1FY2hvIFRyMHViNGRvciYzL3greX5hYQ=="
    assert redact(f"Basic {FORMS['basic_credential']}", [Secret(SECRET)]) == "Basic dXNlcjp***Q=="


def test_redact_leaves_text_without_the_secret_as_it_is() -> None:
    text = "key Sk-Echo Tr0ub4dor is wrong; U2stRWNobyBUcjB1 was sent"  # parts of forms, not a form
    assert redact(text, [Secret(SECRET)]) == text


def test_a_secret_of_three_characters_is_not_redacted() -> None:
    # it would turn ordinary words into *** and protect nothing
    assert redact("the key abc", [Secret("abc")]) == "the key abc"


# --- through a run -----------------------------------------------------------------------------


def test_no_form_of_the_key_reaches_an_outcome_the_summary_the_state_or_a_log(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sync = in_process_sync()
    outcomes: list[Outcome] = []
    store = StateStore(tmp_path / "state.sqlite")
    with caplog.at_level(logging.DEBUG):
        result = sync.run(RECORDS, on_outcome=outcomes.append, state=store)
    dumped = orjson.dumps([o.to_dict() for o in outcomes]).decode()
    text = " ".join([dumped, orjson.dumps(result.summary.to_dict()).decode(), caplog.text, store.all_text()])
    store.close()
    assert leaks(text) == []
    assert leaks((tmp_path / "state.sqlite").read_bytes().decode("utf-8", "replace")) == []
    assert "HTTP Request: POST http://echo.test/send?api_key=***" in caplog.text
    assert sorted({(o.status.value, str(o.reason)) for o in outcomes}) == [
        ("dead_lettered", "server_error"), ("dead_lettered", "unexpected_response"), ("delivered", "None"),
        ("rejected", "destination_rejected"), ("rejected", "redirect")]
    delivered = [o for o in outcomes if o.status is Status.DELIVERED]
    assert {(o.destination_id, o.message) for o in delivered} == {
        ("***", "stored for ***"), ("dXNlcjp***Q==", "stored for dXNlcjp***Q==")}


def test_httpx_request_log_lines_show_no_api_key_in_the_query(caplog: pytest.LogCaptureFixture) -> None:
    sync = in_process_sync()
    with caplog.at_level(logging.INFO, logger="httpx"):
        sync.run([{"id": "ok:raw"}])
    [line] = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert line == 'HTTP Request: POST http://echo.test/send?api_key=*** "HTTP/1.1 200 OK"'


def test_the_cli_prints_and_stores_no_form_of_the_key(tmp_path: Path) -> None:
    (tmp_path / "echo.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / "sync.yaml").write_text(
        "destination: echo.yaml\naction: send\nsecrets: {api_key: {env: ECHO_KEY}}\nmapping: {id: id}\n"
        "options: {max_attempts: 1}\n", encoding="utf-8")
    (tmp_path / "records.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in RECORDS))
    with running_server(echo_app()) as url:
        done = subprocess.run(
            [sys.executable, "-m", "destkit.runtime.cli.app", "sync", str(tmp_path / "sync.yaml"), "--input",
             str(tmp_path / "records.jsonl"), "--base-url", url, "--allow-http", "--trust-spec",
             "--state", str(tmp_path / "state.sqlite"), "--log-level", "debug"],
            env={**os.environ, "ECHO_KEY": SECRET}, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr  # some records were not delivered
    written = {p.relative_to(tmp_path).as_posix(): p.read_bytes().decode("utf-8", "replace")
               for p in tmp_path.rglob("*") if p.is_file()}
    [run_folder] = {name.rsplit("/", 1)[0] for name in written if name.startswith("runs/")}
    assert {f"{run_folder}/report.jsonl", f"{run_folder}/report.summary.json", "state.sqlite"} <= set(written)
    assert {name: leaks(text) for name, text in written.items() if leaks(text)} == {}
    assert leaks(done.stdout + done.stderr) == []
    assert "***" in written[f"{run_folder}/report.jsonl"]


# --- a literal secret given from Python ----------------------------------------------------------


def test_a_literal_secret_from_python_is_held_wrapped_in_the_config() -> None:
    sync = in_process_sync()
    assert leaks(repr(sync.config)) == []
    assert leaks(str(sync.config.model_dump())) == []
    assert leaks(sync.config.model_dump_json()) == []
    assert sync.config.secrets == {"api_key": Secret(SECRET)}
    assert sync.run([{"id": "ok:raw"}]).summary.delivered == 1  # and it is still the key that is sent


def test_a_config_holding_a_wrapped_secret_can_still_be_deep_copied() -> None:
    config = in_process_sync().config
    assert config.model_copy(deep=True).secrets == {"api_key": Secret(SECRET)}
