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
import re
import time
import uuid
from collections.abc import Generator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx
from pydantic import TypeAdapter

from destkit.mapping import Template
from destkit.runtime.config.secrets import Secret
from destkit.runtime.delivery.extensions import AuthHookOptions, load_auth_factory
from destkit.runtime.delivery.oauth2 import TokenEndpoint, oauth2_auth
from destkit.runtime.spec.models import (
    ApiKeyAuth,
    Auth,
    AuthKind,
    BasicAuth,
    BearerAuth,
    HmacAuth,
    HookAuth,
    JwtAuth,
)
from destkit.runtime.spec.oauth2_model import OAuth2Auth


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
    """A fresh token per request, so retries never carry an expired one and no two requests share a `jti`.

    `iat` is back-dated by `clock_skew` seconds: a receiver whose clock runs behind ours (PyJWT refuses an
    `iat` in its future) still accepts the token; `exp` is `ttl` seconds after the actual sending time.
    The `jti` is random, so a receiver may refuse a token it has seen before (a replay).
    """

    def __init__(self, secret: Secret, claims: Mapping[str, Any], ttl: int, header: str, scheme: str,
                 clock: Any = time.time, clock_skew: int = 30) -> None:
        self._secret = secret
        self.claims = dict(claims)
        self.ttl = ttl
        self.header = header
        self.scheme = scheme
        self.clock = clock
        self.clock_skew = clock_skew

    def fresh_claims(self) -> dict[str, Any]:
        now = int(self.clock())
        return {**self.claims, "iat": now - self.clock_skew, "exp": now + self.ttl, "jti": uuid.uuid4().hex}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = hs256_jwt(self._secret.reveal().encode(), self.fresh_claims())
        request.headers[self.header] = f"{self.scheme} {token}" if self.scheme else token
        yield request

    def __repr__(self) -> str:
        return f"JwtHeaderAuth({self.header!r}, ***)"


_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def webhook_secret_bytes(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret, read as the reference library reads it.

    `standardwebhooks.Webhook(secret)` strips an optional `whsec_` prefix and base64-decodes the rest,
    padded or not; so does this, so a receiver built on it verifies what we sign. Where the library
    would silently drop characters outside the base64 alphabet, this refuses the secret instead.
    """
    encoded = secret.removeprefix("whsec_")
    if not encoded:
        raise ValueError("the signing secret is empty")
    if _BASE64.fullmatch(encoded) is None or len(encoded.rstrip("=")) % 4 == 1:
        raise ValueError("a Standard Webhooks secret must be base64 (optionally after a whsec_ prefix)")
    unpadded = encoded.rstrip("=")
    try:
        return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("a Standard Webhooks secret must be base64 (optionally after a whsec_ prefix)") from None


def text_secret_bytes(secret: str) -> bytes:
    """The HMAC key of a GitHub, Shopify or Stripe style secret: the text itself (a whsec_ prefix included)."""
    if not secret:
        raise ValueError("the signing secret is empty")
    return secret.encode()


def standard_webhook_signature(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True)
class BodySignature:
    """How a receiver of the hex_body family expects the HMAC-SHA256 of the body."""

    header: str
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""
    signed_timestamp: bool = False

    def value(self, key: bytes, body: bytes, timestamp: int) -> str:
        if self.signed_timestamp:  # Stripe: the timestamp is signed with the body, so a replay cannot move it
            return f"t={timestamp},v1={self.digest(key, f'{timestamp}.'.encode() + body)}"
        return self.prefix + self.digest(key, body)

    def digest(self, key: bytes, message: bytes) -> str:
        mac = hmac.new(key, message, hashlib.sha256)
        return mac.hexdigest() if self.encoding == "hex" else base64.b64encode(mac.digest()).decode()


BODY_SIGNATURES: dict[str, BodySignature] = {
    "hex_body": BodySignature("X-Signature"),
    "github": BodySignature("X-Hub-Signature-256", prefix="sha256="),  # GitHub's X-Hub-Signature-256
    "shopify": BodySignature("X-Shopify-Hmac-Sha256", encoding="base64"),  # Shopify's webhook HMAC
    "stripe": BodySignature("Stripe-Signature", signed_timestamp=True),  # Stripe-Signature: t=...,v1=...
}
"""The hex_body family: the plain scheme and the receiver conventions it can follow, by scheme name."""


def body_signature(spec_auth: HmacAuth, scheme: str) -> BodySignature:
    """The scheme's convention with the spec's own header, encoding, prefix and timestamp choices applied."""
    preset = BODY_SIGNATURES[scheme]
    chosen = {name: getattr(spec_auth, name) for name in ("header", "encoding", "prefix", "signed_timestamp")}
    signature = replace(preset, **{name: value for name, value in chosen.items() if value is not None})
    if signature.signed_timestamp and signature.prefix:
        raise ValueError(f"the {scheme} scheme with a signed timestamp takes no prefix")
    return signature


def webhook_id(body: bytes) -> str:
    """Derived from the body, so a retry carries the same id and a receiver can dedupe on it."""
    return "msg_" + hashlib.sha256(body).hexdigest()[:32]


class HmacBodyAuth(httpx.Auth):
    """Signs the body; every scheme also sends `webhook-id`: the request's idempotency key when the runtime
    set one (the spec names `webhook-id` as its key), else derived from the body. Either way a retry carries
    the same id, so receivers can dedupe."""

    requires_request_body = True

    def __init__(self, secret: Secret, scheme: str, signature: BodySignature | None = None,
                 clock: Any = time.time) -> None:
        self._secret = secret
        if scheme == "standard_webhooks":
            self.signature = None
            self._key = webhook_secret_bytes(secret.reveal())  # decoded once: a malformed secret fails at build time
        elif scheme in BODY_SIGNATURES:
            self.signature = signature or BODY_SIGNATURES[scheme]
            self._key = text_secret_bytes(secret.reveal())
        else:
            raise ValueError(f"the hmac scheme {scheme!r} is not one of standard_webhooks, {', '.join(BODY_SIGNATURES)}")
        self.scheme = scheme
        self.clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content
        msg_id, timestamp = request.headers.get("webhook-id") or webhook_id(body), int(self.clock())
        request.headers["webhook-id"] = msg_id
        if self.signature is None:
            request.headers["webhook-timestamp"] = str(timestamp)
            request.headers["webhook-signature"] = standard_webhook_signature(self._key, msg_id, timestamp, body)
        else:
            request.headers[self.signature.header] = self.signature.value(self._key, body, timestamp)
        yield request

    def __repr__(self) -> str:
        return f"HmacBodyAuth({self.scheme!r}, ***)"


def hmac_auth(spec_auth: HmacAuth, secrets: Mapping[str, Secret], settings: Mapping[str, Any]) -> HmacBodyAuth:
    """The spec's hmac block, its scheme read from the settings when the user chooses it."""
    scheme = Template(spec_auth.scheme).render({"settings": dict(settings)}) if "{{" in spec_auth.scheme else spec_auth.scheme
    signature = body_signature(spec_auth, scheme) if scheme in BODY_SIGNATURES else None
    return HmacBodyAuth(_render(spec_auth.secret, secrets, settings), scheme, signature)


def build_auth(spec_auth: AuthKind, secrets: Mapping[str, Secret], settings: Mapping[str, Any],
               token_endpoint: TokenEndpoint | None = None, issued: list[Secret] | None = None) -> httpx.Auth | None:
    """The spec's auth block with its credentials rendered; `token_endpoint`: oauth2's checked token URL
    (by default the block's own, rendered and checked here); `issued`: where oauth2 adds the tokens it is given."""
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
                             spec_auth.header, spec_auth.scheme, clock_skew=spec_auth.clock_skew_seconds)
    if isinstance(spec_auth, HmacAuth):
        return hmac_auth(spec_auth, secrets, settings)
    if isinstance(spec_auth, OAuth2Auth):
        return oauth2_auth(spec_auth, secrets, settings, token_endpoint, issued)
    if isinstance(spec_auth, HookAuth):
        factory = load_auth_factory(spec_auth.hook)
        return factory(AuthHookOptions(secrets=secrets, settings=settings, options=spec_auth.options))
    return None


_AUTH_BLOCK: TypeAdapter[AuthKind] = TypeAdapter(Auth)


def declared_auth(options: AuthHookOptions) -> httpx.Auth:
    """The default `AuthFactory`: `options.options` is an auth block of a declared kind, built as the spec would.

    A hook that only adds to a declared kind can start from it (e.g. bearer plus a tenant header).
    """
    built = build_auth(_AUTH_BLOCK.validate_python(dict(options.options)), options.secrets, options.settings)
    return built if built is not None else httpx.Auth()  # kind none: the base class sends requests as they are
