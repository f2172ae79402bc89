"""An in-memory emulator of the Emarsys v2 contact API, as a real Starlette ASGI app.

What it reproduces, and from where (the markers of API-FACTS.md):

* X-WSSE auth, verified exactly: the digest is recomputed as
  ``base64(hex(sha1(nonce + created + secret)))`` [sdk]; a ``Created`` more than five minutes
  old (or ahead) and a nonce seen before are refused [ours: the window is unpublished]. A refusal
  is HTTP 401 ``{"replyCode":1,"replyText":"Unauthorized","data":""}``; why it was refused is
  kept on the recorded request (``auth_error``), not told to the client.
* ``PUT /api/v2/contact/?create_if_not_exists=0|1`` with ``{"key_id":"3","contacts":[...]}``,
  fields keyed by numeric field id [doc]. The answer is ``{"replyCode":0,"replyText":"OK",
  "data":{"ids":[...],"errors":{"<key value>":{"<code>":"<message>"}}}}`` [doc]; with no
  errors, ``errors`` is ``[]`` (PHP's empty array, as a sibling endpoint's page shows [doc]).
* Per-contact errors, keyed by the key value as sent (see :data:`ERROR_CODES`): 2008 no contact
  found (``create_if_not_exists=0``) [doc]; 2005 no key value [doc]; 2010 the key value twice in
  one request [ours: Emarsys' 2010 means "more than one contact found"]; 2007 a non-scalar value
  [doc]; 2006 an unknown field id and 2013 a value the field refuses (an invalid email, text over
  255 characters, an unknown choice) [ours: codes unpublished].
* Whole-request refusals, HTTP 400 with ``replyCode != 0``: more than ``max_batch`` contacts
  (2002), no contacts array (2003), a key_id other than 3 (2004), invalid JSON; a body over
  ``max_body_bytes`` is HTTP 413 [doc limits: 10,000 contacts, 8 MB; codes partly ours].
* ``GET /api/v2/field`` lists the account's field ids (by default 1, 2, 3, 15, 31, 37) [doc].

Contacts are kept in ``app.state.emulator.contacts``, keyed by email exactly as sent [ours:
no case folding], each with its fields by numeric id. ``faults=`` injects seeded failures
(:mod:`destkit.destinations._faults`) into the contact upserts only; ``state.scripted`` is a
queue of HTTP statuses (e.g. ``[423, 503]``) the next contact requests answer with before any
work, for statuses a fault plan does not draw (423).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from .._faults import FaultInjector, FaultPlan, answer_with_faults, silence_injected_drops
from .._readback import (
    READBACK_PREFIX,
    Exchange,
    ORJSONResponse,
    RecorderMiddleware,
    exchange_of,
    readback_routes,
)

__all__ = [
    "CREATED_WINDOW",
    "DEFAULT_FIELDS",
    "ERROR_CODES",
    "FAULTABLE_PATHS",
    "Contact",
    "EmulatorState",
    "RecordedRequest",
    "create_app",
    "testing_profile",
    "verify_wsse",
]

JSONObject = dict[str, Any]

DEFAULT_FIELDS: dict[int, tuple[str, str]] = {
    1: ("First Name", "shorttext"),
    2: ("Last Name", "shorttext"),
    3: ("Email", "email"),
    15: ("Phone", "shorttext"),
    31: ("Opt-In", "singlechoice"),
    37: ("Mobile", "shorttext"),
}
"""Field id → (name, type) of the emulated account [doc: the standard field ids]."""

OPT_IN_CHOICES = {1, 2}
"""Field 31's choice ids: 1 = true, 2 = false [doc]."""

ERROR_CODES: dict[str, str] = {
    "2002": "too many contacts in one request (whole request)",
    "2003": "no contacts array (whole request)",
    "2004": "invalid key field id (whole request)",
    "2005": "no value for the key field",
    "2006": "unknown field id",
    "2007": "a non-scalar value",
    "2008": "no contact found with the key value (create_if_not_exists=0)",
    "2010": "the key value appears more than once in the request",
    "2013": "a value the field refuses (invalid email, too long, unknown choice)",
    "temporarily_unavailable": "an injected per-contact fault (faults=record=...)",
}
"""Every code the emulator answers with; see the module docstring for which are [doc] and [ours]."""

CREATED_WINDOW = timedelta(minutes=5)
"""How far a WSSE ``Created`` may be from the emulator's clock, either way [ours]."""

MAX_TEXT = 255
"""Longest value a text field takes [ours]."""

FAULTABLE_PATHS: tuple[str, ...] = ("/api/v2/contact",)
"""Faults (and scripted statuses) apply to the contact upserts only, never to the field list."""

_EMULATOR_PREFIX = READBACK_PREFIX
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_WSSE_PARAM = re.compile(r'\s*([A-Za-z]+)="([^"]*)"\s*')
_WSSE_KEYS = ("Username", "PasswordDigest", "Nonce", "Created")


# --------------------------------------------------------------------------- state


@dataclass
class Contact:
    """A stored contact: its internal id and its fields by numeric field id (``{3: email, 1: ...}``)."""

    id: int
    fields: dict[int, Any]

    def to_dict(self) -> JSONObject:
        return {"id": self.id, "fields": {str(k): v for k, v in self.fields.items()}}


@dataclass
class RecordedRequest:
    """One request as the emulator saw it.

    ``query`` is the raw query string; ``wsse`` the X-WSSE header as received (it holds a
    one-time digest, never the secret); ``auth_error`` why auth was refused (``None`` when it
    was not); ``contact_count`` the number of contacts in a parsed body; ``body`` is kept only
    with ``keep_bodies=True``; ``fault`` is the injected or scripted fault, if any.
    """

    method: str
    path: str
    query: str
    status: int
    body_bytes: int
    wsse: str | None = None
    auth_error: str | None = None
    contact_count: int | None = None
    body: bytes | None = None
    fault: str | None = None


@dataclass
class EmulatorState:
    """Everything the emulator stores, exposed so tests can read back what happened."""

    contacts: dict[str, Contact] = field(default_factory=dict)
    upsert_counts: dict[str, int] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(default_paths=FAULTABLE_PATHS))
    scripted: list[int] = field(default_factory=list)
    nonces: dict[str, datetime] = field(default_factory=dict)
    next_id: int = 1000

    def add_contact(self, email: str, **fields: Any) -> Contact:
        """Store a contact directly (test set-up); ``fields`` by id, e.g. ``add_contact(e, f1="Ann")``."""
        values: dict[int, Any] = {3: email}
        for name, value in fields.items():
            values[int(name.lstrip("f"))] = value
        contact = Contact(self._new_id(), values)
        self.contacts[email] = contact
        return contact

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id


# --------------------------------------------------------------------------- WSSE


def _parse_wsse(header: str) -> dict[str, str] | str:
    """The four UsernameToken parameters, or why the header is malformed."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme != "UsernameToken" or not rest:
        return "the X-WSSE header is not a UsernameToken"
    params: dict[str, str] = {}
    for part in rest.split(","):
        m = _WSSE_PARAM.fullmatch(part)
        if m is None:
            return f"malformed X-WSSE parameter {part.strip()!r}"
        if m.group(1) in params:
            return f"X-WSSE parameter {m.group(1)} given twice"
        params[m.group(1)] = m.group(2)
    missing = [k for k in _WSSE_KEYS if k not in params]
    if missing:
        return f"X-WSSE lacks {', '.join(missing)}"
    return params


def _parse_created(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def verify_wsse(
    header: str | None, *, username: str, secret: str, now: datetime, seen_nonces: Mapping[str, datetime]
) -> tuple[str | None, str | None]:
    """(None, nonce) when ``header`` is a valid, fresh X-WSSE token; else (why not, None).

    The nonce is returned for the caller to remember; this function does not mutate anything.
    """
    if not header:
        return "no X-WSSE header", None
    params = _parse_wsse(header)
    if isinstance(params, str):
        return params, None
    if not hmac.compare_digest(params["Username"].encode(), username.encode()):
        return "unknown username", None
    created = _parse_created(params["Created"])
    if created is None:
        return "Created is not an ISO 8601 time with a UTC offset", None
    if now - created > CREATED_WINDOW:
        return "Created is more than 5 minutes old", None
    if created - now > CREATED_WINDOW:
        return "Created is more than 5 minutes ahead", None
    nonce = params["Nonce"]
    if not nonce:
        return "empty nonce", None
    hex_digest = hashlib.sha1((nonce + params["Created"] + secret).encode("utf-8")).hexdigest()
    expected = base64.b64encode(hex_digest.encode("ascii")).decode("ascii")
    if not hmac.compare_digest(expected.encode(), params["PasswordDigest"].encode()):
        return "wrong PasswordDigest", None
    if nonce in seen_nonces:
        return "nonce already used", None
    return None, nonce


# --------------------------------------------------------------------------- contacts


def _contact_errors(contact: JSONObject, fields: Mapping[int, tuple[str, str]]) -> dict[str, str]:
    """Every reason one contact (key value present) is refused, as {code: message}."""
    errors: dict[str, str] = {}
    for raw_id, value in contact.items():
        if raw_id == "source_id":  # [doc] an optional per-contact source id
            continue
        if not str(raw_id).isdigit() or int(raw_id) not in fields:
            errors.setdefault("2006", f"Invalid field id: {raw_id}")
            continue
        field_id = int(raw_id)
        if value is None or value == "":
            continue
        if isinstance(value, dict | list):
            errors.setdefault("2007", f"Invalid data format for field ID: {field_id}. Scalar expected.")
            continue
        kind = fields[field_id][1]
        if kind == "singlechoice":
            choice = int(value) if isinstance(value, str) and value.isdigit() else value
            if isinstance(choice, bool) or choice not in OPT_IN_CHOICES:
                errors.setdefault("2013", f"Invalid choice id for field ID: {field_id}: {value}")
        elif isinstance(value, bool):
            errors.setdefault("2013", f"Invalid value for field ID: {field_id}: {value}")
        elif kind == "email" and not (isinstance(value, str) and _EMAIL.fullmatch(value)):
            errors.setdefault("2013", f"Invalid email address: {value}")
        elif len(str(value)) > MAX_TEXT:
            errors.setdefault(
                "2013", f"Value too long for field ID: {field_id} (at most {MAX_TEXT} characters)"
            )
    return errors


def _apply(state: EmulatorState, email: str, contact: JSONObject) -> Contact:
    """Create or update one validated contact; an empty value ("" or null) clears the field."""
    state.upsert_counts[email] = state.upsert_counts.get(email, 0) + 1
    stored = state.contacts.get(email)
    if stored is None:
        stored = Contact(state._new_id(), {3: email})
        state.contacts[email] = stored
    for raw_id, value in contact.items():
        if raw_id == "source_id":
            continue
        field_id = int(raw_id)
        if value is None or value == "":
            stored.fields.pop(field_id, None)
        elif field_id == 31:
            stored.fields[field_id] = int(value)
        else:
            stored.fields[field_id] = value
    return stored


# --------------------------------------------------------------------------- responses


_ORJSONResponse = ORJSONResponse


def _fault_answer(kind: str, plan: FaultPlan) -> Response:
    if kind == "429":  # [doc/sdk] leaky bucket, X-RateLimit-* headers
        return _reply(
            429,
            429,
            "Too Many Requests",
            headers={
                "Retry-After": plan.retry_after_header(),
                "X-RateLimit-Limit": "1000",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(max(1, round(plan.retry_after))),
            },
        )
    if kind == "timeout":
        return _reply(504, 504, "Gateway Timeout")
    status = 500 if kind == "500" else 503
    return _reply(status, status, HTTPStatus(status).phrase)


def _reply(
    status: int, reply_code: int, reply_text: str, data: Any = "", headers: Mapping[str, str] | None = None
) -> Response:
    """Emarsys' envelope, for every answer."""
    return _ORJSONResponse(
        {"replyCode": reply_code, "replyText": reply_text, "data": data}, status_code=status, headers=headers
    )


def _record(scope: Scope, status: int, exchange: Exchange) -> RecordedRequest:
    headers = scope["headers"]
    return RecordedRequest(
        method=scope["method"],
        path=scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"),
        status=status,
        body_bytes=exchange.body_bytes,
        wsse=next((v.decode("latin-1") for k, v in headers if k == b"x-wsse"), None),
        auth_error=exchange.auth_error,
        contact_count=exchange.contact_count,
        body=exchange.body,
        fault=exchange.fault,
    )


def _exchange(request: Request) -> Exchange:
    return exchange_of(request.scope)


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class _Config:
    username: str
    secret: str
    fields: dict[int, tuple[str, str]]
    max_batch: int
    max_body_bytes: int
    keep_bodies: bool
    clock: Callable[[], datetime]


_Handler = Callable[[Request], Awaitable[Response]]


def _build_routes(state: EmulatorState, config: _Config) -> list[Route]:

    def unauthorized(request: Request) -> Response | None:
        now = config.clock()
        for seen, received in list(state.nonces.items()):  # a replay this late fails the Created check anyway
            if now - received > 2 * CREATED_WINDOW:
                del state.nonces[seen]
        problem, nonce = verify_wsse(
            request.headers.get("x-wsse"),
            username=config.username,
            secret=config.secret,
            now=now,
            seen_nonces=state.nonces,
        )
        if problem is None:
            assert nonce is not None
            state.nonces[nonce] = now
            return None
        _exchange(request).auth_error = problem
        return _reply(401, 1, "Unauthorized")

    async def read_body(request: Request) -> bytes | None:
        """Drain the body; return it, or None when it is over ``max_body_bytes``."""
        exchange = _exchange(request)
        chunks: list[bytes] = []
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if config.keep_bodies or total <= config.max_body_bytes:
                chunks.append(chunk)
        exchange.body_bytes = total
        body = b"".join(chunks)
        if config.keep_bodies:
            exchange.body = body
        return None if total > config.max_body_bytes else body

    async def with_faults(request: Request, process: Callable[[bool], Response]) -> Response:
        """Scripted statuses first, then the seeded fault plan (drawn before any await), then the work."""
        if state.scripted:
            status = state.scripted.pop(0)
            _exchange(request).fault = f"scripted {status}"
            headers = {"Retry-After": "0"} if status == 429 else None
            return _reply(status, status, HTTPStatus(status).phrase, headers=headers)
        exchange = _exchange(request)
        return await answer_with_faults(
            state.faults,
            request.url.path,
            request.receive,
            lambda kind: setattr(exchange, "fault", kind),
            process,
            _fault_answer,
        )

    async def put_contacts(request: Request) -> Response:
        raw = await read_body(request)
        if (denied := unauthorized(request)) is not None:
            return denied
        if raw is None:
            return _reply(413, 1, f"Request body exceeds {config.max_body_bytes} bytes.")
        flag = request.query_params.get("create_if_not_exists", "0")
        if flag not in ("0", "1"):
            return _reply(400, 1, f"Invalid value for create_if_not_exists: {flag!r}; use 0 or 1.")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return _reply(400, 1, f"Invalid JSON: {exc}")
        if not isinstance(body, dict):
            return _reply(400, 2003, "Invalid data format. Object expected.")
        key_id = str(body.get("key_id", "3"))
        if key_id != "3":
            return _reply(
                400, 2004, f"Invalid key field id: {key_id} (the emulator matches on field 3, email)"
            )
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not contacts or not all(isinstance(c, dict) for c in contacts):
            return _reply(400, 2003, "Invalid data format. A non-empty array of contact objects expected.")
        _exchange(request).contact_count = len(contacts)
        if len(contacts) > config.max_batch:
            return _reply(
                400,
                2002,
                f"The list of contacts exceeds the maximum size of {config.max_batch}; got {len(contacts)}.",
            )
        return await with_faults(request, lambda record_faults: upsert(contacts, flag == "1", record_faults))

    def upsert(contacts: list[JSONObject], create: bool, record_faults: bool) -> Response:
        keys = [c.get("3") for c in contacts]
        counts: dict[str, int] = {}
        for k in keys:
            if isinstance(k, str):
                counts[k] = counts.get(k, 0) + 1
        errors: dict[str, dict[str, str]] = {}
        ids: list[int] = []
        for contact, key in zip(contacts, keys, strict=True):
            if key is None or key == "":
                errors.setdefault("", {})["2005"] = "No value provided for key field: 3"
                continue
            label = str(key)
            if counts.get(label, 0) > 1:
                errors[label] = {
                    "2010": f"More than one contact in the request with the external id: 3 - {label}"
                }
                continue
            problems = _contact_errors(contact, config.fields)
            if problems:
                errors[label] = problems
                continue
            if not create and label not in state.contacts:
                errors[label] = {"2008": f"No contact found with the external id: 3 - {label}"}
                continue
            if record_faults and state.faults.record_fails():
                errors[label] = {
                    "temporarily_unavailable": "The contact could not be processed right now; retry it."
                }
                continue
            ids.append(_apply(state, label, contact).id)
        return _reply(200, 0, "OK", {"ids": ids, "errors": errors or []})

    async def get_fields(request: Request) -> Response:
        await read_body(request)
        if (denied := unauthorized(request)) is not None:
            return denied
        data = [
            {"id": fid, "name": name, "application_type": kind, "string_id": name.lower().replace(" ", "_")}
            for fid, (name, kind) in sorted(config.fields.items())
        ]
        return _reply(200, 0, "OK", data)

    routes: list[tuple[str, _Handler, str]] = [
        ("/api/v2/contact/", put_contacts, "PUT"),
        ("/api/v2/contact", put_contacts, "PUT"),
        ("/api/v2/field", get_fields, "GET"),
        ("/api/v2/field/", get_fields, "GET"),
    ]
    return [Route(path, endpoint, methods=[method]) for path, endpoint, method in routes] + readback_routes(state)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return _reply(status, 1, f"{request.method} {request.url.path}: {HTTPStatus(status).phrase}.")


def _field_table(fields: Mapping[int, str] | Iterable[int] | None) -> dict[int, tuple[str, str]]:
    if fields is None:
        return dict(DEFAULT_FIELDS)
    if isinstance(fields, Mapping):
        return {
            int(fid): (name, DEFAULT_FIELDS.get(int(fid), (name, "shorttext"))[1])
            for fid, name in fields.items()
        }
    return {int(fid): DEFAULT_FIELDS.get(int(fid), (f"Field {fid}", "shorttext")) for fid in fields}


def create_app(
    *,
    username: str = "test-user",
    secret: str = "test-secret",
    fields: Mapping[int, str] | Iterable[int] | None = None,
    max_batch: int = 10000,
    max_body_bytes: int = 8_000_000,
    faults: FaultPlan | str | None = None,
    keep_bodies: bool = False,
    state: EmulatorState | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """Build the emulator; its state is ``app.state.emulator``.

    ``username``/``secret`` are the API user the WSSE check accepts. ``fields`` replaces the
    account's field ids (ids, or id → name). ``max_batch`` (10,000) and ``max_body_bytes``
    (8,000,000) are the documented limits. ``faults`` (a plan or its ``"429=0.1,seed=7"`` text)
    applies to the contact upserts only; a given ``state`` keeps its contacts and nonces but gets
    this app's fault injector. ``clock`` (an aware datetime) is what ``Created`` is checked against.
    """
    emulator_state = state if state is not None else EmulatorState()
    if isinstance(faults, str):
        faults = FaultPlan.parse(faults)
    emulator_state.faults = FaultInjector(faults, default_paths=FAULTABLE_PATHS)
    if faults is not None and faults.rate_drop > 0:
        silence_injected_drops()
    config = _Config(
        username=username,
        secret=secret,
        fields=_field_table(fields),
        max_batch=max_batch,
        max_body_bytes=max_body_bytes,
        keep_bodies=keep_bodies,
        clock=clock or (lambda: datetime.now(UTC)),
    )
    app = Starlette(
        routes=_build_routes(emulator_state, config),
        middleware=[Middleware(RecorderMiddleware, requests=emulator_state.requests, make_record=_record)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.emulator = emulator_state
    return app


_PROFILE_USER = "test-user"
_PROFILE_SECRET = "test-secret"


def testing_profile(action: str) -> dict[str, Any]:
    """What a generic test tool needs to drive this emulator for ``action``.

    ``app_options`` go to :func:`create_app`; ``settings`` and ``secrets`` (literal values the
    app accepts) go into the sync config.
    """
    if action != "upsert_contacts":
        raise KeyError(f"the Emarsys emulator serves the action upsert_contacts, not {action!r}")
    return {
        "app_options": {"username": _PROFILE_USER, "secret": _PROFILE_SECRET},
        "settings": {"create_if_not_exists": True},
        "secrets": {"username": _PROFILE_USER, "secret": _PROFILE_SECRET},
    }


testing_profile.__test__ = False  # type: ignore[attr-defined]  # its name starts with "test": not a pytest test
