"""`auth: {kind: oauth2}`: a token from a token endpoint on another origin than the API, cached until it
expires, fetched once for all concurrent senders, refreshed once (and the request replayed once) on a 401,
a rotated refresh token used next, a refusal that names the secret to fix, and no token in any output.

The token endpoint (`destinations/_kit/oauth2_issuer.py`) and the API are two Starlette apps, each served
on its own port, reached through the sync's own httpx client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.destinations._kit.oauth2_issuer import TokenIssuer
from destkit.runtime import ConfigError, Status, build_sync
from destkit.runtime.authoring.check import check_spec_text
from destkit.runtime.cli.server import running_server
from destkit.runtime.config.secrets import Secret
from destkit.runtime.delivery.auth import build_auth
from destkit.runtime.delivery.oauth2 import OAuth2Flow, TokenEndpoint
from destkit.runtime.engine.state import StateStore
from destkit.runtime.spec.loader import parse_spec
from destkit.runtime.spec.oauth2_model import OAuth2Auth

CLIENT_ID, CLIENT_SECRET, REFRESH = "client-7f3a", "client-secret-9d2b41", "refresh-token-5c81e0"

SPEC = """\
spec_version: 1
id: tokened
name: Tokened
base_url: https://api.tokened.example
settings:
  token_url: {type: string, default: "https://auth.tokened.example/oauth/token"}
secrets:
  client_id: {title: Client id}
  client_secret: {title: Client secret}
  refresh_token: {title: Refresh token}
auth:
  kind: oauth2
  grant: refresh_token
  token_url: "{{ settings.token_url }}"
  client_id: "{{ secrets.client_id }}"
  client_secret: "{{ secrets.client_secret }}"
  refresh_token: "{{ secrets.refresh_token }}"
  scope: contacts.write
  client_auth: CLIENT_AUTH
actions:
  send:
    title: Send
    fields:
      id: {type: string, required: true}
    batch: {max_records: 1}
    request: {method: POST, path: /send, body: {items: $records}, record: {id: $id}}
"""


def spec(client_auth: str = "body") -> Any:
    return parse_spec(SPEC.replace("CLIENT_AUTH", client_auth), "tokened.yaml")


class Api:
    """The API: 200 for a live token of the issuer, 401 otherwise; `refuse_all` refuses every token."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer
        self.refuse_all = False
        self.authorizations: list[str] = []

    def app(self) -> Starlette:
        async def send(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            self.authorizations.append(header)
            if self.refuse_all or not self.issuer.valid(header):
                return JSONResponse({"message": "authentication credentials not valid"}, 401)
            return JSONResponse({"ok": True})
        return Starlette(routes=[Route("/send", send, methods=["POST"])])


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH, ttl=3600)


@pytest.fixture
def served(issuer: TokenIssuer) -> Iterator[tuple[str, str, Api]]:
    """(API URL, token URL, the API): two servers, two origins."""
    api = Api(issuer)
    with running_server(Starlette(routes=[issuer.route("/oauth/token")])) as auth_url, running_server(api.app()) as api_url:
        yield api_url, auth_url + "/oauth/token", api


def config(token_url: str, **secrets: str) -> dict[str, Any]:
    return {"destination": "tokened", "action": "send", "settings": {"token_url": token_url},
            "secrets": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH, **secrets},
            "mapping": {"id": "id"}, "options": {"max_attempts": 1, "concurrency": 8}}


def sync_for(served: tuple[str, str, Api], client_auth: str = "body", **secrets: str) -> Any:
    api_url, token_url, _ = served
    return build_sync(config(token_url, **secrets), spec=spec(client_auth), base_url=api_url, allow_http=True)


def records(n: int) -> list[dict[str, str]]:
    return [{"id": f"r{i}"} for i in range(n)]


def test_one_token_is_fetched_from_the_token_endpoint_for_all_concurrent_requests(served: Any, issuer: TokenIssuer) -> None:
    result = sync_for(served).run(records(20))
    assert result.summary.delivered == 20
    assert issuer.grants == ["refresh_token"]
    assert issuer.refresh_used == [REFRESH]
    assert {h for h in served[2].authorizations} == {f"Bearer {next(iter(issuer.access))}"}


def test_client_secret_basic_authenticates_the_client_in_the_authorization_header(served: Any, issuer: TokenIssuer) -> None:
    assert sync_for(served, client_auth="basic").run(records(2)).summary.delivered == 2
    assert issuer.grants == ["refresh_token"]


def test_a_run_delivers_every_record_across_a_token_revocation_with_one_refresh(served: Any, issuer: TokenIssuer) -> None:
    result = asyncio.run(_revoke_after_five(sync_for(served), issuer))
    assert result.summary.delivered == 10
    assert issuer.grants == ["refresh_token", "refresh_token"]


async def _revoke_after_five(sync: Any, issuer: TokenIssuer) -> Any:
    """Sends 5 records, revokes every token the issuer gave, then sends 5 more in the same run."""
    async def feed() -> Any:
        for i, record in enumerate(records(10)):
            if i == 5:
                await asyncio.sleep(0.3)
                issuer.expire_all()
            yield record
    return await sync.arun(feed())


def test_concurrent_requests_refused_with_401_share_one_refresh_and_are_each_replayed_once(
        served: Any, issuer: TokenIssuer) -> None:
    flow = flow_for(served)

    async def eight_after_revocation() -> list[int]:
        async with httpx.AsyncClient(auth=flow) as client:
            await client.post(served[0] + "/send", json={})
            issuer.expire_all()
            answers = await asyncio.gather(*(client.post(served[0] + "/send", json={}) for _ in range(8)))
        return [a.status_code for a in answers]

    assert asyncio.run(eight_after_revocation()) == [200] * 8
    assert issuer.grants == ["refresh_token", "refresh_token"]
    assert len(served[2].authorizations) == 1 + 8 + 8  # each of the eight: refused once, replayed once


def flow_for(served: Any) -> OAuth2Flow:
    flow = build_auth(spec().auth, _secrets(), {}, TokenEndpoint(served[1], allow_loopback=True))
    assert isinstance(flow, OAuth2Flow)
    return flow


def test_a_second_401_after_the_refresh_stops_the_run_as_an_auth_failure(served: Any, issuer: TokenIssuer) -> None:
    served[2].refuse_all = True
    result = sync_for(served).run(records(3))
    assert result.summary.aborted is not None and result.summary.aborted.startswith("auth_failed")
    assert result.summary.delivered == 0
    assert issuer.grants == ["refresh_token", "refresh_token"]


def test_a_refused_refresh_token_stops_the_run_naming_the_secret_to_renew(served: Any, issuer: TokenIssuer) -> None:
    result = sync_for(served, refresh_token="revoked-refresh-token").run(records(3))
    assert result.summary.aborted == (
        "auth_failed: the destination refused the credentials (HTTP 400): the token endpoint refused the refresh "
        "token (invalid_grant: missing or unknown refresh token); renew secrets.refresh_token.")
    assert served[2].authorizations == []


def test_a_refused_client_names_the_client_secrets(served: Any) -> None:
    result = sync_for(served, client_secret="wrong-client-secret").run(records(1))
    assert result.summary.aborted == (
        "auth_failed: the destination refused the credentials (HTTP 401): the token endpoint refused the client "
        "credentials (invalid_client: client authentication failed); check secrets.client_id and secrets.client_secret.")


def test_a_rotated_refresh_token_is_the_one_sent_with_the_next_refresh(served: Any, issuer: TokenIssuer) -> None:
    issuer.rotate = True
    flow = flow_for(served)

    async def twice() -> list[int]:
        async with httpx.AsyncClient(auth=flow) as client:
            first = await client.post(served[0] + "/send", json={"items": []})
            issuer.expire_all()
            second = await client.post(served[0] + "/send", json={"items": []})
        return [first.status_code, second.status_code]

    assert asyncio.run(twice()) == [200, 200]
    assert issuer.refresh_used[0] == REFRESH
    assert issuer.refresh_used[1] != REFRESH and issuer.refresh_used[1].startswith("rt-")


def test_a_token_is_fetched_again_only_once_its_expiry_less_the_skew_has_passed(served: Any, issuer: TokenIssuer) -> None:
    now = [1000.0]
    flow = flow_for(served)
    flow.clock = lambda: now[0]

    async def at(*times: float) -> None:
        async with httpx.AsyncClient(auth=flow) as client:
            for t in times:
                now[0] = t
                assert (await client.post(served[0] + "/send", json={})).status_code == 200

    asyncio.run(at(1000.0, 1000.0 + 3600 - 61, 1000.0 + 3600 - 60))  # expires_in 3600, skew 60
    assert issuer.grants == ["refresh_token", "refresh_token"]


def _secrets() -> dict[str, Secret]:
    return {"client_id": Secret(CLIENT_ID), "client_secret": Secret(CLIENT_SECRET), "refresh_token": Secret(REFRESH)}


def test_no_token_appears_in_logs_outcomes_state_or_reprs(served: Any, issuer: TokenIssuer, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    sync = sync_for(served)
    outcomes: list[Any] = []
    store = StateStore(tmp_path / "state.db")
    with caplog.at_level(logging.DEBUG):
        result = sync.run(records(4), on_outcome=outcomes.append, state=store)
        served[2].refuse_all = True
        refused = sync.run(records(1), state=store)
    store.close()
    tokens = [*issuer.access, *issuer.refresh_tokens, REFRESH, CLIENT_SECRET]
    outputs = [caplog.text, repr(outcomes), repr(result), repr(refused), repr(sync), refused.summary.aborted or "",
               (tmp_path / "state.db").read_bytes().decode("latin-1")]
    assert len(issuer.access) == 3 and all(o.status is Status.DELIVERED for o in outcomes)  # the second run: a refresh on 401
    assert refused.summary.aborted == ("auth_failed: the destination refused the credentials (HTTP 401): "
                                       "authentication credentials not valid")
    assert [t for t in tokens for text in outputs if t in text] == []


def test_a_local_token_url_is_refused_without_allow_http(served: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        build_sync(config(served[1]), spec=spec(), base_url="https://api.tokened.example")
    assert "settings: the token URL: the host 127.0.0.1 is not a public address" in str(raised.value)


def test_a_token_url_from_the_settings_may_not_point_at_a_private_address() -> None:
    with pytest.raises(ConfigError) as raised:
        build_sync(config("https://10.0.0.7/oauth/token"), spec=spec(), base_url="https://api.tokened.example")
    assert "the token URL: the host 10.0.0.7 is not a public address" in str(raised.value)


def test_a_token_url_on_the_api_host_follows_a_base_url_override() -> None:
    pinned = spec().model_copy(update={"auth": spec().auth.model_copy(
        update={"token_url": "https://api.tokened.example/oauth/token"})})
    sync = build_sync(config("unused"), spec=pinned, base_url="http://127.0.0.1:9", allow_http=True)
    assert sync.token_endpoint == TokenEndpoint("http://127.0.0.1:9/oauth/token", allow_loopback=True)


def test_the_refresh_token_grant_without_a_refresh_token_does_not_load() -> None:
    with pytest.raises(ValidationError, match="the refresh_token grant needs a refresh_token template"):
        OAuth2Auth.model_validate({"kind": "oauth2", "grant": "refresh_token", "token_url": "https://a.example/t",
                                   "client_id": "x", "client_secret": "y"})


def test_spec_check_finds_an_undeclared_secret_and_a_secret_in_the_token_url() -> None:
    text = SPEC.replace("CLIENT_AUTH", "body").replace("{{ secrets.client_secret }}", "{{ secrets.clientsecret }}")
    text = text.replace('token_url: "{{ settings.token_url }}"', 'token_url: "https://a.example/{{ secrets.client_id }}"')
    found = {(f.issue.key, f.issue.message) for f in check_spec_text(text, "tokened.yaml").findings if f.severity == "error"}
    assert ("auth.client_secret", "'clientsecret' is not a declared secret.") in {(k, m.split(" (")[0]) for k, m in found} or \
        any(k == "auth.client_secret" and "clientsecret" in m for k, m in found)
    assert any(k == "auth.token_url" and "secrets are only available to auth templates" in m for k, m in found)


def test_spec_check_refuses_a_token_url_that_is_not_https() -> None:
    text = SPEC.replace("CLIENT_AUTH", "body").replace('"{{ settings.token_url }}"', '"http://auth.example/token"')
    found = [(f.issue.key, f.issue.message) for f in check_spec_text(text, "tokened.yaml").findings if f.severity == "error"]
    assert found == [("auth.token_url", "the token URL: http://auth.example/token is not HTTPS; destkit only sends over HTTPS.")]


def test_the_client_credentials_grant_sends_no_refresh_token(served: Any, issuer: TokenIssuer) -> None:
    block = OAuth2Auth.model_validate({"kind": "oauth2", "grant": "client_credentials", "token_url": served[1],
                                       "client_id": "{{ secrets.client_id }}", "client_secret": "{{ secrets.client_secret }}"})
    flow = build_auth(block, _secrets(), {}, TokenEndpoint(served[1], allow_loopback=True))

    async def one() -> int:
        async with httpx.AsyncClient(auth=flow) as client:
            return (await client.post(served[0] + "/send", json={})).status_code

    assert asyncio.run(one()) == 200
    assert (issuer.grants, issuer.refresh_used) == (["client_credentials"], [])


def test_a_token_endpoint_that_is_down_dead_letters_the_records_for_the_next_run(served: Any) -> None:
    async def down(request: Request) -> Response:
        return JSONResponse({"message": "maintenance"}, 503)

    with running_server(Starlette(routes=[Route("/oauth/token", down, methods=["POST"])])) as auth_url:
        sync = build_sync(config(auth_url + "/oauth/token"), spec=spec(), base_url=served[0], allow_http=True)
        outcomes: list[Any] = []
        result = sync.run(records(2), on_outcome=outcomes.append)
    assert result.summary.aborted is None
    assert [(o.status, o.reason) for o in outcomes] == [(Status.DEAD_LETTERED, "connection_error")] * 2
    assert served[2].authorizations == []


def test_a_token_the_destination_echoes_in_a_refusal_is_scrubbed_from_the_outcome(issuer: TokenIssuer) -> None:
    async def send(request: Request) -> Response:  # refuses every record, quoting the credentials it was sent
        return JSONResponse({"message": f"token {request.headers['authorization'][7:]} may not write"}, 422)

    api = Starlette(routes=[Route("/send", send, methods=["POST"])])
    with running_server(Starlette(routes=[issuer.route("/oauth/token")])) as auth_url, running_server(api) as api_url:
        sync = build_sync(config(auth_url + "/oauth/token"), spec=spec(), base_url=api_url, allow_http=True)
        outcomes: list[Any] = []
        sync.run(records(1), on_outcome=outcomes.append)
    [token] = issuer.access
    [outcome] = outcomes
    assert outcome.status is Status.REJECTED
    assert outcome.destination_message == "token *** may not write"
    assert token not in repr(outcome)
