"""httpx.Auth implementations for the spec's auth kinds.

Credentials are rendered once per sync from the spec's templates and held as `Secret`s; they are
attached in `auth_flow`, so they never sit in the client's default headers (and its repr).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Generator, Mapping
from typing import Any

import httpx
from pydantic import TypeAdapter

from destkit.mapping import Template
from destkit.runtime.config.secrets import Secret
from destkit.runtime.delivery.extensions import AuthHookOptions, load_auth_factory
from destkit.runtime.spec.models import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    BearerAuth,
    HmacAuth,
    HookAuth,
    JwtAuth,
    NoAuth,
)


def _render(template: str, secrets: Mapping[str, Secret], settings: Mapping[str, Any]) -> Secret:
    context = {"secrets": {k: v.reveal() for k, v in secrets.items()}, "settings": dict(settings)}
    return Secret(Template(template).render(context))


class HeaderAuth(httpx.Auth):
    def __init__(self, name: str, value: Secret) -> None:
        self.name = name
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.name] = self._value.reveal()
        yield request

    def __repr__(self) -> str:
        return f"HeaderAuth({self.name!r}, ***)"


class QueryAuth(httpx.Auth):
    def __init__(self, name: str, value: Secret) -> None:
        self.name = name
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params({self.name: self._value.reveal()})
        yield request

    def __repr__(self) -> str:
        return f"QueryAuth({self.name!r}, ***)"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_jwt(secret: bytes, claims: Mapping[str, Any]) -> str:
    """A compact HS256 JSON Web Token (RFC 7519); small enough not to need a JWT library."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = _b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


class JwtHeaderAuth(httpx.Auth):
    """A fresh token per request (iat = now, exp = now + ttl), so retries never carry an expired one."""

    def __init__(self, secret: Secret, claims: Mapping[str, Any], ttl: int, header: str, scheme: str,
                 clock: Any = time.time) -> None:
        self._secret = secret
        self.claims = dict(claims)
        self.ttl = ttl
        self.header = header
        self.scheme = scheme
        self.clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        now = int(self.clock())
        token = hs256_jwt(self._secret.reveal().encode(), {**self.claims, "iat": now, "exp": now + self.ttl})
        request.headers[self.header] = f"{self.scheme} {token}" if self.scheme else token
        yield request

    def __repr__(self) -> str:
        return f"JwtHeaderAuth({self.header!r}, ***)"


def webhook_secret_bytes(secret: str) -> bytes:
    """Standard Webhooks: a `whsec_` secret is base64 after the prefix; anything else is used as text."""
    if secret.startswith("whsec_"):
        try:
            key = base64.b64decode(secret[len("whsec_"):], validate=True)
        except binascii.Error:
            raise ValueError("a secret starting with whsec_ must be base64 after the prefix") from None
        if not key:
            raise ValueError("the whsec_ secret is empty")
        return key
    if not secret:
        raise ValueError("the signing secret is empty")
    return secret.encode()


def standard_webhook_signature(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class HmacBodyAuth(httpx.Auth):
    """Signs the body. The webhook id is the request's idempotency key when the runtime set one (the spec names
    `webhook-id` as its key), else derived from the body: either way a retry carries the same id (receivers dedupe)."""

    requires_request_body = True

    def __init__(self, secret: Secret, scheme: str, header: str, clock: Any = time.time) -> None:
        self._secret = secret
        self._key = webhook_secret_bytes(secret.reveal())  # decoded once: a malformed secret fails at build time
        self.scheme = scheme
        self.header = header
        self.clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content
        key = self._key
        if self.scheme == "standard_webhooks":
            msg_id = request.headers.get("webhook-id") or "msg_" + hashlib.sha256(body).hexdigest()[:32]
            timestamp = int(self.clock())
            request.headers["webhook-id"] = msg_id
            request.headers["webhook-timestamp"] = str(timestamp)
            request.headers["webhook-signature"] = standard_webhook_signature(key, msg_id, timestamp, body)
        else:
            request.headers[self.header] = hmac.new(key, body, hashlib.sha256).hexdigest()
        yield request

    def __repr__(self) -> str:
        return f"HmacBodyAuth({self.scheme!r}, ***)"


def build_auth(spec_auth: ApiKeyAuth | BearerAuth | BasicAuth | HookAuth | NoAuth | JwtAuth | HmacAuth,
               secrets: Mapping[str, Secret], settings: Mapping[str, Any]) -> httpx.Auth | None:
    if isinstance(spec_auth, ApiKeyAuth):
        value = _render(spec_auth.value, secrets, settings)
        return HeaderAuth(spec_auth.name, value) if spec_auth.in_ == "header" else QueryAuth(spec_auth.name, value)
    if isinstance(spec_auth, BearerAuth):
        token = _render(spec_auth.token, secrets, settings)
        return HeaderAuth("Authorization", Secret("Bearer " + token.reveal()))
    if isinstance(spec_auth, BasicAuth):
        user = _render(spec_auth.username, secrets, settings).reveal()
        password = _render(spec_auth.password, secrets, settings).reveal()
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
        return HeaderAuth("Authorization", Secret("Basic " + encoded))
    if isinstance(spec_auth, JwtAuth):
        return JwtHeaderAuth(_render(spec_auth.secret, secrets, settings), spec_auth.claims, spec_auth.ttl_seconds,
                             spec_auth.header, spec_auth.scheme)
    if isinstance(spec_auth, HmacAuth):
        return HmacBodyAuth(_render(spec_auth.secret, secrets, settings), spec_auth.scheme, spec_auth.header)
    if isinstance(spec_auth, HookAuth):
        factory = load_auth_factory(spec_auth.hook)
        return factory(AuthHookOptions(secrets=secrets, settings=settings, options=spec_auth.options))
    return None


_AUTH_BLOCK: TypeAdapter[ApiKeyAuth | BearerAuth | BasicAuth | HookAuth | NoAuth | JwtAuth | HmacAuth] = TypeAdapter(Auth)


def declared_auth(options: AuthHookOptions) -> httpx.Auth:
    """The default `AuthFactory`: `options.options` is an auth block of a declared kind, built as the spec would.

    A hook that only adds to a declared kind can start from it (e.g. bearer plus a tenant header).
    """
    built = build_auth(_AUTH_BLOCK.validate_python(dict(options.options)), options.secrets, options.settings)
    return built if built is not None else httpx.Auth()  # kind none: the base class sends requests as they are
