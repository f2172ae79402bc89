"""Emarsys WSSE request signing, the `kind: hook` auth of specs/emarsys.yaml (`wsse_hook`, an `AuthFactory`).

Every request carries

    X-WSSE: UsernameToken Username="<user>", PasswordDigest="<d>", Nonce="<n>", Created="<UTC ISO 8601>"

with a fresh random nonce and ``d = base64(hex(sha1(nonce + created + secret)))``: the base64 of
the *hex string* of the SHA-1, not of its raw bytes (the Emarsys quirk). [sdk: the public Segment
Emarsys destination signs the same way.] The header is built in ``auth_flow``, so each attempt
(retries included) gets its own nonce and timestamp, and nothing secret sits in the client's
default headers or in any repr.

Both credentials come from the sync's secrets (``username`` and ``secret``): the spec declares
the API username a secret as well, since it is issued with the secret as one credential.
"""

from __future__ import annotations

import base64
import hashlib
import secrets as _secrets
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from destkit.runtime.config.secrets import Secret
from destkit.runtime.delivery.extensions import AuthHookOptions

__all__ = ["WsseAuth", "format_created", "password_digest", "wsse", "wsse_header", "wsse_hook"]

Clock = Callable[[], datetime]
NonceSource = Callable[[], str]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _random_nonce() -> str:
    """32 hex characters (16 random bytes), as the Segment client sends."""
    return _secrets.token_hex(16)


def format_created(moment: datetime) -> str:
    """``2026-11-22T10:00:00Z``: UTC, whole seconds. A naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def password_digest(nonce: str, created: str, secret: str) -> str:
    """``base64(hex(sha1(nonce + created + secret)))`` -- base64 of the 40-character hex string."""
    hex_digest = hashlib.sha1((nonce + created + secret).encode("utf-8")).hexdigest()
    return base64.b64encode(hex_digest.encode("ascii")).decode("ascii")


def wsse_header(username: str, secret: str, nonce: str, created: str) -> str:
    """The X-WSSE header value for one request."""
    digest = password_digest(nonce, created, secret)
    return f'UsernameToken Username="{username}", PasswordDigest="{digest}", Nonce="{nonce}", Created="{created}"'


def _check_token(what: str, value: str) -> None:
    # a quote, comma or control character would break the header's key="value" syntax
    if not value or any(c in value for c in '"\\,') or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(
            f"the Emarsys {what} must be non-empty, without quotes, commas, backslashes or control characters"
        )


class WsseAuth(httpx.Auth):
    """Adds a freshly signed X-WSSE header to every request."""

    def __init__(
        self, username: Secret, secret: Secret, *, clock: Clock = _utc_now, nonce: NonceSource = _random_nonce
    ) -> None:
        _check_token("API username", username.reveal())
        if not secret.reveal():
            raise ValueError("the Emarsys API secret is empty")
        self._username = username
        self._secret = secret
        self.clock = clock
        self.nonce = nonce

    def header(self) -> str:
        """A new header value: a fresh nonce and the current time."""
        nonce = self.nonce()
        _check_token("nonce", nonce)
        return wsse_header(
            self._username.reveal(), self._secret.reveal(), nonce, format_created(self.clock())
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-WSSE"] = self.header()
        yield request

    def __repr__(self) -> str:
        return "WsseAuth(***)"


def _as_secret(value: Any) -> Secret | None:
    if value is None:
        return None
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise TypeError("Emarsys credentials must be strings or Secrets")


def wsse(
    *,
    secrets: Mapping[str, Any],
    settings: Mapping[str, Any],
    clock: Clock | None = None,
    nonce: NonceSource | None = None,
    **options: Any,
) -> httpx.Auth:
    """WSSE auth from the secrets ``username`` and ``secret`` (keyword form, for code and tests).

    ``clock`` (returning an aware datetime) and ``nonce`` (returning a string) are injectable for
    tests; ``settings`` are not used. Unknown options are an error, so a typo in the spec's
    ``auth.options`` does not pass silently.
    """
    if options:
        raise TypeError(f"unknown option(s) for the Emarsys WSSE auth: {', '.join(sorted(options))}")
    username = _as_secret(secrets.get("username"))
    secret = _as_secret(secrets.get("secret"))
    missing = [name for name, value in (("username", username), ("secret", secret)) if value is None]
    if missing:
        raise ValueError(f"the Emarsys WSSE auth needs the secret(s): {', '.join(missing)}")
    assert username is not None and secret is not None
    return WsseAuth(username, secret, clock=clock or _utc_now, nonce=nonce or _random_nonce)


def wsse_hook(options: AuthHookOptions) -> httpx.Auth:
    """The `kind: hook` factory of specs/emarsys.yaml (an `AuthFactory`): `wsse` over the sync's secrets.

    The spec's ``auth.options`` are passed on, so an unknown one is an error there too.
    """
    return wsse(secrets=options.secrets, settings=options.settings, **options.options)
