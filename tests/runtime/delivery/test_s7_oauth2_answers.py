"""A token endpoint's hostile answers: an expiry in the past or of zero, a token holding CR/LF or NUL, no token.

An `expires_in` of -5 or 0 made every request fetch a token first (the token endpoint hammered, every
sender waiting on its lock); a token holding a control character failed every request as 'the
connection failed (LocalProtocolError)', and a 200 without a token as '(TokenUnavailable)': the
outcome now says what the token endpoint did wrong, and the token is never sent nor shown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from destkit.runtime import Status, build_sync
from destkit.runtime.cli.display import auth_message
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.oauth2 import TOKEN_ANSWER_CAP
from tests.runtime.delivery.test_oauth2 import config, records, spec


class Endpoints:
    """A token endpoint answering `answer` (counting its fetches) and an API that takes any token."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.fetches = 0
        self.authorizations: list[str] = []

    def token_app(self) -> Starlette:
        async def token(request: Request) -> Response:
            self.fetches += 1
            return JSONResponse(self.answer)
        return Starlette(routes=[Route("/oauth/token", token, methods=["POST"])])

    def api_app(self) -> Starlette:
        async def send(request: Request) -> Response:
            self.authorizations.append(request.headers.get("authorization", ""))
            return JSONResponse({"ok": True})
        return Starlette(routes=[Route("/send", send, methods=["POST"])])


@pytest.fixture
def run() -> Iterator[Any]:
    """run(answer, n) -> (outcomes, endpoints): n records sent one at a time with that token answer."""
    def go(answer: dict[str, Any], n: int = 6) -> tuple[list[Any], Endpoints]:
        endpoints = Endpoints(answer)
        with running_server(endpoints.token_app()) as auth_url, running_server(endpoints.api_app()) as api_url:
            cfg = config(auth_url + "/oauth/token")
            cfg["options"]["concurrency"] = 1
            outcomes: list[Any] = []
            build_sync(cfg, spec=spec(), base_url=api_url, allow_http=True).run(records(n), on_outcome=outcomes.append)
        return outcomes, endpoints

    yield go


@pytest.mark.parametrize("expires_in", [-5, 0, "-1"])
def test_an_expiry_that_is_not_in_the_future_is_no_expiry_and_the_token_is_fetched_once(run: Any, expires_in: Any) -> None:
    outcomes, endpoints = run({"access_token": "tok-4f1c9a", "token_type": "bearer", "expires_in": expires_in})
    assert [o.status for o in outcomes] == [Status.DELIVERED] * 6
    assert endpoints.fetches == 1


@pytest.mark.parametrize("token", ["tok-4f1c9a\r\nX-Injected: 1", "tok-4f1c9a\x00", "tok-4f1c9a\n"])
def test_a_token_holding_a_control_character_is_never_sent_and_the_outcome_says_why(run: Any, token: str) -> None:
    outcomes, endpoints = run({"access_token": token, "token_type": "bearer"}, n=2)
    assert endpoints.authorizations == []
    assert [(o.status, o.reason) for o in outcomes] == [(Status.DEAD_LETTERED, "connection_error")] * 2
    message = outcomes[0].message
    assert message.startswith("the connection failed (TokenUnavailable: the token endpoint issued an access token "
                              "holding a control character, which no header can carry)")
    assert "tok-4f1c9a" not in message


def test_a_token_answer_without_a_token_says_so_in_the_outcome(run: Any) -> None:
    outcomes, endpoints = run({"token_type": "bearer", "expires_in": 3600}, n=1)
    [outcome] = outcomes
    assert outcome.message.startswith(
        "the connection failed (TokenUnavailable: the token endpoint answered HTTP 200 without an access_token)")
    assert endpoints.authorizations == []


def test_a_token_answer_streamed_past_the_cap_is_not_read_on() -> None:
    """Without a content-length the cap was not applied: a 400 MB chunked answer was read whole (1.1 GB RSS)."""
    async def token(request: Request) -> Response:
        async def endless() -> AsyncIterator[bytes]:
            for _ in range(400):
                yield b" " * 1_000_000
        return StreamingResponse(endless(), media_type="application/json")

    endpoints = Endpoints({})
    with running_server(Starlette(routes=[Route("/oauth/token", token, methods=["POST"])])) as auth_url, \
            running_server(endpoints.api_app()) as api_url:
        outcomes: list[Any] = []
        build_sync(config(auth_url + "/oauth/token"), spec=spec(), base_url=api_url, allow_http=True).run(
            records(1), on_outcome=outcomes.append)
    [outcome] = outcomes
    assert outcome.message.startswith(
        f"the connection failed (TokenUnavailable: the token endpoint's answer is over {TOKEN_ANSWER_CAP} bytes)")
    assert endpoints.authorizations == []


def test_a_refused_credential_asks_to_fix_the_credentials_not_an_api_key() -> None:
    line = auth_message("auth_failed: the token endpoint refused the client credentials; check secrets.client_id.")
    assert line == ("authentication failed: the token endpoint refused the client credentials; check secrets.client_id. "
                    "Nothing more was sent; fix the credentials under `secrets:` and run again.")
