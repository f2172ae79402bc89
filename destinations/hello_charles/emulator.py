"""An in-memory emulator of Hello Charles' contacts API, as a real Starlette ASGI app.

The real API is a closed beta (seed 004), so connector code cannot be tested against it
routinely. This app reproduces what the public record says the service does -- the
envelope, upsert semantics and GDPR delete of seed 002, the validation and silent-drop
rules of seed 004, the flow-event webhook of seed 001 -- and the choices recorded as
[ours] in API-FACTS.md (the batch endpoint's path and response shape, the webhook's
``Authorization: Bearer <HS256 JWT>``). :func:`testing_profile` tells generic tools how
to drive it for each action of ``specs/hello_charles.yaml``. Tests drive it in process through ``httpx.ASGITransport`` or on a
real port through :func:`destkit.runtime.cli.server.running_server`, then read back
``app.state.emulator`` to assert what the service would have stored.

Where the emulator has to pick a behaviour the public record does not pin down, it picks
the stricter or more surprising one (silent drops, per-contact failures), because a
connector that survives those will survive the real service.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
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

from .._faults import (
    FaultInjector,
    FaultPlan,
    answer_with_faults,
    silence_injected_drops,
)
from .._readback import (
    READBACK_PREFIX,
    Exchange,
    ORJSONResponse,
    RecorderMiddleware,
    exchange_of,
    readback_routes,
)

__all__ = [
    "DEFAULT_CUSTOM_PROPERTIES",
    "DEFAULT_TAGS",
    "EVENT_PHONE_PATTERN",
    "FAULTABLE_PATHS",
    "PHONE_PATTERN",
    "Contact",
    "EmulatorState",
    "RecordedRequest",
    "create_app",
    "create_event_contact",
    "custom_property_catalog",
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

DEFAULT_TAGS: tuple[str, ...] = ("vip", "newsletter", "summer_sale", "984")
"""Tags pre-created in the emulated workspace; ``984`` mirrors seed 004's audience-id example."""

DEFAULT_CUSTOM_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("loyalty_tier", "Loyalty Tier"),
    ("zeotap_audience_name", "Zeotap Audience Name"),
    ("plan", "Plan"),
    ("ltv", "LTV"),
    ("score", "Score"),
)
"""(technical name, display label) pairs; labels differ from names so mix-ups are caught."""

PHONE_PATTERN = re.compile(r"\+[1-9][0-9]{6,14}")
"""Seed 004: '+', country code, digits only. Used with ``fullmatch`` (no ``$`` newline gap)."""

EVENT_PHONE_PATTERN = re.compile(r"\+?[1-9][0-9]{6,14}")
"""Seed 001: flow-event phones are ``+{country code}...`` or ``{country code}...`` (``fullmatch``)."""

_EMULATOR_PREFIX = READBACK_PREFIX

FAULTABLE_PATHS: tuple[str, ...] = ("/api/v1beta/contacts",)
"""Default fault scope: the contact upserts, single and batch (``.../contacts/batch``).

A :class:`~destkit.destinations._faults.FaultPlan` with its own ``paths`` can narrow this
(e.g. to the batch route only), but faults are only ever injected by the upsert handlers:
catalogs, GDPR deletes, flow events and ``/_emulator/*`` are never faulted whatever the plan says.
(Flow events are left out on purpose: seed 001 gives them no idempotency key, so a retried
event would start a flow twice; faulting them would test a duplicate the real service has too.)
"""

JSONObject = dict[str, Any]


# --------------------------------------------------------------------------- state


@dataclass
class Contact:
    """A stored person, in the request's vocabulary so tests can compare with what they sent.

    ``phone_numbers`` and ``email_addresses`` hold ``{"type", "value"}`` dicts exactly as
    sent (phone values keep their ``+``); the response shape (digits-only phone values,
    per-entry ids) is derived when rendering, so these lists stay easy to assert on.
    """

    id: str
    external_reference_id: str
    source_type: str
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    phone_numbers: list[dict[str, Any]] = field(default_factory=list)
    email_addresses: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom_properties: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""

    def to_dict(self) -> JSONObject:
        """Plain-JSON form, used by the ``/_emulator/contacts`` read-back route."""
        return dataclasses.asdict(self)


@dataclass
class RecordedRequest:
    """One request as the emulator saw it, so tests can assert on traffic, not just state.

    ``contact_count`` is the number of contacts in a body the emulator parsed (1 for a
    single upsert, ``len(contacts)`` for a batch) and ``None`` when no contacts were
    parsed (other routes, rejected auth, oversize or invalid JSON). ``body`` is kept only
    when the app was created with ``keep_bodies=True``, to keep long runs cheap.
    ``fault`` is the request-level fault injected into this request (``"429"``, ``"500"``,
    ``"503"``, ``"timeout"``, ``"drop"``), ``None`` when none was; a dropped request is
    recorded with the status its truncated response started with.
    """

    method: str
    path: str
    status: int
    body_bytes: int
    contact_count: int | None = None
    body: bytes | None = None
    fault: str | None = None


def tag_catalog(labels: Iterable[str]) -> list[JSONObject]:
    """Build the ``GET /api/v0/tags`` catalog: person tags plus two decoys.

    The decoys (a ``feed`` tag and a deleted person tag) exist because the real catalog
    mixes objects and keeps soft-deleted rows; a connector that treats every label as a
    usable contact tag would silently lose data, and these make that visible in tests.
    """
    catalog = [_tag(label, obj="person", deleted=False) for label in labels]
    catalog.append(_tag("feed_only", obj="feed", deleted=False))
    catalog.append(_tag("old_tag", obj="person", deleted=True))
    return catalog


def custom_property_catalog(properties: Iterable[str | tuple[str, str]]) -> list[JSONObject]:
    """Build the ``GET /api/v0/custom_properties`` catalog: person properties plus a decoy.

    A bare string is a technical name whose display label is derived (``loyalty_tier`` ->
    ``Loyalty Tier``), so callers only spell out labels when they matter. The ``event``
    decoy checks that connectors filter on ``object == "person"``.
    """
    catalog: list[JSONObject] = []
    for prop in properties:
        name, label = (prop, prop.replace("_", " ").title()) if isinstance(prop, str) else prop
        catalog.append(_custom_property(name, label, obj="person"))
    catalog.append(_custom_property("event_prop", "Event Prop", obj="event"))
    return catalog


def _tag(label: str, *, obj: str, deleted: bool) -> JSONObject:
    return {
        "id": str(uuid.uuid4()),
        "label": label,
        "object": obj,
        "tag_group": None,
        "active": not deleted,
        "deleted": deleted,
        "description": None,
    }


def _custom_property(name: str, label: str, *, obj: str) -> JSONObject:
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "label": label,
        "object": obj,
        "type": "string",
        "readonly": False,
        "disabled": False,
    }


@dataclass
class EmulatorState:
    """Everything the emulator stores, exposed so tests can read back what happened.

    ``contacts`` is keyed by external reference id because that is the upsert match key
    (seed 004). The catalogs are plain lists of the dicts the list endpoints serve; tests
    may mutate them (e.g. "create" a tag mid-test) and the next upsert honours the change.

    ``events`` holds the flow events accepted by the webhook (seed 001), in arrival order:
    ``event_id``, ``source`` (the URL's ``<source>`` segment), ``event_name``, ``contact_id``,
    ``created_contact`` (whether the event created the contact), the identifiers as sent
    (``external_reference_id``, ``email``, ``phone``, ``None`` when absent), ``event_data``
    and ``jwt`` (the bearer token that authenticated it, so tests can verify it themselves).
    ``deleted`` lists the person ids of scheduled GDPR deletions.

    ``upsert_counts`` counts, per external reference id, how many upserts applied it (it
    survives GDPR deletes), so a test can prove no record was delivered twice other than by
    an in-flight replay. ``faults`` is the app's fault injector; its ``counts`` say what was
    injected (all zero when the app was built without a fault plan).
    """

    contacts: dict[str, Contact] = field(default_factory=dict)
    upsert_counts: dict[str, int] = field(default_factory=dict)
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(default_paths=FAULTABLE_PATHS))
    requests: list[RecordedRequest] = field(default_factory=list)
    tags: list[JSONObject] = field(default_factory=lambda: tag_catalog(DEFAULT_TAGS))
    custom_properties: list[JSONObject] = field(
        default_factory=lambda: custom_property_catalog(DEFAULT_CUSTOM_PROPERTIES)
    )
    deleted: list[str] = field(default_factory=list)
    events: list[JSONObject] = field(default_factory=list)

    def contact(self, external_reference_id: str) -> Contact | None:
        """The stored contact for ``external_reference_id``, or ``None``."""
        return self.contacts.get(external_reference_id)

    def contact_by_id(self, person_id: str) -> Contact | None:
        """The stored contact whose person id (``data.id`` of an upsert) is ``person_id``."""
        return next((c for c in self.contacts.values() if c.id == person_id), None)

    def person_tag_labels(self) -> set[str]:
        """Labels an upsert may attach: tags on the ``person`` object that are not deleted."""
        return {t["label"] for t in self.tags if t.get("object") == "person" and not t.get("deleted")}

    def person_property_names(self) -> set[str]:
        """Technical names an upsert may set: enabled custom properties on ``person``."""
        return {
            p["name"] for p in self.custom_properties if p.get("object") == "person" and not p.get("disabled")
        }


# --------------------------------------------------------------------------- lenient JSON


def strip_trailing_commas(text: str) -> str:
    """Remove commas that directly precede ``]`` or ``}`` (whitespace allowed), outside strings.

    Seed 002's documented curl body has trailing commas and the real service accepts it,
    so the emulator must too. A regex cannot tell ``",]"`` inside a string literal from
    real syntax; this scanner tracks string state and backslash escapes instead.
    """
    out: list[str] = []
    in_string = False
    escaped = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "]}":
                i += 1  # drop the comma, keep the whitespace after it
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_lenient_json(raw: bytes) -> Any:
    """Parse strict JSON first (fast path), then retry once without trailing commas.

    Raises ``ValueError`` when the body is invalid even after the retry, or not UTF-8.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return orjson.loads(strip_trailing_commas(raw.decode("utf-8")))
    except (UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from exc


# --------------------------------------------------------------------------- validation and upsert


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _validate_entries(body: JSONObject, key: str, errors: list[dict[str, str]]) -> list[JSONObject]:
    """Check ``key`` is a list of ``{type, value}`` string objects; return the valid ones."""
    entries = body.get(key)
    if entries is None:
        return []
    if not isinstance(entries, list):
        errors.append(_error("invalid_payload", f"'{key}' must be an array of {{type, value}} objects."))
        return []
    valid: list[JSONObject] = []
    for index, entry in enumerate(entries):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("type"), str)
            or not entry["type"]
            or not isinstance(entry.get("value"), str)
        ):
            errors.append(
                _error(
                    "invalid_payload",
                    f"'{key}[{index}]' must be an object with string 'type' and 'value'.",
                )
            )
        else:
            valid.append(entry)
    return valid


def validate_contact(body: Any, *, strict_emails: bool = False) -> list[dict[str, str]]:
    """All reasons ``body`` would fail as one contact upsert; empty when it is acceptable.

    Every problem is reported, not just the first, so a failing batch entry explains
    itself fully. Unknown top-level keys are ignored, as a permissive JSON API would.

    Email values are only checked for an ``@`` when ``strict_emails`` is set. By default
    they are stored as sent: seed 004 says malformed emails "are still stored on the
    contact", and seed 002's own example body carries ``"[email protected]"`` (an
    address a web scraper obfuscated), which the emulator must accept as it stands.
    """
    if not isinstance(body, dict):
        return [_error("invalid_payload", "A contact must be a JSON object.")]
    errors: list[dict[str, str]] = []
    ext = body.get("external_reference_id")
    if not isinstance(ext, str) or not ext.strip():
        errors.append(
            _error(
                "missing_external_reference_id", "'external_reference_id' is required and must be a string."
            )
        )
    source_type = body.get("source_type")
    if not isinstance(source_type, str) or not source_type.strip():
        errors.append(_error("missing_source_type", "'source_type' is required and must be a string."))
    for name in ("first_name", "middle_name", "last_name"):
        if body.get(name) is not None and not isinstance(body[name], str):
            errors.append(_error("invalid_payload", f"'{name}' must be a string."))
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        errors.append(_error("invalid_payload", "'tags' must be an array of strings."))
    props = body.get("custom_properties")
    if props is not None and not isinstance(props, dict):
        errors.append(_error("invalid_payload", "'custom_properties' must be an object."))
    for phone in _validate_entries(body, "phone_numbers", errors):
        if not PHONE_PATTERN.fullmatch(phone["value"]):
            errors.append(
                _error(
                    "invalid_phone_number",
                    f"Invalid phone number {phone['value']!r}: expected '+', country code and digits "
                    "only, e.g. +15551234567.",
                )
            )
    for email in _validate_entries(body, "email_addresses", errors):
        if strict_emails and "@" not in email["value"]:
            errors.append(_error("invalid_email", f"Invalid email address {email['value']!r}."))
    return errors


def _now() -> datetime:
    return datetime.now(UTC)


def _iso_z(moment: datetime) -> str:
    """Seed 002's person timestamp format: milliseconds and a ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _replace_by_type(existing: list[dict[str, Any]], given: Iterable[JSONObject]) -> None:
    """A given ``{type, value}`` replaces the entry of the same type; other types are kept."""
    for entry in given:
        new = {"type": entry["type"], "value": entry["value"]}
        for index, old in enumerate(existing):
            if old.get("type") == new["type"]:
                existing[index] = new
                break
        else:
            existing.append(new)


def upsert_contact(state: EmulatorState, body: JSONObject) -> tuple[Contact, bool]:
    """Apply one already-validated contact body; return the contact and whether it is new.

    Semantics from seed 004: match on external reference id; names overwrite when given;
    tags are added (deduplicated, order kept) and unknown or non-person tags are silently
    dropped; custom properties overwrite per key and unknown keys are silently dropped.
    """
    ext: str = body["external_reference_id"]
    state.upsert_counts[ext] = state.upsert_counts.get(ext, 0) + 1
    stamp = _iso_z(_now())
    contact = state.contacts.get(ext)
    created = contact is None
    if contact is None:
        contact = Contact(
            id=str(uuid.uuid4()),
            external_reference_id=ext,
            source_type=body["source_type"],
            created_at=stamp,
            updated_at=stamp,
        )
        state.contacts[ext] = contact
    else:
        contact.source_type = body["source_type"]
        contact.updated_at = stamp
    if body.get("first_name") is not None:
        contact.first_name = body["first_name"]
    if body.get("middle_name") is not None:
        contact.middle_name = body["middle_name"]
    if body.get("last_name") is not None:
        contact.last_name = body["last_name"]
    allowed_tags = state.person_tag_labels()
    for tag in body.get("tags") or []:
        if tag in allowed_tags and tag not in contact.tags:
            contact.tags.append(tag)
    allowed_props = state.person_property_names()
    for key, value in (body.get("custom_properties") or {}).items():
        if key in allowed_props:
            contact.custom_properties[key] = value
    _replace_by_type(contact.phone_numbers, body.get("phone_numbers") or [])
    _replace_by_type(contact.email_addresses, body.get("email_addresses") or [])
    return contact, created


# --------------------------------------------------------------------------- flow events (seed 001)


def _b64url_decode(text: str) -> bytes:
    """Base64url without padding (RFC 7515); raises ``ValueError`` on anything else."""
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def verify_hs256_jwt(
    token: str, secret: str, *, now: float | None = None
) -> tuple[JSONObject | None, str | None]:
    """Check a compact HS256 JWT; return ``(claims, None)`` or ``(None, error code)``.

    The error code is ``invalid_token`` for anything malformed, another algorithm (``none``
    included: the header's ``alg`` must be ``HS256``), a wrong signature or a non-numeric
    ``exp``/``nbf``, and ``token_expired`` when ``exp`` is in the past (or ``nbf`` in the
    future). The signature is checked before any claim, so an expired token signed with
    the wrong secret is ``invalid_token``. Written with hmac/base64 only: no JWT library.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None, "invalid_token"
    try:
        header = orjson.loads(_b64url_decode(parts[0]))
        payload_raw = _b64url_decode(parts[1])
        signature = _b64url_decode(parts[2])
    except (ValueError, orjson.JSONDecodeError):
        return None, "invalid_token"
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return None, "invalid_token"
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        return None, "invalid_token"
    try:
        claims = orjson.loads(payload_raw)
    except orjson.JSONDecodeError:
        return None, "invalid_token"
    if not isinstance(claims, dict):
        return None, "invalid_token"
    moment = time.time() if now is None else now
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return None, "invalid_token"
    if claims.get("exp") is not None and claims["exp"] <= moment:
        return None, "token_expired"
    if claims.get("nbf") is not None and claims["nbf"] > moment:
        return None, "token_expired"
    return claims, None


def _identifier(body: JSONObject, name: str, errors: list[dict[str, str]]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(_error("invalid_payload", f"'{name}' must be a string."))
        return None
    return value if value.strip() else None


def validate_event(body: Any) -> list[dict[str, str]]:
    """All reasons ``body`` would fail as a custom external event (seed 001); empty when acceptable.

    ``event_name`` is required and has no whitespace anywhere (a trailing newline included);
    at least one of ``external_reference_id``, ``email``, ``phone`` is given (blank strings
    do not count); a phone is ``+{country code}...`` or ``{country code}...``, digits only;
    ``event_data``, when given, is an object.
    """
    if not isinstance(body, dict):
        return [_error("invalid_payload", "An event must be a JSON object.")]
    errors: list[dict[str, str]] = []
    name = body.get("event_name")
    if not isinstance(name, str) or not name or re.search(r"\s", name):
        errors.append(
            _error(
                "invalid_event_name",
                f"'event_name' is required and must not contain whitespace, got {name!r}; "
                "e.g. 'abandoned_cart', not 'abandoned cart'.",
            )
        )
    identifier_errors: list[dict[str, str]] = []
    ext = _identifier(body, "external_reference_id", identifier_errors)
    email = _identifier(body, "email", identifier_errors)
    phone = _identifier(body, "phone", identifier_errors)
    errors += identifier_errors
    if ext is None and email is None and phone is None and not identifier_errors:
        errors.append(
            _error(
                "missing_contact_identifier",
                "At least one of 'external_reference_id', 'email' or 'phone' is required to find the contact.",
            )
        )
    if phone is not None and not EVENT_PHONE_PATTERN.fullmatch(phone):
        errors.append(
            _error(
                "invalid_phone_number",
                f"Invalid phone number {phone!r}: expected '+{{country code}}...' or '{{country code}}...', "
                "digits only, e.g. +4915112345678 or 4915112345678.",
            )
        )
    event_data = body.get("event_data")
    if event_data is not None and not isinstance(event_data, dict):
        errors.append(_error("invalid_payload", "'event_data' must be an object."))
    return errors


def _digits(phone: str) -> str:
    return phone.lstrip("+")


def find_event_contact(
    state: EmulatorState, external_reference_id: str | None, email: str | None, phone: str | None
) -> Contact | None:
    """The contact a flow event is for: by external reference id, then phone, then email.

    Phones compare on their digits (an event may omit the ``+`` an upsert stored), emails
    case-insensitively.
    """
    if external_reference_id is not None and (found := state.contacts.get(external_reference_id)) is not None:
        return found
    if phone is not None:
        digits = _digits(phone)
        for contact in state.contacts.values():
            if any(_digits(str(p.get("value", ""))) == digits for p in contact.phone_numbers):
                return contact
    if email is not None:
        folded = email.casefold()
        for contact in state.contacts.values():
            if any(str(e.get("value", "")).casefold() == folded for e in contact.email_addresses):
                return contact
    return None


def create_event_contact(
    state: EmulatorState, source: str, external_reference_id: str | None, email: str | None, phone: str | None
) -> tuple[Contact, bool]:
    """Seed 001: "charles will create a new contact based on the phone and/or the email".

    The caller guarantees a phone or an email. The contact is keyed by the event's external
    reference id when it has one, else by the phone in ``+`` form, else by the email; its
    ``source_type`` is the webhook's source. Not counted in ``upsert_counts`` (not an upsert).
    Returns the contact and whether it is new: a contact already stored under that key (one
    whose phone list does not hold the number it is keyed by) is reused, never overwritten.
    """
    phone_value = None if phone is None else "+" + _digits(phone)
    key = external_reference_id or phone_value or email
    assert key is not None
    if (existing := state.contacts.get(key)) is not None:
        return existing, False
    stamp = _iso_z(_now())
    contact = Contact(
        id=str(uuid.uuid4()),
        external_reference_id=key,
        source_type=source,
        created_at=stamp,
        updated_at=stamp,
    )
    if phone_value is not None:
        contact.phone_numbers.append({"type": "mobile", "value": phone_value})
    if email is not None:
        contact.email_addresses.append({"type": "main", "value": email})
    state.contacts[key] = contact
    return contact, True


# --------------------------------------------------------------------------- rendering


def _entry_id(person_id: str, kind: str, entry_type: str) -> str:
    """Stable id for a phone/email slot, so repeated reads of one contact agree."""
    return str(uuid.uuid5(uuid.UUID(person_id), f"{kind}:{entry_type}"))


def render_contact(contact: Contact) -> JSONObject:
    """The contact in seed 002's response shape (``channel_users`` left empty)."""
    entry_stamp = contact.updated_at.removesuffix("Z")
    created_stamp = contact.created_at.removesuffix("Z")
    phonenumbers = [
        {
            "id": _entry_id(contact.id, "phone", p["type"]),
            "person": contact.id,
            "type": p["type"],
            "value": str(p["value"]).lstrip("+"),
            "created_at": created_stamp,
            "updated_at": entry_stamp,
            "comment": None,
            "deleted": False,
            "active": True,
            "channel_user": None,
            "is_proxy": False,
            "proxy_vendor": "",
            "is_portable": None,
            "portability": None,
        }
        for p in contact.phone_numbers
    ]
    emails = [
        {
            "id": _entry_id(contact.id, "email", e["type"]),
            "person": contact.id,
            "type": e["type"],
            "value": e["value"],
            "created_at": created_stamp,
            "updated_at": entry_stamp,
            "comment": None,
            "deleted": False,
            "active": True,
            "channel_user": None,
            "proxy_vendor": "",
        }
        for e in contact.email_addresses
    ]
    return {
        "id": contact.id,
        "kind": "Contact",
        "first_name": contact.first_name,
        "nickname": None,
        "middle_name": contact.middle_name,
        "last_name": contact.last_name,
        "name": None,
        "avatar": None,
        "email": None,
        "date_of_birth": None,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "gender": None,
        "comment": None,
        "deleted": False,
        "active": True,
        "measurements": None,
        "annotations": None,
        "custom_properties": dict(contact.custom_properties),
        "tags": list(contact.tags),
        "name_preference": None,
        "language_preference": None,
        "parents": [],
        "default_address": None,
        "assumed_language": None,
        "addresses": [],
        "phonenumbers": phonenumbers,
        "channel_users": [],
        "emails": emails,
        "direct_feed": None,
    }


_ORJSONResponse = ORJSONResponse


def _envelope(
    request: Request,
    status: int,
    data: Any,
    *,
    msg: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Seed 002's envelope, used for every response so clients can parse errors uniformly."""
    body = {
        "status": status,
        "msg": msg if msg is not None else HTTPStatus(status).phrase,
        "messages": [],
        "localized_messages": [],
        "errors": errors or [],
        "request": {"host": request.url.hostname or "", "id": str(uuid.uuid4())},
        "data": data,
    }
    return _ORJSONResponse(body, status_code=status, headers=headers)


# --------------------------------------------------------------------------- request plumbing


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


def _exchange(request: Request) -> Exchange:
    return exchange_of(request.scope)


@dataclass(frozen=True)
class _Config:
    api_key: str
    max_batch: int
    max_body_bytes: int
    keep_bodies: bool
    strict_emails: bool
    jwt_secret: str = "test-jwt-secret"


_Handler = Callable[[Request], Awaitable[Response]]


def _build_routes(state: EmulatorState, config: _Config) -> list[Route]:
    """The API routes, closed over this app's state and limits."""

    def unauthorized(request: Request) -> Response | None:
        if request.headers.get("x-api-key") == config.api_key:
            return None
        return _envelope(
            request,
            401,
            None,
            msg="Unauthorized",
            errors=[_error("unauthorized", "Missing or invalid x-api-key header.")],
        )

    async def read_body(request: Request) -> bytes | None:
        """Drain the whole body; return it, or ``None`` when it exceeds ``max_body_bytes``.

        The body is always drained (but not kept past the limit) so that a client still
        uploading over a real socket reads the 413 instead of a connection reset.
        """
        exchange = _exchange(request)
        declared = request.headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > config.max_body_bytes
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
        if too_large or total > config.max_body_bytes:
            return None
        return body

    def payload_too_large(request: Request) -> Response:
        return _envelope(
            request,
            413,
            None,
            errors=[
                _error("payload_too_large", f"Request body exceeds {config.max_body_bytes} bytes."),
            ],
        )

    def invalid_json(request: Request, reason: str) -> Response:
        return _envelope(
            request, 400, None, errors=[_error("invalid_json", f"Body is not valid JSON: {reason}")]
        )

    def fault_answer(request: Request, kind: str, plan: FaultPlan) -> Response:
        if kind == "429":
            return _envelope(
                request,
                429,
                None,
                msg="Too Many Requests",
                errors=[_error("rate_limited", "Rate limit exceeded; retry after the Retry-After delay.")],
                headers={"Retry-After": plan.retry_after_header()},
            )
        if kind == "timeout":
            return _envelope(
                request, 504, None, errors=[_error("timeout", "The request timed out before it was processed.")]
            )
        status, code = (500, "internal_error") if kind == "500" else (503, "service_unavailable")
        return _envelope(
            request, status, None, errors=[_error(code, f"{HTTPStatus(status).phrase}; please retry.")]
        )

    async def with_faults(request: Request, process: Callable[[bool], Response]) -> Response:
        """Answer an upsert under the fault plan; ``process(record_faults)`` does the real work."""
        exchange = _exchange(request)
        return await answer_with_faults(
            state.faults,
            request.url.path,
            request.receive,
            lambda kind: setattr(exchange, "fault", kind),
            process,
            lambda kind, plan: fault_answer(request, kind, plan),
        )

    async def put_contact(request: Request) -> Response:
        raw = await read_body(request)
        if (denied := unauthorized(request)) is not None:
            return denied
        if raw is None:
            return payload_too_large(request)
        return await with_faults(request, lambda _record_faults: upsert_one(request, raw))

    def upsert_one(request: Request, raw: bytes) -> Response:
        try:
            body = parse_lenient_json(raw)
        except ValueError as exc:
            return invalid_json(request, str(exc))
        _exchange(request).contact_count = 1
        errors = validate_contact(body, strict_emails=config.strict_emails)
        if errors:
            return _envelope(request, 422, None, errors=errors)
        contact, _created = upsert_contact(state, body)
        return _envelope(request, 200, render_contact(contact), msg="Upserted contact successfully.")

    async def put_contacts_batch(request: Request) -> Response:
        raw = await read_body(request)
        if (denied := unauthorized(request)) is not None:
            return denied
        if raw is None:
            return payload_too_large(request)
        return await with_faults(request, lambda record_faults: upsert_batch(request, raw, record_faults))

    def upsert_batch(request: Request, raw: bytes, record_faults: bool) -> Response:
        try:
            body = parse_lenient_json(raw)
        except ValueError as exc:
            return invalid_json(request, str(exc))
        contacts = body.get("contacts") if isinstance(body, dict) else None
        if not isinstance(contacts, list):
            return _envelope(
                request,
                400,
                None,
                errors=[_error("invalid_payload", "Body must be an object with a 'contacts' array.")],
            )
        _exchange(request).contact_count = len(contacts)
        if len(contacts) > config.max_batch:
            return _envelope(
                request,
                413,
                None,
                errors=[
                    _error(
                        "batch_too_large",
                        f"A batch may hold at most {config.max_batch} contacts; got {len(contacts)}.",
                    )
                ],
            )
        results: list[JSONObject] = []
        for item in contacts:
            ext = item.get("external_reference_id") if isinstance(item, dict) else None
            ext_echo = ext if isinstance(ext, str) else None
            errors = validate_contact(item, strict_emails=config.strict_emails)
            if errors:
                results.append(
                    {"status": "failed", "id": None, "external_reference_id": ext_echo, "errors": errors}
                )
                continue
            if record_faults and state.faults.record_fails():
                results.append(
                    {
                        "status": "failed",
                        "id": None,
                        "external_reference_id": ext_echo,
                        "errors": [
                            _error(
                                "temporarily_unavailable",
                                "The contact could not be processed right now; retry it later.",
                            )
                        ],
                    }
                )
                continue
            contact, created = upsert_contact(state, item)
            results.append(
                {
                    "status": "created" if created else "updated",
                    "id": contact.id,
                    "external_reference_id": contact.external_reference_id,
                    "errors": [],
                }
            )
        return _envelope(request, 200, results, msg="Processed contacts batch.")

    async def get_tags(request: Request) -> Response:
        await read_body(request)
        if (denied := unauthorized(request)) is not None:
            return denied
        return _envelope(request, 200, [dict(t) for t in state.tags], msg="OK")

    async def get_custom_properties(request: Request) -> Response:
        await read_body(request)
        if (denied := unauthorized(request)) is not None:
            return denied
        return _envelope(request, 200, [dict(p) for p in state.custom_properties], msg="OK")

    async def delete_gdpr(request: Request) -> Response:
        await read_body(request)
        if (denied := unauthorized(request)) is not None:
            return denied
        person_id = str(request.path_params["person_id"])
        contact = state.contact_by_id(person_id)
        if contact is None:
            return _envelope(
                request,
                404,
                None,
                errors=[_error("person_not_found", f"No person with id {person_id!r}.")],
            )
        del state.contacts[contact.external_reference_id]
        state.deleted.append(person_id)
        return _envelope(
            request,
            200,
            {"jobId": "contacts-cleanup"},
            msg="GDPR delete contact job scheduled successfully",
        )

    def invalid_jwt(request: Request) -> Response | None:
        """Seed 001's webhook auth, [ours] as ``Authorization: Bearer <HS256 JWT>``."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        code = "invalid_token"
        if scheme.lower() == "bearer" and token.strip():
            _claims, error = verify_hs256_jwt(token.strip(), config.jwt_secret)
            if error is None:
                return None
            code = error
        message = (
            "The JWT has expired; sign a fresh one for every request."
            if code == "token_expired"
            else "Missing or invalid 'Authorization: Bearer <JWT>' header (HS256, signed with the webhook secret)."
        )
        return _envelope(request, 401, None, msg="Unauthorized", errors=[_error(code, message)])

    async def post_event(request: Request) -> Response:
        raw = await read_body(request)
        if (denied := invalid_jwt(request)) is not None:
            return denied
        if raw is None:
            return payload_too_large(request)
        try:
            body = parse_lenient_json(raw)
        except ValueError as exc:
            return invalid_json(request, str(exc))
        errors = validate_event(body)
        if errors:
            return _envelope(request, 422, None, errors=errors)
        ext = _identifier(body, "external_reference_id", [])
        email = _identifier(body, "email", [])
        phone = _identifier(body, "phone", [])
        source = str(request.path_params["source"])
        contact = find_event_contact(state, ext, email, phone)
        created = False
        if contact is None:
            if email is None and phone is None:
                return _envelope(
                    request,
                    404,
                    None,
                    errors=[
                        _error(
                            "contact_not_found",
                            f"No contact with external_reference_id {ext!r}; send a phone or an email "
                            "to create the contact with the event.",
                        )
                    ],
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
        return _envelope(
            request, 200, {"event_id": event_id, "contact_id": contact.id}, msg="Event received successfully."
        )

    routes: list[tuple[str, _Handler, str]] = [
        ("/api/v1beta/contacts", put_contact, "PUT"),
        ("/api/v1beta/contacts/batch", put_contacts_batch, "PUT"),
        ("/api/v0/tags", get_tags, "GET"),
        ("/api/v0/custom_properties", get_custom_properties, "GET"),
        ("/api/v0/people/cleanup/gdpr/{person_id}", delete_gdpr, "DELETE"),
        ("/api/v0/webhooks/incoming/{source}/custom_external_event", post_event, "POST"),
    ]
    return [Route(path, endpoint, methods=[method]) for path, endpoint, method in routes] + readback_routes(state)


async def _http_error(request: Request, exc: Exception) -> Response:
    """404/405 (and any other ``HTTPException``) in the same envelope as the API's errors."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "error")
    message = f"{request.method} {request.url.path}: {HTTPStatus(status).phrase}."
    return _envelope(request, status, None, errors=[_error(code, message)], headers=headers)


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
    """Build the emulator app; its state is ``app.state.emulator``.

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
    if isinstance(faults, str):  # the CLI's `--faults 429=0.1,...` text
        faults = FaultPlan.parse(faults)
    emulator_state.faults = FaultInjector(faults, default_paths=FAULTABLE_PATHS)
    if faults is not None and faults.rate_drop > 0:
        silence_injected_drops()
    if tags is not None:
        emulator_state.tags = tag_catalog(tags)
    if custom_properties is not None:
        emulator_state.custom_properties = custom_property_catalog(custom_properties)
    config = _Config(
        api_key=api_key,
        max_batch=max_batch,
        max_body_bytes=max_body_bytes,
        keep_bodies=keep_bodies,
        strict_emails=strict_emails,
        jwt_secret=jwt_secret,
    )
    app = Starlette(
        routes=_build_routes(emulator_state, config),
        middleware=[Middleware(RecorderMiddleware, requests=emulator_state.requests, make_record=_record)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.emulator = emulator_state
    return app


# --------------------------------------------------------------------------- testing profile

_PROFILE_API_KEY = "conformance-api-key"
_PROFILE_JWT_SECRET = "conformance-jwt-secret"
_PROFILE_ACTIONS = ("send_contacts", "delete_contacts", "trigger_flow")


def _profile_create_people(app: Starlette, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One stored contact per record, whose person id the record then deletes."""
    state: EmulatorState = app.state.emulator
    out = []
    for i, record in enumerate(records):
        contact, _ = upsert_contact(state, {"external_reference_id": f"prepared-{i}", "source_type": "zeotap"})
        out.append({**record, "person_id": contact.id})
    return out


def _profile_create_event_contacts(app: Starlette, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flow events may name a contact by external reference id alone: it must exist first."""
    state: EmulatorState = app.state.emulator
    for record in records:
        ext = record.get("external_reference_id")
        if isinstance(ext, str) and ext.strip():
            upsert_contact(state, {"external_reference_id": ext, "source_type": "zeotap"})
    return records


def _profile_contacts_stored(app: Starlette, delivered: list[dict[str, Any]]) -> list[str]:
    stored = app.state.emulator.contacts
    problems = []
    for record in delivered:
        contact = stored.get(record["external_reference_id"])
        if contact is None:
            problems.append(f"{record['external_reference_id']!r} was delivered but is not stored")
        elif not set(record.get("tags") or []) <= set(contact.tags):
            problems.append(f"{record['external_reference_id']!r} lacks tags {record.get('tags')}")
    return problems


def _profile_people_deleted(app: Starlette, delivered: list[dict[str, Any]]) -> list[str]:
    deleted = set(app.state.emulator.deleted)
    return [f"person {r['person_id']} was delivered but not deleted" for r in delivered if r["person_id"] not in deleted]


def testing_profile(action: str) -> dict[str, Any]:
    """How a generic tool (e.g. a conformance suite) drives this emulator for ``action``.

    The contract every bundled emulator module follows: ``app_options`` are keyword
    arguments for :func:`create_app`; ``settings`` and ``secrets`` (literal values matching
    ``app_options``) go into the sync config; a ``catalogs`` key would hold the config's
    ``catalogs:`` values, and is left out here so the sync reads the tags and custom
    properties from the emulator, as it does in production. Every call returns new
    objects, so a caller may mutate what it gets.

    Raises ``ValueError`` for an action the Hello Charles spec does not have.
    """
    settings: dict[str, Any] = {"subdomain": "conformance"}
    if action == "send_contacts":
        return {
            "app_options": {"api_key": _PROFILE_API_KEY},
            "settings": settings,
            "secrets": {"api_key": _PROFILE_API_KEY},
            "variants": [{"batch_api": False}],  # the single-contact endpoint too
            "verify": _profile_contacts_stored,
        }
    if action == "delete_contacts":
        return {
            "app_options": {"api_key": _PROFILE_API_KEY},
            "settings": settings,
            "secrets": {"api_key": _PROFILE_API_KEY},
            "prepare": _profile_create_people,
            "verify": _profile_people_deleted,
        }
    if action == "trigger_flow":
        return {
            "app_options": {"jwt_secret": _PROFILE_JWT_SECRET},
            "settings": {**settings, "event_source": "conformance"},
            "secrets": {"jwt_secret": _PROFILE_JWT_SECRET},
            "prepare": _profile_create_event_contacts,
        }
    raise ValueError(f"hello_charles has no action {action!r}; use one of: {', '.join(_PROFILE_ACTIONS)}")


testing_profile.__test__ = False  # type: ignore[attr-defined]  # a test module importing it must not collect it
