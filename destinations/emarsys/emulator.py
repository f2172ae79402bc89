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
(:mod:`destkit.destinations._kit`) into the contact upserts only; ``state.scripted`` is a
queue of HTTP statuses (e.g. ``[423, 503]``) the next contact requests answer with before any
work, for statuses a fault plan does not draw (423).

The route handlers are module-level functions reading the store from ``request.app.state.emulator``
and the account's configuration from ``request.app.state.options``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from destkit.destinations._kit import (
    BodyLimits,
    Exchange,
    FaultInjector,
    FaultPlan,
    ORJSONResponse,
    RecorderMiddleware,
    answer_faulted,
    http_error_status,
    injector_for,
    not_a_test,
    read_body,
    readback_routes,
    request_exchange,
)
from destkit.runtime.spec.testing_profile import TestingProfile

from .wsse_verify import CREATED_WINDOW, verify_wsse

__all__ = [
    "CREATED_WINDOW",
    "DEFAULT_FIELDS",
    "ERROR_CODES",
    "FAULTABLE_PATHS",
    "Contact",
    "EmulatorOptions",
    "EmulatorState",
    "RecordedRequest",
    "create_app",
    "testing_profile",
    "verify_wsse",
]

JSONObject = dict[str, Any]
FieldTable = dict[int, tuple[str, str]]

DEFAULT_FIELDS: FieldTable = {
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

MAX_TEXT = 255
"""Longest value a text field takes [ours]."""

FAULTABLE_PATHS: tuple[str, ...] = ("/api/v2/contact",)
"""Faults (and scripted statuses) apply to the contact upserts only, never to the field list."""

KEY_FIELD = 3
"""The field contacts are matched on: email [doc: key_id 3]."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


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
        values: dict[int, Any] = {KEY_FIELD: email}
        for name, value in fields.items():
            values[int(name.lstrip("f"))] = value
        contact = Contact(self.new_id(), values)
        self.contacts[email] = contact
        return contact

    def new_id(self) -> int:
        """The next internal contact id."""
        self.next_id += 1
        return self.next_id

    def forget_old_nonces(self, now: datetime) -> None:
        """Drop nonces received so long ago that a replay of them fails the Created check anyway."""
        for seen, received in list(self.nonces.items()):
            if now - received > 2 * CREATED_WINDOW:
                del self.nonces[seen]


@dataclass(frozen=True)
class EmulatorOptions:
    """How one app checks requests (``app.state.options``): the API user, the account's fields, limits, clock."""

    username: str
    secret: str
    fields: FieldTable
    max_batch: int
    body: BodyLimits
    clock: Callable[[], datetime]


def _store(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _options(request: Request) -> EmulatorOptions:
    options: EmulatorOptions = request.app.state.options
    return options


# --------------------------------------------------------------------------- WSSE


def _wsse_refusal(request: Request) -> Response | None:
    """The 401 for a request whose X-WSSE does not verify (why goes on the record only); ``None`` when it does."""
    options, state = _options(request), _store(request)
    now = options.clock()
    state.forget_old_nonces(now)
    problem, nonce = verify_wsse(
        request.headers.get("x-wsse"),
        username=options.username,
        secret=options.secret,
        now=now,
        seen_nonces=state.nonces,
    )
    if problem is None and nonce is not None:
        state.nonces[nonce] = now  # a replay of this token is refused
        return None
    request_exchange(request).auth_error = problem
    return _reply(401, 1, "Unauthorized")


# --------------------------------------------------------------------------- contacts


def _value_problem(field_id: int, kind: str, value: Any) -> tuple[str, str] | None:
    """(code, message) when the field ``field_id`` of type ``kind`` refuses a non-empty ``value``."""
    if isinstance(value, dict | list):
        return "2007", f"Invalid data format for field ID: {field_id}. Scalar expected."
    if kind == "singlechoice":
        choice = int(value) if isinstance(value, str) and value.isdigit() else value
        if isinstance(choice, bool) or choice not in OPT_IN_CHOICES:
            return "2013", f"Invalid choice id for field ID: {field_id}: {value}"
        return None
    if isinstance(value, bool):
        return "2013", f"Invalid value for field ID: {field_id}: {value}"
    if kind == "email" and not (isinstance(value, str) and _EMAIL.fullmatch(value)):
        return "2013", f"Invalid email address: {value}"
    if len(str(value)) > MAX_TEXT:
        return "2013", f"Value too long for field ID: {field_id} (at most {MAX_TEXT} characters)"
    return None


def _is_empty(value: Any) -> bool:
    """``""`` or ``null``: accepted for any field, and clears it."""
    return value is None or value == ""


def _contact_errors(contact: JSONObject, fields: Mapping[int, tuple[str, str]]) -> dict[str, str]:
    """Every reason one contact (key value present) is refused, as {code: message}; the first message per code."""
    errors: dict[str, str] = {}
    for raw_id, value in contact.items():
        if raw_id == "source_id":  # [doc] an optional per-contact source id
            continue
        if not str(raw_id).isdigit() or int(raw_id) not in fields:
            errors.setdefault("2006", f"Invalid field id: {raw_id}")
            continue
        field_id = int(raw_id)
        problem = None if _is_empty(value) else _value_problem(field_id, fields[field_id][1], value)
        if problem is not None:
            errors.setdefault(*problem)
    return errors


def _apply(state: EmulatorState, email: str, contact: JSONObject) -> Contact:
    """Create or update one validated contact; an empty value ("" or null) clears the field."""
    state.upsert_counts[email] = state.upsert_counts.get(email, 0) + 1
    stored = state.contacts.get(email)
    if stored is None:
        stored = Contact(state.new_id(), {KEY_FIELD: email})
        state.contacts[email] = stored
    for raw_id, value in contact.items():
        if raw_id == "source_id":
            continue
        field_id = int(raw_id)
        if _is_empty(value):
            stored.fields.pop(field_id, None)
        elif field_id == 31:
            stored.fields[field_id] = int(value)
        else:
            stored.fields[field_id] = value
    return stored


# --------------------------------------------------------------------------- responses


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
    return ORJSONResponse(
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


async def _http_error(request: Request, exc: Exception) -> Response:
    status, _headers = http_error_status(exc)
    return _reply(status, 1, f"{request.method} {request.url.path}: {HTTPStatus(status).phrase}.")


# --------------------------------------------------------------------------- routes


async def _answer_scripted_or_faulted(request: Request, process: Callable[[bool], Response]) -> Response:
    """Scripted statuses first, then the seeded fault plan (drawn before any await), then the work."""
    state = _store(request)
    if state.scripted:
        status = state.scripted.pop(0)
        request_exchange(request).fault = f"scripted {status}"
        headers = {"Retry-After": "0"} if status == 429 else None
        return _reply(status, status, HTTPStatus(status).phrase, headers=headers)
    return await answer_faulted(request, state.faults, process, _fault_answer)


def _contacts_of(raw: bytes) -> list[JSONObject] | Response:
    """The contacts of a ``PUT /contact`` body, or the whole-request refusal."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _reply(400, 1, f"Invalid JSON: {exc}")
    if not isinstance(body, dict):
        return _reply(400, 2003, "Invalid data format. Object expected.")
    key_id = str(body.get("key_id", str(KEY_FIELD)))
    if key_id != str(KEY_FIELD):
        return _reply(400, 2004, f"Invalid key field id: {key_id} (the emulator matches on field 3, email)")
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not contacts or not all(isinstance(c, dict) for c in contacts):
        return _reply(400, 2003, "Invalid data format. A non-empty array of contact objects expected.")
    return contacts


async def put_contacts(request: Request) -> Response:
    """``PUT /api/v2/contact/?create_if_not_exists=0|1``: create or update contacts matched on email."""
    options = _options(request)
    raw = await read_body(request, options.body)
    if (denied := _wsse_refusal(request)) is not None:
        return denied
    if raw is None:
        return _reply(413, 1, f"Request body exceeds {options.body.max_body_bytes} bytes.")
    flag = request.query_params.get("create_if_not_exists", "0")
    if flag not in ("0", "1"):
        return _reply(400, 1, f"Invalid value for create_if_not_exists: {flag!r}; use 0 or 1.")
    contacts = _contacts_of(raw)
    if isinstance(contacts, Response):
        return contacts
    request_exchange(request).contact_count = len(contacts)
    if len(contacts) > options.max_batch:
        return _reply(
            400,
            2002,
            f"The list of contacts exceeds the maximum size of {options.max_batch}; got {len(contacts)}.",
        )

    def process(faultable: bool) -> Response:
        return _upsert(request, contacts, flag == "1", faultable)

    return await _answer_scripted_or_faulted(request, process)


def _key_counts(contacts: list[JSONObject]) -> dict[str, int]:
    """How often each string key value occurs in the request."""
    counts: dict[str, int] = {}
    for contact in contacts:
        key = contact.get(str(KEY_FIELD))
        if isinstance(key, str):
            counts[key] = counts.get(key, 0) + 1
    return counts


def _refusal(
    request: Request, contact: JSONObject, label: str, duplicated: bool, create: bool, faultable: bool
) -> dict[str, str] | None:
    """Why one contact with key value ``label`` is not applied, as {code: message}; ``None`` to apply it."""
    state = _store(request)
    if duplicated:
        return {"2010": f"More than one contact in the request with the external id: 3 - {label}"}
    problems = _contact_errors(contact, _options(request).fields)
    if problems:
        return problems
    if not create and label not in state.contacts:
        return {"2008": f"No contact found with the external id: 3 - {label}"}
    if faultable and state.faults.record_fails():  # drawn only for a contact that would be applied
        return {"temporarily_unavailable": "The contact could not be processed right now; retry it."}
    return None


def _upsert(request: Request, contacts: list[JSONObject], create: bool, faultable: bool) -> Response:
    counts = _key_counts(contacts)
    errors: dict[str, dict[str, str]] = {}
    ids: list[int] = []
    for contact in contacts:
        key = contact.get(str(KEY_FIELD))
        if _is_empty(key):
            errors.setdefault("", {})["2005"] = "No value provided for key field: 3"
            continue
        label = str(key)
        refusal = _refusal(request, contact, label, counts.get(label, 0) > 1, create, faultable)
        if refusal is not None:
            errors[label] = refusal
        else:
            ids.append(_apply(_store(request), label, contact).id)
    return _reply(200, 0, "OK", {"ids": ids, "errors": errors or []})


async def get_fields(request: Request) -> Response:
    """``GET /api/v2/field``: the account's fields."""
    await read_body(request, _options(request).body)
    if (denied := _wsse_refusal(request)) is not None:
        return denied
    data = [
        {"id": fid, "name": name, "application_type": kind, "string_id": name.lower().replace(" ", "_")}
        for fid, (name, kind) in sorted(_options(request).fields.items())
    ]
    return _reply(200, 0, "OK", data)


def _routes() -> list[Route]:
    api = [
        Route("/api/v2/contact/", put_contacts, methods=["PUT"]),
        Route("/api/v2/contact", put_contacts, methods=["PUT"]),
        Route("/api/v2/field", get_fields, methods=["GET"]),
        Route("/api/v2/field/", get_fields, methods=["GET"]),
    ]
    return api + readback_routes()


def _field_table(fields: Mapping[int, str] | Iterable[int] | None) -> FieldTable:
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
    """Build the emulator; its state is ``app.state.emulator``, its options ``app.state.options``.

    ``username``/``secret`` are the API user the WSSE check accepts. ``fields`` replaces the
    account's field ids (ids, or id → name). ``max_batch`` (10,000) and ``max_body_bytes``
    (8,000,000) are the documented limits. ``faults`` (a plan or its ``"429=0.1,seed=7"`` text)
    applies to the contact upserts only; a given ``state`` keeps its contacts and nonces but gets
    this app's fault injector. ``clock`` (an aware datetime) is what ``Created`` is checked against.
    """
    emulator_state = state if state is not None else EmulatorState()
    emulator_state.faults = injector_for(faults, default_paths=FAULTABLE_PATHS)
    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(RecorderMiddleware, requests=emulator_state.requests, make_record=_record)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.emulator = emulator_state
    app.state.options = EmulatorOptions(
        username=username,
        secret=secret,
        fields=_field_table(fields),
        max_batch=max_batch,
        body=BodyLimits(max_body_bytes=max_body_bytes, keep_bodies=keep_bodies),
        clock=clock or (lambda: datetime.now(UTC)),
    )
    return app


_PROFILE_USER = "test-user"
_PROFILE_SECRET = "test-secret"


@not_a_test
def testing_profile(action: str) -> TestingProfile | None:
    """What a generic test tool needs to drive this emulator for ``action``.

    ``app_options`` go to :func:`create_app`; ``settings`` and ``secrets`` (literal values the
    app accepts) go into the sync config. Raises ``KeyError`` for an action other than
    ``upsert_contacts``.
    """
    if action != "upsert_contacts":
        raise KeyError(f"the Emarsys emulator serves the action upsert_contacts, not {action!r}")
    return {
        "app_options": {"username": _PROFILE_USER, "secret": _PROFILE_SECRET},
        "settings": {"create_if_not_exists": True},
        "secrets": {"username": _PROFILE_USER, "secret": _PROFILE_SECRET},
    }
