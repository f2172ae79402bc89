"""A Standard Webhooks receiver, as a real Starlette ASGI app: the emulator of the generic webhook.

It is what a careful user's endpoint does (standardwebhooks.com, "Verifying webhooks"):

* verify ``webhook-signature`` over ``"<webhook-id>.<webhook-timestamp>.<raw body>"`` with
  HMAC-SHA256 and the shared secret (base64, padded or not, after an optional ``whsec_``, as the
  reference library ``standardwebhooks`` reads it; the header may carry several
  space-separated signatures, any ``v1`` one may match; compared in constant time), and refuse a
  ``webhook-timestamp`` more than ``tolerance_s`` away from now -- every failure is a 401;
* dedupe on ``webhook-id``: a message seen before is acknowledged (2xx, so the sender stops
  retrying) but not applied again, and counted in ``state.duplicates``;
* accept any path and POST, PUT or PATCH, since the URL and method are the user's choice;
* or, with ``signature="github"``, ``"shopify"`` or ``"stripe"``, check the body's HMAC the way a
  receiver written for that service does (:func:`verify_convention`), the secret used as text.

The verification is written here from the specification, not borrowed from the runtime's
signer, so a test that passes proves the two agree rather than that one function equals itself.
A body ``{"events": [...]}`` is a batch; any other JSON object is one event.

Tests read back ``app.state.emulator`` (:class:`WebhookState`). ``faults=`` injects seeded
429/500/503/timeout/drop faults and latency, as the Hello Charles emulator does (see
``destinations/_kit/``); a fault is drawn when a request arrives, before its signature is
checked, the way a load balancer in front of the receiver would fail. :func:`testing_profile`
gives generic test tools a config that works against this app.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from destkit.destinations._kit import (
    READBACK_PREFIX,
    Exchange,
    FaultInjector,
    FaultPlan,
    ORJSONResponse,
    RecorderMiddleware,
    answer_drawn,
    injector_for,
    not_a_test,
    request_exchange,
)
from destkit.runtime.errors import EmulatorError
from destkit.runtime.spec.testing_profile import TestingProfile

__all__ = [
    "CONVENTION_HEADERS",
    "DEFAULT_SECRET",
    "FAULTABLE_PATHS",
    "METHODS",
    "SIGNATURES",
    "URL_PLACEHOLDER",
    "Delivery",
    "ReceivedRequest",
    "ReceiverOptions",
    "VerificationError",
    "WebhookState",
    "create_app",
    "secret_bytes",
    "testing_profile",
    "verify",
    "verify_convention",
]

DEFAULT_SECRET = "whsec_" + base64.b64encode(b"destkit-webhook-emulator-secret!").decode()
"""The emulator's default signing secret (32 bytes, base64 after the ``whsec_`` prefix)."""

URL_PLACEHOLDER = "http://emulator.invalid"
"""The origin :func:`testing_profile` puts in ``settings.url``; a tool replaces it with the served URL.

``.invalid`` never resolves (RFC 2606), so a profile used without the replacement is refused by
the runtime's URL check instead of sending anywhere.
"""

METHODS: tuple[str, ...] = ("POST", "PUT", "PATCH")
FAULTABLE_PATHS: tuple[str, ...] = ("/",)
"""Every webhook path is faultable by default; the ``/_emulator/`` read-back routes never are."""

_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class VerificationError(EmulatorError):
    """Why a request's Standard Webhooks headers do not verify; ``code`` goes in the 401 body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: base64, padded or not, after an optional ``whsec_``.

    That is how the reference library (``standardwebhooks.Webhook``) reads a secret; unlike it, a
    character outside the base64 alphabet is refused here rather than dropped.
    """
    encoded = secret.removeprefix("whsec_").rstrip("=")
    if not encoded:
        raise ValueError("the secret is empty")
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the secret (after an optional 'whsec_') is not base64: {exc}") from None


def _required_headers(headers: Any) -> tuple[str, str, str]:
    """(webhook-id, webhook-timestamp, webhook-signature); all three must be there and non-empty."""
    values = [headers.get(name) for name in _HEADERS]
    missing = [name for name, value in zip(_HEADERS, values, strict=True) if not value]
    if missing:
        raise VerificationError("missing_headers", f"Missing required header(s): {', '.join(missing)}.")
    msg_id, stamp, signatures = (str(value) for value in values)
    return msg_id, stamp, signatures


def _timestamp_within(stamp: str, tolerance_s: float, now: float | None) -> int:
    """The timestamp as integer seconds, refused when it is not one or is outside ``tolerance_s`` of now."""
    if not stamp.isascii() or not stamp.isdigit():
        raise VerificationError("invalid_timestamp", f"webhook-timestamp {stamp!r} is not integer seconds.")
    timestamp = int(stamp)
    current = time.time() if now is None else now
    if timestamp < current - tolerance_s:
        raise VerificationError(
            "timestamp_too_old", f"webhook-timestamp {timestamp} is more than {tolerance_s:g}s old."
        )
    if timestamp > current + tolerance_s:
        raise VerificationError(
            "timestamp_too_new", f"webhook-timestamp {timestamp} is more than {tolerance_s:g}s ahead."
        )
    return timestamp


def _v1_signatures(signatures: str) -> list[bytes]:
    """The decoded ``v1,<base64>`` entries of a space-separated ``webhook-signature`` header."""
    found = []
    for entry in signatures.split(" "):
        version, sep, value = entry.partition(",")
        if not sep or version != "v1":
            continue  # other schemes (v1a: asymmetric) or junk: not ours to check
        try:
            found.append(base64.b64decode(value, validate=True))
        except binascii.Error:
            continue
    return found


def _any_matches(expected: bytes, candidates: list[bytes]) -> bool:
    matched = False
    for candidate in candidates:
        # keep comparing after a match, so timing does not tell which entry matched
        matched = hmac.compare_digest(expected, candidate) or matched
    return matched


def verify(
    key: bytes, headers: Any, body: bytes, *, tolerance_s: float, now: float | None = None
) -> tuple[str, int]:
    """Check a request's ``webhook-*`` headers against ``body``; return (webhook-id, timestamp).

    ``headers`` is any case-insensitive mapping (Starlette's, httpx's). Raises
    :class:`VerificationError` for a missing header, a timestamp that is not an integer or is
    outside ``tolerance_s`` (past or future), or no ``v1`` signature that matches.
    """
    msg_id, stamp, signatures = _required_headers(headers)
    timestamp = _timestamp_within(stamp, tolerance_s, now)
    expected = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    if not _any_matches(expected, _v1_signatures(signatures)):
        raise VerificationError("invalid_signature", "No v1 signature in webhook-signature matches the body.")
    return msg_id, timestamp


# --------------------------------------------------------------------------- other receivers' conventions

SIGNATURES: tuple[str, ...] = ("standard_webhooks", "github", "shopify", "stripe")
"""The conventions the receiver can check: Standard Webhooks, or a receiver written for GitHub, Shopify or Stripe."""

CONVENTION_HEADERS = {"github": "X-Hub-Signature-256", "shopify": "X-Shopify-Hmac-Sha256", "stripe": "Stripe-Signature"}


def _body_mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _header(headers: Any, name: str) -> str:
    value = headers.get(name)
    if not value:
        raise VerificationError("missing_headers", f"Missing required header(s): {name}.")
    return str(value)


def _stripe_parts(value: str) -> tuple[str, list[str]]:
    """``t=<seconds>,v1=<hex>[,v1=<hex>...]``: the timestamp and every v1 signature."""
    pairs = [item.partition("=") for item in value.split(",")]
    stamps = [v for k, _, v in pairs if k == "t"]
    if len(stamps) != 1:
        raise VerificationError("invalid_timestamp", "Stripe-Signature must carry exactly one t=<seconds>.")
    return stamps[0], [v for k, _, v in pairs if k == "v1"]


def verify_convention(
    signature: str, key: bytes, headers: Any, body: bytes, *, tolerance_s: float, now: float | None = None
) -> tuple[str, int]:
    """Check the signature as a GitHub, Shopify or Stripe receiver does; return (message id, timestamp).

    GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``; Shopify:
    ``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>``; Stripe: ``Stripe-Signature:
    t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with ``t`` within ``tolerance_s``. The key is
    the secret's text. The message id is ``webhook-id`` (or the body's hash), the dedupe key.
    """
    value = _header(headers, CONVENTION_HEADERS[signature])
    current = int(time.time() if now is None else now)
    if signature == "github":
        matched = hmac.compare_digest(value.encode(), b"sha256=" + _body_mac(key, body).hex().encode())
    elif signature == "shopify":
        matched = hmac.compare_digest(value.encode(), base64.b64encode(_body_mac(key, body)))
    else:
        stamp, candidates = _stripe_parts(value)
        current = _timestamp_within(stamp, tolerance_s, now)
        expected = _body_mac(key, f"{current}.".encode() + body).hex().encode()
        matched = _any_matches(expected, [c.encode() for c in candidates])
    if not matched:
        raise VerificationError("invalid_signature", f"The {CONVENTION_HEADERS[signature]} header does not match the body.")
    return str(headers.get("webhook-id") or "sha256:" + hashlib.sha256(body).hexdigest()), current


# --------------------------------------------------------------------------- state


@dataclass
class Delivery:
    """One message applied: its webhook-id, timestamp and how many events it held."""

    id: str
    timestamp: int
    count: int
    method: str
    path: str


@dataclass
class ReceivedRequest:
    """Every request to the receiver but the ``/_emulator/`` read-backs, as received, accepted or not.

    ``outcome`` is ``stored``, ``duplicate``, ``unauthorized``, ``invalid_json``, the injected
    fault (``429``, ``500``, ``503``, ``timeout``; a ``drop`` keeps the outcome of the work it
    cut short), ``method_not_allowed``, or ``error`` for an unexpected failure. ``signature`` and
    ``body`` (the raw bytes) are kept only with ``keep_bodies=True``.
    """

    method: str
    path: str
    status: int
    outcome: str
    webhook_id: str | None
    timestamp: str | None
    signature: str | None = None
    body: bytes | None = None
    fault: str | None = None


@dataclass
class WebhookState:
    """What the receiver stored: events in arrival order, one delivery per distinct webhook-id."""

    events: list[Any] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    seen: dict[str, Delivery] = field(default_factory=dict)
    duplicates: int = 0
    requests: list[ReceivedRequest] = field(default_factory=list)
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(default_paths=FAULTABLE_PATHS))

    def delivery(self, webhook_id: str) -> Delivery | None:
        return self.seen.get(webhook_id)


@dataclass(frozen=True)
class ReceiverOptions:
    """How one app checks requests (``app.state.options``): the key, the timestamp tolerance and the convention."""

    key: bytes
    tolerance_s: float
    keep_bodies: bool
    signature: str = "standard_webhooks"


def _store(request: Request) -> WebhookState:
    state: WebhookState = request.app.state.emulator
    return state


def _options(request: Request) -> ReceiverOptions:
    options: ReceiverOptions = request.app.state.options
    return options


# --------------------------------------------------------------------------- app


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return ORJSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def _events_of(body: Any) -> list[Any] | None:
    """The events a body carries: ``{"events": [...]}`` is a batch, another object is one event."""
    if isinstance(body, dict):
        events = body.get("events")
        if set(body) == {"events"} and isinstance(events, list):
            return events
        return [body]
    return None


def _signature_header(headers: Headers) -> str | None:
    """The signature as received, whichever convention's header carries it."""
    for name in ("webhook-signature", *CONVENTION_HEADERS.values()):
        if name in headers:
            return headers[name]
    return None


def _record(scope: Scope, status: int, exchange: Exchange, *, keep_bodies: bool) -> ReceivedRequest:
    headers = Headers(scope=scope)
    return ReceivedRequest(
        method=scope["method"],
        path=scope["path"],
        status=status,
        outcome=exchange.outcome or exchange.fault or "error",
        webhook_id=headers.get("webhook-id"),
        timestamp=headers.get("webhook-timestamp"),
        signature=_signature_header(headers) if keep_bodies else None,
        body=exchange.body,
        fault=exchange.fault,
    )


def _fault_answer(kind: str, plan: FaultPlan) -> Response:
    """An injected 429/500/503, or the 504 of a timeout, as a load balancer would answer."""
    if kind == "timeout":
        return _error(504, "timeout", "The request timed out before it was processed.")
    status = int(kind)
    headers = {"Retry-After": plan.retry_after_header()} if status == 429 else None
    return _error(status, "injected_fault", f"{HTTPStatus(status).phrase}; please retry.", headers)


def _apply(request: Request, raw: bytes) -> tuple[Response, str]:
    """Verify, dedupe and store one message; the answer and the outcome to record."""
    state, options = _store(request), _options(request)
    try:
        if options.signature == "standard_webhooks":
            msg_id, timestamp = verify(options.key, request.headers, raw, tolerance_s=options.tolerance_s)
        else:
            msg_id, timestamp = verify_convention(options.signature, options.key, request.headers, raw,
                                                  tolerance_s=options.tolerance_s)
    except VerificationError as exc:
        return _error(401, exc.code, exc.message), "unauthorized"
    seen = state.seen.get(msg_id)
    if seen is not None:
        state.duplicates += 1
        return ORJSONResponse({"status": "duplicate", "webhook_id": msg_id, "events": seen.count}), "duplicate"
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _error(400, "invalid_json", f"The body is not JSON: {exc}."), "invalid_json"
    events = _events_of(body)
    if events is None:
        return _error(400, "invalid_payload", "The body must be a JSON object."), "invalid_json"
    delivery = Delivery(msg_id, timestamp, len(events), request.method, request.url.path)
    state.seen[msg_id] = delivery
    state.deliveries.append(delivery)
    state.events.extend(events)
    return ORJSONResponse({"status": "accepted", "webhook_id": msg_id, "events": len(events)}), "stored"


async def receive(request: Request) -> Response:
    """Any path, POST/PUT/PATCH: verify the message, store its events once per webhook-id."""
    state, exchange = _store(request), request_exchange(request)
    # drawn before the first await, so the fault sequence follows arrival order (see _kit.faults)
    draw = state.faults.draw(request.url.path)
    raw = await request.body()
    exchange.body_bytes = len(raw)
    if _options(request).keep_bodies:
        exchange.body = raw

    def process(_faultable: bool) -> Response:
        response, exchange.outcome = _apply(request, raw)
        return response

    if draw is None:
        return process(False)
    exchange.fault = draw.kind
    return await answer_drawn(draw, state.faults.plan, request.receive, process, _fault_answer)


async def stats(request: Request) -> Response:
    """``GET /_emulator/stats``: counts of what the receiver stored and injected."""
    state = _store(request)
    return ORJSONResponse(
        {
            "events": len(state.events),
            "deliveries": len(state.deliveries),
            "duplicates": state.duplicates,
            "requests": len(state.requests),
            "faults": state.faults.snapshot(),
        }
    )


async def events(request: Request) -> Response:
    """``GET /_emulator/events``: the stored events and deliveries."""
    state = _store(request)
    return ORJSONResponse({"events": state.events, "deliveries": [vars(d) for d in state.deliveries]})


async def _not_allowed(request: Request, exc: Exception) -> Response:
    request_exchange(request).outcome = "method_not_allowed"
    return _error(
        405,
        "method_not_allowed",
        f"{request.method} is not accepted; use POST, PUT or PATCH.",
        {"Allow": ", ".join(METHODS)},
    )


def create_app(
    *,
    secret: str = DEFAULT_SECRET,
    tolerance_s: float = 300,
    faults: FaultPlan | str | None = None,
    keep_bodies: bool = False,
    state: WebhookState | None = None,
    signature: str = "standard_webhooks",
) -> Starlette:
    """Build the receiver; its state is ``app.state.emulator``, its options ``app.state.options``.

    ``secret`` is the secret requests must be signed with, checked the way ``signature`` says (one of
    :data:`SIGNATURES`: a Standard Webhooks secret is base64, the others' is text). ``tolerance_s``
    is how far ``webhook-timestamp`` may be from the receiver's clock. Pass an existing
    ``state`` to keep events and seen ids across app instances (a restart: a replay of an id
    seen before the restart is still a duplicate). ``faults`` (a plan or its ``parse`` text)
    applies to every webhook path unless the plan names ``paths``; a given ``state`` gets a
    fresh injector for this app's plan.
    """
    if signature not in SIGNATURES:
        raise ValueError(f"signature must be one of {', '.join(SIGNATURES)}, not {signature!r}")
    key = secret_bytes(secret) if signature == "standard_webhooks" else secret.encode()
    options = ReceiverOptions(key=key, tolerance_s=tolerance_s, keep_bodies=keep_bodies, signature=signature)
    st = state if state is not None else WebhookState()
    st.faults = injector_for(faults, default_paths=FAULTABLE_PATHS)
    record = functools.partial(_record, keep_bodies=keep_bodies)
    app = Starlette(
        routes=[
            Route(READBACK_PREFIX + "stats", stats, methods=["GET"]),
            Route(READBACK_PREFIX + "events", events, methods=["GET"]),
            Route("/{path:path}", receive, methods=list(METHODS)),
        ],
        middleware=[Middleware(RecorderMiddleware, requests=st.requests, make_record=record)],
        exception_handlers={405: _not_allowed},
    )
    app.state.emulator = st
    app.state.options = options
    return app


@not_a_test
def testing_profile(action: str) -> TestingProfile | None:
    """A config that works against ``create_app(**profile["app_options"])``, for generic test tools.

    ``settings.url`` starts with :data:`URL_PLACEHOLDER`: replace that origin with the served
    URL (``url.replace(URL_PLACEHOLDER, served, 1)``, keeping the path) and build with
    ``allow_http=True``; or pass the served URL as ``base_url=`` (the path is then the
    tool's). ``secrets`` holds the literal secret the app checks (literals are accepted in
    configs given as dicts, never in files).
    """
    if action != "send":
        raise ValueError(f"the webhook destination has no action {action!r}; it has: send")
    return {
        "app_options": {"secret": DEFAULT_SECRET},
        "settings": {"url": URL_PLACEHOLDER + "/hooks/destkit", "method": "POST", "mode": "batch"},
        "secrets": {"signing_secret": DEFAULT_SECRET},
    }
