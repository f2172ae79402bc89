"""Hello Charles flow events carry JWTs that PyJWT, the reference implementation, accepts as a receiver would.

The receiver here is the Hello Charles emulator behind a gate that decodes every token with
`jwt.decode(token, key, algorithms=["HS256"], issuer=..., options={"require": [...]})` and refuses a
`jti` it has seen (replay protection), the checks a careful receiver makes.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from destkit.destinations.hello_charles.emulator import create_app
from destkit.destinations.hello_charles.jwt import verify_hs256_jwt
from destkit.runtime import build_sync
from destkit.runtime.config.secrets import Secret
from destkit.runtime.delivery.auth import JwtHeaderAuth, build_auth
from destkit.runtime.spec.models import JwtAuth
from tests.conftest import API_KEY

JWT_SECRET = "a-flow-webhook-secret-of-32-bytes!"  # PyJWT warns about HMAC keys under 32 bytes
REQUIRED = ["iss", "iat", "exp", "jti"]
NOW = 1_700_000_000


def receiver_decode(token: str) -> dict[str, Any]:
    """What a receiver built on PyJWT does with the bearer token."""
    claims: dict[str, Any] = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], issuer="destkit",
                                        options={"require": REQUIRED})
    return claims


class PyJwtGate:
    """An ASGI wrapper: PyJWT verifies the token and a jti seen before is a replay (401); then the app answers."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.claims: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = dict(scope["headers"]).get(b"authorization", b"").decode().removeprefix("Bearer ")
        try:
            claims = receiver_decode(token)
            if any(seen["jti"] == claims["jti"] for seen in self.claims):
                raise jwt.InvalidTokenError("replayed jti")
        except jwt.InvalidTokenError as exc:
            await JSONResponse({"error": str(exc)}, status_code=401)(scope, receive, send)
            return
        self.claims.append(claims)
        await self.app(scope, receive, send)


def flow_config() -> dict[str, Any]:
    return {"destination": "hello_charles", "action": "trigger_flow", "settings": {"subdomain": "acme"},
            "secrets": {"jwt_secret": JWT_SECRET},
            "mapping": {"event_name": "event", "external_reference_id": "user_id", "email": "email"}}


def flow_events(n: int) -> list[dict[str, Any]]:
    return [{"event": "welcome", "user_id": f"u{i}", "email": f"u{i}@example.com"} for i in range(n)]


def run_through_gate(n: int) -> tuple[PyJwtGate, Any]:
    gate = PyJwtGate(create_app(api_key=API_KEY, jwt_secret=JWT_SECRET))
    sync = build_sync(flow_config(), base_url="http://acme.hello-charles.test", allow_http=True,
                      transport=httpx.ASGITransport(app=gate))
    return gate, sync.run(flow_events(n))


def signer(clock: Any, **auth: Any) -> JwtHeaderAuth:
    block = JwtAuth(kind="jwt", secret="{{ secrets.jwt_secret }}", claims={"iss": "destkit"}, **auth)
    built = build_auth(block, {"jwt_secret": Secret(JWT_SECRET)}, {})
    assert isinstance(built, JwtHeaderAuth)
    built.clock = clock
    return built


def token_of(auth: JwtHeaderAuth) -> str:
    request = next(auth.auth_flow(httpx.Request("POST", "http://acme.hello-charles.test/x")))
    return request.headers["authorization"].removeprefix("Bearer ")


def test_every_flow_event_token_verifies_with_pyjwt_and_the_run_delivers() -> None:
    gate, result = run_through_gate(3)
    assert (result.summary.delivered, result.summary.aborted) == (3, None)
    assert [sorted(claims) for claims in gate.claims] == [sorted(REQUIRED)] * 3


def test_two_requests_carry_different_jtis_so_a_receiver_refusing_replays_accepts_both() -> None:
    gate, result = run_through_gate(2)
    assert result.summary.delivered == 2
    first, second = (claims["jti"] for claims in gate.claims)
    assert first != second


def test_iat_is_back_dated_by_the_clock_skew_and_exp_is_ttl_after_sending() -> None:
    claims = jwt.decode(token_of(signer(lambda: NOW)), JWT_SECRET, algorithms=["HS256"],
                        options={"verify_exp": False, "verify_iat": False})
    assert (claims["iat"], claims["exp"], claims["iss"]) == (NOW - 30, NOW + 300, "destkit")


def test_the_specs_clock_skew_seconds_sets_how_far_iat_is_back_dated() -> None:
    claims = jwt.decode(token_of(signer(lambda: NOW, clock_skew_seconds=90)), JWT_SECRET, algorithms=["HS256"],
                        options={"verify_exp": False, "verify_iat": False})
    assert claims["iat"] == NOW - 90


def test_a_receiver_whose_clock_runs_20s_behind_accepts_the_token() -> None:
    ahead = signer(lambda: time.time() + 20)  # our clock 20 s ahead of the receiver's
    assert receiver_decode(token_of(ahead))["iss"] == "destkit"


def test_without_the_back_dating_a_receiver_whose_clock_runs_behind_refuses_the_token() -> None:
    ahead = signer(lambda: time.time() + 20, clock_skew_seconds=0)
    with pytest.raises(jwt.ImmatureSignatureError):
        receiver_decode(token_of(ahead))


def test_the_emulator_judges_an_iat_in_its_future_as_pyjwt_does() -> None:
    token = token_of(signer(lambda: NOW + 20, clock_skew_seconds=0))
    assert verify_hs256_jwt(token, JWT_SECRET, now=NOW) == (None, "token_expired")
    assert verify_hs256_jwt(token, JWT_SECRET, now=NOW, leeway_s=20)[1] is None
    assert verify_hs256_jwt(token_of(signer(lambda: NOW + 20)), JWT_SECRET, now=NOW)[1] is None
