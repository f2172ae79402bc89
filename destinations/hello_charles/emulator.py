"""An in-memory emulator of Hello Charles' contacts API, as a real Starlette ASGI app.

The real API is a closed beta (seed 004), so connector code cannot be tested against it
routinely. This app reproduces what the public record says the service does -- the
envelope, upsert semantics and GDPR delete of seed 002, the validation and silent-drop
rules of seed 004, the flow-event webhook of seed 001 -- and the choices recorded as
[ours] in API-FACTS.md (the batch endpoint's path and response shape, the webhook's
``Authorization: Bearer <HS256 JWT>``). :func:`testing_profile` tells generic tools how
to drive it for each action of ``specs/hello_charles.yaml``, :func:`demo_profile` what
``destkit demo`` syncs to it. Tests drive it in process through ``httpx.ASGITransport`` or on a
real port through :func:`destkit.runtime.cli.server.running_server`, then read back
``app.state.emulator`` to assert what the service would have stored.

Where the emulator has to pick a behaviour the public record does not pin down, it picks
the stricter or more surprising one (silent drops, per-contact failures), because a
connector that survives those will survive the real service.

This module holds the app and its route handlers; the handlers read the store from
``request.app.state.emulator`` and the limits from ``request.app.state.options``. The rules live
beside it: ``store`` (state, upserts, flow-event contacts), ``validation``, ``lenient_json``,
``jwt``, ``responses`` (envelope, person shape), ``profile`` and ``demo``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from destkit.destinations._kit import (
    BodyLimits,
    Exchange,
    FaultPlan,
    RecorderMiddleware,
    answer_faulted,
    injector_for,
    read_body,
    readback_routes,
    request_exchange,
)

from .demo import demo_profile
from .jwt import verify_hs256_jwt
from .lenient_json import parse_lenient_json, strip_trailing_commas
from .profile import testing_profile
from .responses import (
    envelope,
    error_answer,
    fault_answer,
    http_error,
    invalid_json,
    payload_too_large,
    render_contact,
)
from .store import (
    DEFAULT_CUSTOM_PROPERTIES,
    DEFAULT_TAGS,
    FAULTABLE_PATHS,
    Contact,
    EmulatorState,
    JSONObject,
    RecordedRequest,
    create_event_contact,
    custom_property_catalog,
    find_event_contact,
    tag_catalog,
    upsert_contact,
)
from .validation import (
    EVENT_PHONE_PATTERN,
    PHONE_PATTERN,
    api_error,
    event_identifiers,
    validate_contact,
    validate_event,
)

__all__ = [
    "DEFAULT_CUSTOM_PROPERTIES",
    "DEFAULT_TAGS",
    "EVENT_PHONE_PATTERN",
    "FAULTABLE_PATHS",
    "PHONE_PATTERN",
    "Contact",
    "EmulatorOptions",
    "EmulatorState",
    "RecordedRequest",
    "create_app",
    "create_event_contact",
    "custom_property_catalog",
    "demo_profile",
    "find_event_contact",
    "parse_lenient_json",
    "render_contact",
    "strip_trailing_commas",
    "tag_catalog",
    "testing_profile",
    "upsert_contact",
    "validate_contact",
    "validate_event",
    "verify_hs256_jwt",
]


@dataclass(frozen=True)
class EmulatorOptions:
    """How one app checks requests (``app.state.options``): credentials, limits, strictness."""

    api_key: str
    jwt_secret: str
    max_batch: int
    body: BodyLimits
    strict_emails: bool


def _store(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _options(request: Request) -> EmulatorOptions:
    options: EmulatorOptions = request.app.state.options
    return options


def _record(scope: Scope, status: int, exchange: Exchange) -> RecordedRequest:
    return RecordedRequest(
        method=scope["method"],
        path=scope["path"],
        status=status,
        body_bytes=exchange.body_bytes,
        contact_count=exchange.contact_count,
        body=exchange.body,
        fault=exchange.fault,
    )


# --------------------------------------------------------------------------- auth and bodies


def _api_key_refusal(request: Request) -> Response | None:
    """The 401 for a request without the app's ``x-api-key``; ``None`` when the key is right."""
    if request.headers.get("x-api-key") == _options(request).api_key:
        return None
    return envelope(
        request,
        401,
        None,
        msg="Unauthorized",
        errors=[api_error("unauthorized", "Missing or invalid x-api-key header.")],
    )


async def _drained_api_key_refusal(request: Request) -> Response | None:
    """Drain the body (the recorder counts its bytes), then check the API key."""
    await read_body(request, _options(request).body)
    return _api_key_refusal(request)


async def _api_body(request: Request) -> bytes | Response:
    """The body of an API-key request, or the answer refusing it: a wrong key (401) before a large body (413)."""
    limits = _options(request).body
    raw = await read_body(request, limits)
    if (denied := _api_key_refusal(request)) is not None:
        return denied
    if raw is None:
        return payload_too_large(request, limits.max_body_bytes)
    return raw


def _jwt_refusal(request: Request) -> Response | None:
    """Seed 001's webhook auth, [ours] as ``Authorization: Bearer <HS256 JWT>``; ``None`` when it verifies."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    code = "invalid_token"
    if scheme.lower() == "bearer" and token.strip():
        _claims, error = verify_hs256_jwt(token.strip(), _options(request).jwt_secret)
        if error is None:
            return None
        code = error
    message = (
        "The JWT has expired; sign a fresh one for every request."
        if code == "token_expired"
        else "Missing or invalid 'Authorization: Bearer <JWT>' header (HS256, signed with the webhook secret)."
    )
    return envelope(request, 401, None, msg="Unauthorized", errors=[api_error(code, message)])


async def _upsert_under_faults(request: Request, raw: bytes, batch: bool) -> Response:
    """Answer an upsert under the fault plan; a batch may also draw per-contact faults."""

    def process(faultable: bool) -> Response:
        return _upsert_batch(request, raw, faultable) if batch else _upsert_one(request, raw)

    return await answer_faulted(
        request, _store(request).faults, process, lambda kind, plan: fault_answer(request, kind, plan)
    )


# --------------------------------------------------------------------------- contact upserts


async def put_contact(request: Request) -> Response:
    """``PUT /api/v1beta/contacts``: upsert one contact (seed 002)."""
    raw = await _api_body(request)
    if isinstance(raw, Response):
        return raw
    return await _upsert_under_faults(request, raw, batch=False)


def _upsert_one(request: Request, raw: bytes) -> Response:
    try:
        body = parse_lenient_json(raw)
    except ValueError as exc:
        return invalid_json(request, str(exc))
    request_exchange(request).contact_count = 1
    errors = validate_contact(body, strict_emails=_options(request).strict_emails)
    if errors:
        return envelope(request, 422, None, errors=errors)
    contact, _created = upsert_contact(_store(request), body)
    return envelope(request, 200, render_contact(contact), msg="Upserted contact successfully.")


async def put_contacts_batch(request: Request) -> Response:
    """``PUT /api/v1beta/contacts/batch`` ([ours]): upsert up to ``max_batch`` contacts, one result each."""
    raw = await _api_body(request)
    if isinstance(raw, Response):
        return raw
    return await _upsert_under_faults(request, raw, batch=True)


def _upsert_batch(request: Request, raw: bytes, faultable: bool) -> Response:
    try:
        body = parse_lenient_json(raw)
    except ValueError as exc:
        return invalid_json(request, str(exc))
    contacts = body.get("contacts") if isinstance(body, dict) else None
    if not isinstance(contacts, list):
        return error_answer(request, 400, "invalid_payload", "Body must be an object with a 'contacts' array.")
    request_exchange(request).contact_count = len(contacts)
    max_batch = _options(request).max_batch
    if len(contacts) > max_batch:
        return error_answer(
            request, 413, "batch_too_large", f"A batch may hold at most {max_batch} contacts; got {len(contacts)}."
        )
    results = [_batch_result(request, item, faultable) for item in contacts]
    return envelope(request, 200, results, msg="Processed contacts batch.")


def _batch_result(request: Request, item: Any, faultable: bool) -> JSONObject:
    """One contact of a batch: created, updated, or failed (invalid, or an injected per-contact fault)."""
    state = _store(request)
    errors = validate_contact(item, strict_emails=_options(request).strict_emails)
    # a per-contact fault is drawn only for a valid contact, so invalid ones never shift the sequence
    if not errors and faultable and state.faults.record_fails():
        errors = [
            api_error("temporarily_unavailable", "The contact could not be processed right now; retry it later.")
        ]
    if errors:
        ext = item.get("external_reference_id") if isinstance(item, dict) else None
        echo = ext if isinstance(ext, str) else None
        return {"status": "failed", "id": None, "external_reference_id": echo, "errors": errors}
    contact, created = upsert_contact(state, item)
    return {
        "status": "created" if created else "updated",
        "id": contact.id,
        "external_reference_id": contact.external_reference_id,
        "errors": [],
    }


# --------------------------------------------------------------------------- catalogs and GDPR


async def get_tags(request: Request) -> Response:
    """``GET /api/v0/tags``: the workspace's tag catalog, decoys included."""
    if (denied := await _drained_api_key_refusal(request)) is not None:
        return denied
    return envelope(request, 200, [dict(t) for t in _store(request).tags], msg="OK")


async def get_custom_properties(request: Request) -> Response:
    """``GET /api/v0/custom_properties``: the workspace's custom property catalog, decoy included."""
    if (denied := await _drained_api_key_refusal(request)) is not None:
        return denied
    return envelope(request, 200, [dict(p) for p in _store(request).custom_properties], msg="OK")


async def delete_gdpr(request: Request) -> Response:
    """``DELETE /api/v0/people/cleanup/gdpr/{person_id}``: schedule a person's deletion (seed 002)."""
    if (denied := await _drained_api_key_refusal(request)) is not None:
        return denied
    state = _store(request)
    person_id = str(request.path_params["person_id"])
    contact = state.contact_by_id(person_id)
    if contact is None:
        return error_answer(request, 404, "person_not_found", f"No person with id {person_id!r}.")
    del state.contacts[contact.external_reference_id]
    state.deleted.append(person_id)
    return envelope(
        request, 200, {"jobId": "contacts-cleanup"}, msg="GDPR delete contact job scheduled successfully"
    )


# --------------------------------------------------------------------------- flow events (seed 001)


async def post_event(request: Request) -> Response:
    """``POST /api/v0/webhooks/incoming/{source}/custom_external_event``: start a flow for a contact."""
    limits = _options(request).body
    raw = await read_body(request, limits)
    if (denied := _jwt_refusal(request)) is not None:
        return denied
    if raw is None:
        return payload_too_large(request, limits.max_body_bytes)
    try:
        body = parse_lenient_json(raw)
    except ValueError as exc:
        return invalid_json(request, str(exc))
    errors = validate_event(body)
    if errors:
        return envelope(request, 422, None, errors=errors)
    return _accept_event(request, body)


def _accept_event(request: Request, body: JSONObject) -> Response:
    """Store a valid event for its contact, creating the contact from a phone or an email if need be."""
    state = _store(request)
    ext, email, phone = event_identifiers(body)
    source = str(request.path_params["source"])
    contact = find_event_contact(state, ext, email, phone)
    created = False
    if contact is None:
        if email is None and phone is None:
            return error_answer(
                request,
                404,
                "contact_not_found",
                f"No contact with external_reference_id {ext!r}; send a phone or an email "
                "to create the contact with the event.",
            )
        contact, created = create_event_contact(state, source, ext, email, phone)
    event_id = str(uuid.uuid4())
    state.events.append(
        {
            "event_id": event_id,
            "source": source,
            "event_name": body["event_name"],
            "contact_id": contact.id,
            "created_contact": created,
            "external_reference_id": ext,
            "email": email,
            "phone": phone,
            "event_data": body.get("event_data"),
            "jwt": request.headers["authorization"].partition(" ")[2].strip(),
        }
    )
    return envelope(
        request, 200, {"event_id": event_id, "contact_id": contact.id}, msg="Event received successfully."
    )


# --------------------------------------------------------------------------- the app


def _routes() -> list[Route]:
    api = [
        Route("/api/v1beta/contacts", put_contact, methods=["PUT"]),
        Route("/api/v1beta/contacts/batch", put_contacts_batch, methods=["PUT"]),
        Route("/api/v0/tags", get_tags, methods=["GET"]),
        Route("/api/v0/custom_properties", get_custom_properties, methods=["GET"]),
        Route("/api/v0/people/cleanup/gdpr/{person_id}", delete_gdpr, methods=["DELETE"]),
        Route("/api/v0/webhooks/incoming/{source}/custom_external_event", post_event, methods=["POST"]),
    ]
    return api + readback_routes()


def create_app(
    *,
    api_key: str = "test-key",
    tags: Iterable[str] | None = None,
    custom_properties: Iterable[str | tuple[str, str]] | None = None,
    max_batch: int = 1000,
    max_body_bytes: int = 4_000_000,
    keep_bodies: bool = False,
    state: EmulatorState | None = None,
    strict_emails: bool = False,
    faults: FaultPlan | str | None = None,
    jwt_secret: str = "test-jwt-secret",
) -> Starlette:
    """Build the emulator app; its state is ``app.state.emulator``, its options ``app.state.options``.

    ``tags`` and ``custom_properties`` replace the (default or given ``state``'s) catalogs
    when not ``None``; the decoy entries are always added. Pass an existing ``state`` to
    keep contacts across app instances, e.g. to simulate a restart. ``max_batch`` defaults
    to seed 004's 1,000; ``max_body_bytes`` is [ours], the real limit being unpublished.
    ``strict_emails`` makes an email without ``@`` fail its contact with ``invalid_email``
    (off by default, see :func:`validate_contact`). ``jwt_secret`` is the integration's
    webhook secret that flow events (seed 001) must be signed with (HS256).

    ``faults`` injects seeded failures into the contact upserts only (see
    :data:`FAULTABLE_PATHS`); ``app.state.emulator.faults`` is the injector and its
    ``counts``, and ``GET /_emulator/stats`` summarises them. Faults are app configuration,
    not stored data: a given ``state`` gets a fresh injector for this app's plan (an empty
    plan when ``faults`` is ``None``) while keeping its contacts and ``upsert_counts``.
    """
    emulator_state = state if state is not None else EmulatorState()
    emulator_state.faults = injector_for(faults, default_paths=FAULTABLE_PATHS)
    if tags is not None:
        emulator_state.tags = tag_catalog(tags)
    if custom_properties is not None:
        emulator_state.custom_properties = custom_property_catalog(custom_properties)
    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(RecorderMiddleware, requests=emulator_state.requests, make_record=_record)],
        exception_handlers={404: http_error, 405: http_error},
    )
    app.state.emulator = emulator_state
    app.state.options = EmulatorOptions(
        api_key=api_key,
        jwt_secret=jwt_secret,
        max_batch=max_batch,
        body=BodyLimits(max_body_bytes=max_body_bytes, keep_bodies=keep_bodies),
        strict_emails=strict_emails,
    )
    return app
