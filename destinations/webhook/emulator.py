"""A Standard Webhooks receiver, as a real Starlette ASGI app: the emulator of the generic webhook.

It is what a careful user's endpoint does (standardwebhooks.com, "Verifying webhooks"):

* verify ``webhook-signature`` over ``"<webhook-id>.<webhook-timestamp>.<raw body>"`` with
  HMAC-SHA256 and the shared secret (``whsec_<base64>``; the header may carry several
  space-separated signatures, any ``v1`` one may match; compared in constant time), and refuse a
  ``webhook-timestamp`` more than ``tolerance_s`` away from now -- every failure is a 401;
* dedupe on ``webhook-id``: a message seen before is acknowledged (2xx, so the sender stops
  retrying) but not applied again, and counted in ``state.duplicates``;
* accept any path and POST, PUT or PATCH, since the URL and method are the user's choice.

The verification is written here from the specification, not borrowed from the runtime's
signer, so a test that passes proves the two agree rather than that one function equals itself.
A body ``{"events": [...]}`` is a batch; any other JSON object is one event.

Tests read back ``app.state.emulator`` (:class:`WebhookState`). ``faults=`` injects seeded
429/500/503/timeout/drop faults and latency, as the Hello Charles emulator does (see
``destinations/_faults.py``); a fault is drawn when a request arrives, before its signature is
checked, the way a load balancer in front of the receiver would fail. :func:`testing_profile`
gives generic test tools a config that works against this app.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.runtime.errors import EmulatorError

from .._faults import DroppedResponse, FaultInjector, FaultPlan, silence_injected_drops, wait_or_disconnect

__all__ = [
    "DEFAULT_SECRET",
    "FAULTABLE_PATHS",
    "METHODS",
    "URL_PLACEHOLDER",
    "Delivery",
    "ReceivedRequest",
    "WebhookState",
    "create_app",
    "secret_bytes",
    "testing_profile",
    "verify",
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

_EMULATOR_PREFIX = "/_emulator/"


class VerificationError(EmulatorError):
    """Why a request's Standard Webhooks headers do not verify; ``code`` goes in the 401 body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: base64 after ``whsec_``, else the text itself."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except binascii.Error as exc:
            raise ValueError(f"the part of the secret after 'whsec_' is not base64: {exc}") from None
    return secret.encode()


def verify(
    key: bytes, headers: Any, body: bytes, *, tolerance_s: float, now: float | None = None
) -> tuple[str, int]:
    """Check a request's ``webhook-*`` headers against ``body``; return (webhook-id, timestamp).

    ``headers`` is any case-insensitive mapping (Starlette's, httpx's). Raises
    :class:`VerificationError` for a missing header, a timestamp that is not an integer or is
    outside ``tolerance_s`` (past or future), or no ``v1`` signature that matches.
    """
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    missing = [
        name
        for name, value in (
            ("webhook-id", msg_id),
            ("webhook-timestamp", stamp),
            ("webhook-signature", signatures),
        )
        if not value
    ]
    if missing:
        raise VerificationError("missing_headers", f"Missing required header(s): {', '.join(missing)}.")
    assert msg_id is not None and stamp is not None and signatures is not None
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
    expected = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    matched = False
    for entry in signatures.split(" "):
        version, sep, value = entry.partition(",")
        if not sep or version != "v1":
            continue  # other schemes (v1a: asymmetric) or junk: not ours to check
        try:
            candidate = base64.b64decode(value, validate=True)
        except binascii.Error:
            continue
        # keep comparing after a match, so timing does not tell which entry matched
        matched = hmac.compare_digest(expected, candidate) or matched
    if not matched:
        raise VerificationError("invalid_signature", "No v1 signature in webhook-signature matches the body.")
    return msg_id, timestamp


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
    """Every request to a webhook path, as received, accepted or not.

    ``outcome`` is ``stored``, ``duplicate``, ``unauthorized``, ``invalid_json`` or the
    injected fault (``429``, ``500``, ``503``, ``timeout``, ``drop``). ``signature`` and
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


# --------------------------------------------------------------------------- app


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"code": code, "message": message}, headers)


def _events_of(body: Any) -> list[Any] | None:
    """The events a body carries: ``{"events": [...]}`` is a batch, another object is one event."""
    if isinstance(body, dict):
        events = body.get("events")
        if set(body) == {"events"} and isinstance(events, list):
            return events
        return [body]
    return None


def create_app(
    *,
    secret: str = DEFAULT_SECRET,
    tolerance_s: float = 300,
    faults: FaultPlan | str | None = None,
    keep_bodies: bool = False,
    state: WebhookState | None = None,
) -> Starlette:
    """Build the receiver; its state is ``app.state.emulator``.

    ``secret`` is the Standard Webhooks secret requests must be signed with. ``tolerance_s``
    is how far ``webhook-timestamp`` may be from the receiver's clock. Pass an existing
    ``state`` to keep events and seen ids across app instances (a restart: a replay of an id
    seen before the restart is still a duplicate). ``faults`` (a plan or its ``parse`` text)
    applies to every webhook path unless the plan names ``paths``; a given ``state`` gets a
    fresh injector for this app's plan.
    """
    key = secret_bytes(secret)
    st = state if state is not None else WebhookState()
    if isinstance(faults, str):
        faults = FaultPlan.parse(faults)
    st.faults = FaultInjector(faults, default_paths=FAULTABLE_PATHS)
    if faults is not None and faults.rate_drop > 0:
        silence_injected_drops()

    def record(
        request: Request, status: int, outcome: str, raw: bytes | None, fault: str | None = None
    ) -> None:
        st.requests.append(
            ReceivedRequest(
                method=request.method,
                path=request.url.path,
                status=status,
                outcome=outcome,
                webhook_id=request.headers.get("webhook-id"),
                timestamp=request.headers.get("webhook-timestamp"),
                signature=request.headers.get("webhook-signature") if keep_bodies else None,
                body=raw if keep_bodies else None,
                fault=fault,
            )
        )

    def process(request: Request, raw: bytes) -> tuple[Response, str]:
        try:
            msg_id, timestamp = verify(key, request.headers, raw, tolerance_s=tolerance_s)
        except VerificationError as exc:
            return _error(401, exc.code, exc.message), "unauthorized"
        seen = st.seen.get(msg_id)
        if seen is not None:
            st.duplicates += 1
            return _json(
                200, {"status": "duplicate", "webhook_id": msg_id, "events": seen.count}
            ), "duplicate"
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return _error(400, "invalid_json", f"The body is not JSON: {exc}."), "invalid_json"
        events = _events_of(body)
        if events is None:
            return _error(400, "invalid_payload", "The body must be a JSON object."), "invalid_json"
        delivery = Delivery(msg_id, timestamp, len(events), request.method, request.url.path)
        st.seen[msg_id] = delivery
        st.deliveries.append(delivery)
        st.events.extend(events)
        return _json(200, {"status": "accepted", "webhook_id": msg_id, "events": len(events)}), "stored"

    async def receive(request: Request) -> Response:
        injector = st.faults
        faultable = injector.applies_to(request.url.path)
        # drawn before the first await, so the fault sequence follows arrival order (see _faults)
        delay = injector.latency_s() if faultable else 0.0
        kind = injector.decide() if faultable else None
        raw = await request.body()
        if delay > 0:
            await asyncio.sleep(delay)
        plan = injector.plan
        if kind is not None and kind in ("429", "500", "503"):
            status = int(kind)
            headers = {"Retry-After": plan.retry_after_header()} if status == 429 else None
            record(request, status, kind, raw, kind)
            return _error(status, "injected_fault", f"{HTTPStatus(status).phrase}; please retry.", headers)
        if kind == "timeout":
            await wait_or_disconnect(request.receive, plan.timeout_s)
            record(request, 504, kind, raw, kind)
            return _error(504, "timeout", "The request timed out before it was processed.")
        response, outcome = process(request, raw)
        if kind == "drop":  # applied, then the connection dies before the answer is complete
            record(request, response.status_code, outcome, raw, kind)
            return DroppedResponse(response)
        record(request, response.status_code, outcome, raw)
        return response

    async def stats(request: Request) -> Response:
        return JSONResponse(
            {
                "events": len(st.events),
                "deliveries": len(st.deliveries),
                "duplicates": st.duplicates,
                "requests": len(st.requests),
                "faults": st.faults.snapshot(),
            }
        )

    async def events(request: Request) -> Response:
        return _json(200, {"events": st.events, "deliveries": [vars(d) for d in st.deliveries]})

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(
            405,
            "method_not_allowed",
            f"{request.method} is not accepted; use POST, PUT or PATCH.",
            {"Allow": ", ".join(METHODS)},
        )

    app = Starlette(
        routes=[
            Route(_EMULATOR_PREFIX + "stats", stats, methods=["GET"]),
            Route(_EMULATOR_PREFIX + "events", events, methods=["GET"]),
            Route("/{path:path}", receive, methods=list(METHODS)),
        ],
        exception_handlers={405: not_allowed},
    )
    app.state.emulator = st
    return app


def testing_profile(action: str) -> dict[str, Any]:
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


# The contract's name starts with "test": keep pytest from collecting it where a test module imports it.
testing_profile.__test__ = False  # type: ignore[attr-defined]
