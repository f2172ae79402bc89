"""An OAuth2 token endpoint (RFC 6749) for emulators: refresh-token and client-credentials grants, expiring
access tokens, optional refresh-token rotation, and the bearer check the emulated API applies.

A real HTTP endpoint: a Starlette route taking a form-encoded POST, client authentication in the body
(client_secret_post) or as HTTP Basic (client_secret_basic), answering the RFC's JSON token answer or
its error answer (§5.2), or the error shape the destination uses instead (`refusal`).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Refusal = Callable[[str, str], dict[str, Any]]
"""(RFC error code, description) -> the body of a refusal, in the destination's own shape."""


def rfc_refusal(code: str, description: str) -> dict[str, Any]:
    return {"error": code, "error_description": description}


class TokenIssuer:
    """Issues access tokens that live `ttl` seconds; `rotate` gives a new refresh token with each, revoking the old."""

    def __init__(self, *, client_id: str, client_secret: str, refresh_token: str | None = None, ttl: int = 1800,
                 rotate: bool = False, refusal: Refusal = rfc_refusal, clock: Callable[[], float] = time.time) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_tokens = {refresh_token} if refresh_token else set()
        self.ttl = ttl
        self.rotate = rotate
        self.refusal = refusal
        self.clock = clock
        self.access: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.grants: list[str] = []  # the grant_type of every token request, in order
        self.refresh_used: list[str] = []  # the refresh token each refresh grant presented

    def route(self, path: str) -> Route:
        return Route(path, self.token, methods=["POST"])

    def valid(self, authorization: str | None) -> bool:
        """Whether an `Authorization: Bearer ...` header carries a live token this issuer issued."""
        if not authorization or not authorization.startswith("Bearer "):
            return False
        expiry = self.access.get(authorization.removeprefix("Bearer "))
        return expiry is not None and self.clock() < expiry

    def expire_all(self) -> None:
        """Every issued token stops working now (a revocation, or a token older than the API's clock says)."""
        self.access = dict.fromkeys(self.access, 0.0)

    async def token(self, request: Request) -> Response:
        form: dict[str, Any] = dict(parse_qsl((await request.body()).decode()))  # form-encoded (RFC 6749 §4.4.2, §6)
        grant = str(form.get("grant_type", ""))
        self.grants.append(grant)
        if not self.client_ok(request, form):
            return JSONResponse(self.refusal("invalid_client", "client authentication failed"), 401)
        if grant == "refresh_token":
            presented = str(form.get("refresh_token", ""))
            self.refresh_used.append(presented)
            if presented not in self.refresh_tokens:
                return JSONResponse(self.refusal("invalid_grant", "missing or unknown refresh token"), 400)
        elif grant != "client_credentials":
            return JSONResponse(self.refusal("unsupported_grant_type", f"grant_type {grant!r}"), 400)
        return JSONResponse(self.issue(form), headers={"cache-control": "no-store"})

    def client_ok(self, request: Request, form: dict[str, Any]) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):  # RFC 6749 §2.3.1: each part form-encoded before Basic encoding
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            pair = (unquote(user), unquote(password))
        else:
            pair = (str(form.get("client_id", "")), str(form.get("client_secret", "")))
        return pair == (self.client_id, self.client_secret)

    def issue(self, form: dict[str, Any]) -> dict[str, Any]:
        token = "at-" + secrets.token_urlsafe(24)
        self.access[token] = self.clock() + self.ttl
        answer: dict[str, Any] = {"access_token": token, "token_type": "bearer", "expires_in": self.ttl}
        if form.get("grant_type") == "refresh_token" and self.rotate:
            new = "rt-" + secrets.token_urlsafe(24)
            self.refresh_tokens = {new}
            answer["refresh_token"] = new
        return answer


__all__ = ["Refusal", "TokenIssuer", "rfc_refusal"]
