"""What the Hello Charles emulator stores, and the upsert and flow-event rules that change it.

``EmulatorState`` is ``app.state.emulator``: tests read it back to assert what the service would
have stored. The rules come from seeds 001 (flow events), 002 and 004 (upserts); see the package's
``emulator`` module docstring.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from destkit.destinations._kit import FaultInjector

__all__ = [
    "DEFAULT_CUSTOM_PROPERTIES",
    "DEFAULT_TAGS",
    "FAULTABLE_PATHS",
    "Contact",
    "EmulatorState",
    "JSONObject",
    "RecordedRequest",
    "create_event_contact",
    "custom_property_catalog",
    "find_event_contact",
    "iso_z",
    "tag_catalog",
    "upsert_contact",
]

JSONObject = dict[str, Any]

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

FAULTABLE_PATHS: tuple[str, ...] = ("/api/v1beta/contacts",)
"""Default fault scope: the contact upserts, single and batch (``.../contacts/batch``).

A :class:`~destkit.destinations._kit.FaultPlan` with its own ``paths`` can narrow this
(e.g. to the batch route only), but faults are only ever injected by the upsert handlers:
catalogs, GDPR deletes, flow events and ``/_emulator/*`` are never faulted whatever the plan says.
(Flow events are left out on purpose: seed 001 gives them no idempotency key, so a retried
event would start a flow twice; faulting them would test a duplicate the real service has too.)
"""


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


# --------------------------------------------------------------------------- upserts (seed 004)


def iso_z(moment: datetime) -> str:
    """Seed 002's person timestamp format: milliseconds and a ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _now_stamp() -> str:
    return iso_z(datetime.now(UTC))


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


def _matched_or_new(state: EmulatorState, ext: str, source_type: str) -> tuple[Contact, bool]:
    """The contact stored under ``ext`` (touched), or a new one stored there; and whether it is new."""
    stamp = _now_stamp()
    contact = state.contacts.get(ext)
    if contact is not None:
        contact.source_type = source_type
        contact.updated_at = stamp
        return contact, False
    contact = Contact(
        id=str(uuid.uuid4()), external_reference_id=ext, source_type=source_type, created_at=stamp, updated_at=stamp
    )
    state.contacts[ext] = contact
    return contact, True


def _overwrite_names(contact: Contact, body: JSONObject) -> None:
    """Names overwrite when given; an absent or null name keeps the stored one."""
    for name in ("first_name", "middle_name", "last_name"):
        if body.get(name) is not None:
            setattr(contact, name, body[name])


def _add_known_tags(state: EmulatorState, contact: Contact, tags: Iterable[str]) -> None:
    """Tags are added (deduplicated, order kept); unknown or non-person tags are silently dropped."""
    allowed = state.person_tag_labels()
    for tag in tags:
        if tag in allowed and tag not in contact.tags:
            contact.tags.append(tag)


def _set_known_properties(state: EmulatorState, contact: Contact, properties: JSONObject) -> None:
    """Custom properties overwrite per key; unknown keys are silently dropped."""
    allowed = state.person_property_names()
    for key, value in properties.items():
        if key in allowed:
            contact.custom_properties[key] = value


def upsert_contact(state: EmulatorState, body: JSONObject) -> tuple[Contact, bool]:
    """Apply one already-validated contact body; return the contact and whether it is new.

    Semantics from seed 004: match on external reference id; names overwrite when given;
    tags are added (deduplicated, order kept) and unknown or non-person tags are silently
    dropped; custom properties overwrite per key and unknown keys are silently dropped.
    """
    ext: str = body["external_reference_id"]
    state.upsert_counts[ext] = state.upsert_counts.get(ext, 0) + 1
    contact, created = _matched_or_new(state, ext, body["source_type"])
    _overwrite_names(contact, body)
    _add_known_tags(state, contact, body.get("tags") or [])
    _set_known_properties(state, contact, body.get("custom_properties") or {})
    _replace_by_type(contact.phone_numbers, body.get("phone_numbers") or [])
    _replace_by_type(contact.email_addresses, body.get("email_addresses") or [])
    return contact, created


# --------------------------------------------------------------------------- flow events (seed 001)


def _digits(phone: str) -> str:
    return phone.lstrip("+")


def _by_phone(state: EmulatorState, phone: str) -> Contact | None:
    """Phones compare on their digits: an event may omit the ``+`` an upsert stored."""
    digits = _digits(phone)
    for contact in state.contacts.values():
        if any(_digits(str(p.get("value", ""))) == digits for p in contact.phone_numbers):
            return contact
    return None


def _by_email(state: EmulatorState, email: str) -> Contact | None:
    """Emails compare case-insensitively."""
    folded = email.casefold()
    for contact in state.contacts.values():
        if any(str(e.get("value", "")).casefold() == folded for e in contact.email_addresses):
            return contact
    return None


def find_event_contact(
    state: EmulatorState, external_reference_id: str | None, email: str | None, phone: str | None
) -> Contact | None:
    """The contact a flow event is for: by external reference id, then phone, then email.

    Phones compare on their digits (an event may omit the ``+`` an upsert stored), emails
    case-insensitively.
    """
    if external_reference_id is not None and (found := state.contacts.get(external_reference_id)) is not None:
        return found
    if phone is not None and (found := _by_phone(state, phone)) is not None:
        return found
    return _by_email(state, email) if email is not None else None


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
    stamp = _now_stamp()
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
