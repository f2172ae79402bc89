"""Security: secrets never leak, base URLs cannot be steered, templates stay in their sandbox, bad input is bounded."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.destinations.hello_charles.emulator import create_app
from destkit.mapping import Template, TemplateError
from destkit.runtime import ConfigError, Outcome, Secret, Status, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.retry import RetryPolicy
from destkit.runtime.engine.state import StateStore
from destkit.runtime.ops.logs import configure
from tests.conftest import PROPERTIES, TAGS, hc_config

CANARY = "CANARY-7f3e-do-not-leak-91c2"


def echoing_app(status: int) -> Starlette:
    """A destination that echoes the credentials it got into its error messages (it happens)."""

    async def handler(request: Request) -> Response:
        key = request.headers.get("x-api-key", "")
        if request.method == "GET":
            return JSONResponse({"data": [{"label": t, "object": "person", "deleted": False} for t in TAGS]
                                 + [{"name": p, "label": p, "object": "person", "disabled": False} for p, _ in PROPERTIES]})
        return JSONResponse({"status": status, "errors": [{"code": "echo", "message": f"bad key {key} in {request.url}"}]},
                            status)

    return Starlette(routes=[Route("/{path:path}", handler, methods=["GET", "PUT", "POST"])])


RECORDS: list[dict[str, Any]] = [
    {"user_id": "u1", "phone": "+15551234567", "segments": ["vip"]},
    {"user_id": "u2", "phone": "not a phone"},
    {"user_id": "", "phone": "+15551234568"},
    {"user_id": "u4", "segments": ["no_such_tag"], "attributes": {"Loyalty Tier": "x"}},
]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500, 503])
def test_the_api_key_appears_in_no_outcome_summary_log_or_state_whatever_the_destination_answers(
        status: int, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = hc_config(secrets={"api_key": CANARY})
    sync = build_sync(config, base_url="http://hc.test", transport=httpx.ASGITransport(app=echoing_app(status)),
                      allow_http=True, retry=RetryPolicy(max_attempts=2, base=0.001, cap=0.001))
    outcomes: list[Outcome] = []
    store = StateStore(tmp_path / "state.sqlite")
    with caplog.at_level(logging.DEBUG, logger="destkit"):
        result = sync.run(RECORDS, on_outcome=outcomes.append, state=store)
    text = " ".join([repr(sync), repr(result), orjson.dumps([o.to_dict() for o in outcomes]).decode(),
                     orjson.dumps(result.summary.to_dict()).decode(), caplog.text, store.all_text()])
    store.close()
    assert CANARY not in text
    assert CANARY.encode() not in (tmp_path / "state.sqlite").read_bytes()
    assert result.summary.reconciles()
    if status in (401, 403):
        assert result.summary.aborted is not None
    else:
        assert any(o.destination_message and "***" in o.destination_message for o in outcomes)


def test_secret_wrapper_never_shows_its_value() -> None:
    s = Secret(CANARY)
    assert CANARY not in f"{s} {s!r} {s!s} {[s]} {({'k': s})}"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)


def test_cli_runs_that_fail_in_every_way_never_print_or_store_the_secret(tmp_path: Path) -> None:
    audience = tmp_path / "a.jsonl"
    audience.write_bytes(b"\n".join(orjson.dumps(r) for r in RECORDS) + b"\n{broken json\n")
    config = tmp_path / "sync.yaml"
    config.write_text("destination: hello_charles\naction: send_contacts\nsettings: {subdomain: acme}\n"
                      "secrets: {api_key: {env: HC_CANARY}}\n"
                      "mapping: {external_reference_id: user_id, phone_number: phone, tags: segments, custom_properties: attributes}\n",
                      encoding="utf-8")
    env = {**os.environ, "HC_CANARY": CANARY}
    outputs: list[str] = []
    for app_key in (CANARY, "another-key"):  # a run that works, and one the destination refuses
        app = create_app(api_key=app_key, tags=TAGS, custom_properties=PROPERTIES)
        with running_server(app) as url:
            for command in ("sync", "preview"):
                args = [sys.executable, "-m", "destkit.runtime.cli.app", command, str(config), "--input", str(audience),
                        "--base-url", url, "--allow-http"]
                if command == "sync":
                    args += ["--state", str(tmp_path / "state.sqlite"), "--log-level", "debug"]
                proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
                outputs += [proc.stdout, proc.stderr]
    for path in tmp_path.rglob("*"):  # the run folders (runs/<run id>/) included
        if path.is_file():
            outputs.append(path.read_bytes().decode("utf-8", "replace"))
    assert all(CANARY not in out for out in outputs)


@pytest.mark.parametrize("subdomain", ["evil.com/x", "a.b@c", "acme.evil.com", "ACME", "-acme", "acme#", ""])
def test_a_subdomain_that_could_steer_the_host_is_a_config_error(subdomain: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_sync(hc_config(settings={"subdomain": subdomain}))
    assert info.value.issues[0].key == "settings.subdomain"


def test_plain_http_is_refused_unless_allowed() -> None:
    with pytest.raises(ConfigError) as info:
        build_sync(hc_config(), base_url="http://203.0.113.9")
    assert "not HTTPS" in str(info.value)
    with pytest.raises(ConfigError) as info:
        build_sync(hc_config(), base_url="http://127.0.0.1:8080")
    assert "--allow-http" in str(info.value)
    assert build_sync(hc_config(), base_url="http://127.0.0.1:8080", allow_http=True).base_url == "http://127.0.0.1:8080"


def test_a_base_url_with_credentials_is_refused() -> None:
    with pytest.raises(ConfigError, match="credentials"):
        build_sync(hc_config(), base_url="https://user:pw@acme.hello-charles.com")


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ request.application.__globals__ }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ ''.format.__globals__ }}",
])
def test_published_jinja_sandbox_escapes_fail(source: str) -> None:
    try:
        out = Template(source).render({"first_name": "x"})
    except TemplateError:
        return
    assert "os" not in out and "subclasses" not in out and "<class" not in out


def test_include_and_import_cannot_reach_files() -> None:
    for source in ("{% include '/etc/passwd' %}", "{% import '/etc/passwd' as x %}", "{% extends '/etc/passwd' %}"):
        with pytest.raises(TemplateError):
            Template(source).render({})


def test_template_output_is_bounded() -> None:
    with pytest.raises(TemplateError, match="over the limit"):
        Template("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}").render({})


def test_a_record_over_the_size_limit_is_invalid_not_sent() -> None:
    sync = build_sync(hc_config(options={"max_record_bytes": 2000}, catalogs={"tags": TAGS, "custom_properties": ["plan"]}))
    outcomes: list[Outcome] = []
    result = sync.dry_run([{"user_id": "u1", "first_name": "x" * 200, "attributes": {"plan": "y" * 5000}}],
                          on_outcome=outcomes.append, offline=True)
    assert [(o.status, o.reason) for o in outcomes] == [(Status.INVALID, "too_large")]
    assert result.requests == []


def test_log_lines_carry_no_payload(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(api_key="k", tags=TAGS, custom_properties=PROPERTIES)
    sync = build_sync(hc_config(secrets={"api_key": "k"}), base_url="http://hc.test",
                      transport=httpx.ASGITransport(app=app), allow_http=True)
    logger = logging.getLogger("destkit")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    configure("INFO")
    logger.propagate = True
    try:
        with caplog.at_level(logging.INFO, logger="destkit"):
            sync.run([{"user_id": "u1", "first_name": "Zelda-Payload"}])
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
    assert "request" in caplog.text
    assert "Zelda-Payload" not in caplog.text
