"""OAuth2 (RFC 6749) as an httpx.Auth flow: the access token is fetched from the token endpoint through the
sync's own client (its transport, timeouts and URL guard), cached until it expires, shared by every
concurrent sender (one fetch at a time), refreshed once when the API answers 401, and then the request
is replayed once. The tokens are held as `Secret`s: no repr, log line or exception carries them.

A token endpoint that refuses the credentials (400 invalid_grant, 401 invalid_client) raises
`AuthFailed` naming the secret to fix; one that is down raises `TokenUnavailable`, a connection
failure to the sender (the records are retried, then dead-lettered).
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import time
import zlib
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from destkit.mapping import Template
from destkit.runtime.config.secrets import Secret, redact
from destkit.runtime.config.urls import check_base_url, public_host_problem
from destkit.runtime.delivery.exchange import read_capped
from destkit.runtime.delivery.pinning import AddressRefused
from destkit.runtime.errors import AuthFailed, DestkitError, InternalError
from destkit.runtime.spec.oauth2_model import OAuth2Auth
from destkit.runtime.spec.vocabulary import secrets_used, settings_used

_REQUEST_ERRORS = ("invalid_request", "invalid_scope", "unsupported_grant_type")  # RFC 6749 §5.2: not the grant
TOKEN_ANSWER_CAP = 64 * 1024  # a token answer is a few hundred bytes; more is not a token endpoint
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TokenUnavailable(DestkitError, httpx.ConnectError):
    """The token endpoint gave no usable answer (5xx, not JSON): the API request was never sent, so it may be."""

    shown_in_outcome = True  # its message holds no secret: the outcome quotes it (exchange.transport_failure)

    def __init__(self, message: str) -> None:
        DestkitError.__init__(self, message)


@dataclass(frozen=True)
class TokenEndpoint:
    """Where the token comes from: `user_given` (templated over settings) URLs have their host checked on connect."""

    url: str
    user_given: bool = False
    allow_loopback: bool = False


def token_endpoint(spec_auth: OAuth2Auth, settings: Mapping[str, Any], *, spec_base_url: str | None = None,
                   override: str | None = None, allow_http: bool = False) -> TokenEndpoint:
    """The rendered token URL, passed by the URL guard; raises ValueError saying why not.

    A token URL on the spec's own API host follows a `--base-url` override (an emulator serves both), so a
    run against an emulator never sends a real refresh token to the real token endpoint.
    """
    url = Template(spec_auth.token_url).render({"settings": dict(settings)})
    user_given = bool(settings_used(spec_auth.token_url))
    if override and spec_base_url and httpx.URL(url).host == httpx.URL(spec_base_url).host:
        target = httpx.URL(override)
        url = str(httpx.URL(url).copy_with(scheme=target.scheme, host=target.host, port=target.port))
    problem = check_base_url(url, override=True, allow_http=allow_http, user_url=user_given, resolve=user_given)
    if problem is not None:
        raise ValueError(f"the token URL: {problem}")
    return TokenEndpoint(url, user_given=user_given, allow_loopback=allow_http)


@dataclass(frozen=True)
class OAuth2Client:
    """The rendered credentials of an oauth2 block, and the secrets' names for the messages that ask to fix them."""

    grant: str
    endpoint: TokenEndpoint
    client_id: Secret
    client_secret: Secret
    refresh_token: Secret | None
    scope: str | None
    client_auth: str
    skew: float
    refresh_names: str  # e.g. "secrets.refresh_token"
    client_names: str  # e.g. "secrets.client_id and secrets.client_secret"


def _names(*templates: str | None) -> str:
    names = sorted({f"secrets.{n}" for t in templates if t for n in secrets_used(t)})
    return " and ".join(names) or "the oauth2 block's credentials"


def oauth2_client(spec_auth: OAuth2Auth, secrets: Mapping[str, Secret], settings: Mapping[str, Any],
                  endpoint: TokenEndpoint | None = None) -> OAuth2Client:
    context = {"secrets": {k: v.reveal() for k, v in secrets.items()}, "settings": dict(settings)}

    def render(template: str) -> Secret:
        return Secret(Template(template).render(context))

    refresh = render(spec_auth.refresh_token) if spec_auth.refresh_token else None
    if refresh is not None and not refresh.reveal():
        raise ValueError("the refresh token is empty")
    return OAuth2Client(
        grant=spec_auth.grant, endpoint=endpoint or token_endpoint(spec_auth, settings),
        client_id=render(spec_auth.client_id), client_secret=render(spec_auth.client_secret), refresh_token=refresh,
        scope=Template(spec_auth.scope).render({"settings": dict(settings)}) if spec_auth.scope else None,
        client_auth=spec_auth.client_auth, skew=float(spec_auth.expiry_skew_seconds),
        refresh_names=_names(spec_auth.refresh_token), client_names=_names(spec_auth.client_id, spec_auth.client_secret))


@dataclass(frozen=True)
class Token:
    value: Secret
    expires_at: float | None  # None: the endpoint said nothing; kept until the API answers 401


class OAuth2Flow(httpx.Auth):
    """Bearer `Authorization` with a token from the token endpoint; see the module docstring."""

    requires_request_body = True  # a request refused with 401 is replayed with the new token

    def __init__(self, client: OAuth2Client, clock: Callable[[], float] = time.monotonic,
                 issued: list[Secret] | None = None) -> None:
        self._client = client
        # every token this flow is given is added here: the sync's list of secrets to scrub from what a
        # destination answers, so a token the destination echoes never reaches an outcome or a report
        self.issued: list[Secret] = [] if issued is None else issued
        self._refresh = client.refresh_token  # replaced when the endpoint rotates it (in memory only)
        self._token: Token | None = None
        self._locks: dict[int, asyncio.Lock] = {}  # one per event loop: a Sync may run in several
        self.clock = clock
        self.fetches = 0  # token answers read (tests and debugging)

    def __repr__(self) -> str:
        return f"OAuth2Flow({self._client.grant!r}, {self._client.endpoint.url!r}, ***)"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise InternalError("the oauth2 auth flow runs in an httpx.AsyncClient only")
        yield request  # pragma: no cover  (makes this a generator)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        refused: Token | None = None
        for attempt in (1, 2):  # the second: once more with a fresh token after a 401
            async with self._lock():  # one token fetch at a time; the others wait for it and share it
                token = self._usable(refused)
                if token is None:
                    await self._check_host()
                    answer = yield self._token_request()
                    token = await self._take(answer)
            request.headers["Authorization"] = f"Bearer {token.value.reveal()}"
            response = yield request
            if response.status_code != 401 or attempt == 2:
                return  # a second 401 goes to the sender, which stops the run (the auth error class)
            refused = token

    def _lock(self) -> asyncio.Lock:
        loop = id(asyncio.get_running_loop())
        lock = self._locks.get(loop)
        if lock is None:
            self._locks = {loop: (lock := asyncio.Lock())}
        return lock

    def _usable(self, refused: Token | None) -> Token | None:
        """The cached token, unless it has expired or is the one the API just refused (another sender may have
        replaced that one already: then the new one is used, not fetched again)."""
        token = self._token
        if token is None or token is refused:
            return None
        if token.expires_at is not None and self.clock() >= token.expires_at:
            return None
        return token

    async def _check_host(self) -> None:
        """A token URL built from the user's settings must reach a public address when it connects, too."""
        endpoint = self._client.endpoint
        if endpoint.user_given:
            host = httpx.URL(endpoint.url).host
            problem = await asyncio.to_thread(public_host_problem, host, endpoint.allow_loopback)
            if problem is not None:
                raise AddressRefused(problem)

    def _token_request(self) -> httpx.Request:
        c = self._client
        form = {"grant_type": c.grant}
        if self._refresh is not None:
            form["refresh_token"] = self._refresh.reveal()
        if c.scope:
            form["scope"] = c.scope
        headers = {"accept": "application/json", "user-agent": "destkit/0.1"}
        if c.client_auth == "basic":  # RFC 6749 §2.3.1: each part form-encoded, then Basic
            pair = f"{quote(c.client_id.reveal(), safe='')}:{quote(c.client_secret.reveal(), safe='')}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form |= {"client_id": c.client_id.reveal(), "client_secret": c.client_secret.reveal()}
        return httpx.Request("POST", c.endpoint.url, data=form, headers=headers)

    async def _take(self, answer: httpx.Response) -> Token:
        """The token of a token answer (and a rotated refresh token), or the error that says what to fix."""
        self.fetches += 1
        body = _json(await _capped_body(answer))
        status = answer.status_code
        if status in (400, 401):
            raise AuthFailed(status, self._refusal(status, body))
        access = body.get("access_token") if status == 200 else None
        if not isinstance(access, str) or not access:
            raise TokenUnavailable(f"the token endpoint answered HTTP {status} without an access_token")
        if _CONTROL.search(access):  # CR/LF would split the header (httpx refuses it), NUL ends it: never sent
            raise TokenUnavailable("the token endpoint issued an access token holding a control character, "
                                   "which no header can carry")
        token_type = body.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise AuthFailed(status, "the token endpoint issued a token that is not a bearer token; "
                                     "destkit sends bearer tokens only")
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and self._refresh is not None:
            self._refresh = Secret(rotated)  # the old one may be revoked now: the next refresh uses this one
            self.issued.append(self._refresh)
        self._token = Token(Secret(access), self._expiry(body.get("expires_in")))
        self.issued.append(self._token.value)
        return self._token

    def _expiry(self, expires_in: object) -> float | None:
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float | str):
            return None
        try:
            seconds = float(expires_in)
        except ValueError:
            return None
        if not 0 < seconds < math.inf:  # -5, 0 or NaN: no expiry we can use (each request would fetch a token)
            return None
        # a token shorter-lived than twice the skew is used for half its life
        return self.clock() + max(seconds - self._client.skew, seconds / 2)

    def _refusal(self, status: int, body: Mapping[str, Any]) -> str:
        """What the endpoint refused and which secret to fix (its own description scrubbed of our secrets).

        RFC 6749 §5.2 names the error in `error`; some endpoints (HubSpot's) use `status` and `message`.
        """
        c = self._client
        code = str(body.get("error") or body.get("status") or "")
        detail = str(body.get("error_description") or body.get("message") or "")
        said = redact(f"{code}: {detail}" if code and detail else code or detail or f"HTTP {status}", self._secrets())
        if status == 401 or "client" in code.lower() or (code == "invalid_grant" and c.grant == "client_credentials"):
            return f"the token endpoint refused the client credentials ({said}); check {c.client_names}."
        if c.grant == "refresh_token" and code not in _REQUEST_ERRORS:
            return f"the token endpoint refused the refresh token ({said}); renew {c.refresh_names}."
        return f"the token endpoint refused the token request ({said}); check the spec's oauth2 block (grant, scope)."

    def _secrets(self) -> list[Secret]:
        found = [self._client.client_id, self._client.client_secret, self._client.refresh_token, self._refresh]
        return [s for s in found if s is not None]


async def _capped_body(answer: httpx.Response) -> bytes:
    """The answer's body, read (and decoded) only up to TOKEN_ANSWER_CAP: a chunked answer declares no length."""
    declared = answer.headers.get("content-length", "")
    content = None if declared.isdigit() and int(declared) > TOKEN_ANSWER_CAP else await _read(answer)
    if content is None:
        raise TokenUnavailable(f"the token endpoint's answer is over {TOKEN_ANSWER_CAP} bytes")
    # httpx reads a response the auth flow answered with another request (`aread`) once the flow moves on; the
    # stream is consumed by now, so the body is handed over as aread would have kept it
    answer._content = content
    return content


async def _read(answer: httpx.Response) -> bytes | None:
    try:
        return await read_capped(answer, TOKEN_ANSWER_CAP)
    except zlib.error:  # a compressed answer cut short or garbled: no token in it
        return b""


def _json(content: bytes | None) -> dict[str, Any]:
    try:
        body = orjson.loads(content or b"")
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def oauth2_auth(spec_auth: OAuth2Auth, secrets: Mapping[str, Secret], settings: Mapping[str, Any],
                endpoint: TokenEndpoint | None = None, issued: list[Secret] | None = None) -> OAuth2Flow:
    return OAuth2Flow(oauth2_client(spec_auth, secrets, settings, endpoint), issued=issued)


__all__ = ["OAuth2Client", "OAuth2Flow", "TokenEndpoint", "TokenUnavailable", "oauth2_auth", "oauth2_client",
           "token_endpoint"]
