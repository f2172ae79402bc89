"""What the Braze emulator stores, and the rules one attributes object is checked and applied by.

``EmulatorState`` is ``app.state.emulator``: tests read back the users and subscription states it
keeps. :func:`attribute_error` is Braze's per-object check of ``POST /users/track`` (a failed object
is listed by its index, the others are applied); see the package's ``emulator`` module docstring
for which rules are documented [doc] and which are ours [ours].
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from destkit.destinations._kit import FaultInjector

__all__ = [
    "FAULTABLE_PATHS",
    "IDENTIFIERS",
    "MAX_STRING",
    "EmulatorState",
    "JSONObject",
    "RateWindow",
    "RecordedRequest",
    "User",
    "attribute_error",
    "identifier_of",
]

JSONObject = dict[str, Any]

FAULTABLE_PATHS: tuple[str, ...] = ("/users/track", "/subscription/status/set")
"""Seeded faults apply to the two write endpoints, never to the read-back routes."""

IDENTIFIERS = ("external_id", "braze_id", "user_alias", "email", "phone")
"""What names the user of an attributes object, in the order Braze looks [doc: one of external_id,
user_alias or braze_id is required; a profile may also be updated by email or phone]."""

MAX_STRING = 255
"""Longest string value an attribute takes [doc: custom attribute strings hold 255 characters]."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_STRING_ATTRIBUTES = frozenset({"first_name", "last_name", "phone", "country", "home_city", "language", "time_zone"})
_GENDERS = frozenset({"M", "F", "O", "N", "P", "U"})  # [doc] the gender codes
_SUBSCRIBE_STATES = frozenset({"opted_in", "subscribed", "unsubscribed"})  # [doc] email_/push_subscribe


@dataclass
class User:
    """A stored user profile: its Braze id, its external id (if any) and its attributes as sent."""

    braze_id: str
    external_id: str | None
    attributes: JSONObject = field(default_factory=dict)

    def to_dict(self) -> JSONObject:
        return {"braze_id": self.braze_id, "external_id": self.external_id, "attributes": dict(self.attributes)}


@dataclass
class RecordedRequest:
    """One API request as the emulator saw it (``body`` only with ``keep_bodies=True``)."""

    method: str
    path: str
    status: int
    body_bytes: int
    authorization: str | None = None
    object_count: int | None = None
    body: bytes | None = None
    fault: str | None = None


@dataclass
class RateWindow:
    """A fixed-window request budget: ``limit`` requests per ``seconds``, the window starting at its first request.

    Braze announces the budget on every answer as ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset``
    (the window's end, in epoch seconds) [doc: "Monitoring your rate limits"]; the window's shape is ours.
    """

    limit: int
    seconds: float
    started: float = -math.inf
    used: int = 0

    def take(self, now: float) -> bool:
        """Spend one request of the budget; False (nothing spent) when it is used up."""
        if now >= self.started + self.seconds:
            self.started, self.used = now, 0
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def headers(self) -> dict[str, str]:
        """The X-RateLimit-* headers as of now (the reset rounded up: never earlier than the real one)."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset": str(math.ceil(self.started + self.seconds)),
        }


@dataclass
class EmulatorState:
    """Everything the emulator stores, exposed so tests can read back what happened.

    ``contacts`` are the users by identifier (``external_id`` value, else ``kind:value``; the name
    the shared read-back routes expect); ``subscriptions`` the state per (group id, identifier kind,
    value); ``windows`` the rate budgets per path.
    """

    contacts: dict[str, User] = field(default_factory=dict)
    upsert_counts: dict[str, int] = field(default_factory=dict)
    subscriptions: dict[tuple[str, str, str], str] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    windows: dict[str, RateWindow] = field(default_factory=dict)
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(default_paths=FAULTABLE_PATHS))

    def subscription_state(self, group: str, *, external_id: str | None = None, email: str | None = None,
                           phone: str | None = None) -> str | None:
        """The subscription state set for one user in ``group`` (named by one identifier), or None."""
        kind, value = next((k, v) for k, v in (("external_id", external_id), ("email", email), ("phone", phone))
                           if v is not None)
        return self.subscriptions.get((group, kind, value))

    def apply(self, attributes: JSONObject) -> User:
        """Create or update the user an attributes object (already checked) names; ``null`` removes a value."""
        kind, value = identifier_of(attributes)
        key = value if kind == "external_id" else f"{kind}:{value}"
        self.upsert_counts[key] = self.upsert_counts.get(key, 0) + 1
        user = self.contacts.get(key)
        if user is None:
            user = User(braze_id=uuid.uuid4().hex[:24], external_id=value if kind == "external_id" else None)
            self.contacts[key] = user
        for name, given in attributes.items():
            if name in ("external_id", "braze_id", "user_alias", "_update_existing_only"):
                continue
            if given is None:
                user.attributes.pop(name, None)
            else:
                user.attributes[name] = given
        return user


def identifier_of(attributes: JSONObject) -> tuple[str, str]:
    """(kind, value) of the identifier an attributes object names its user by; ("", "") when none."""
    for kind in IDENTIFIERS:
        value = attributes.get(kind)
        if kind == "user_alias" and isinstance(value, dict):
            return kind, f"{value.get('alias_label')}/{value.get('alias_name')}"
        if isinstance(value, str) and value:
            return kind, value
    return "", ""


def _not_valid(name: str) -> str:
    # the shape of Braze's minor error type, as a public client log shows it: "'price' is not valid"
    return f"'{name}' is not valid"


def _alias_error(alias: Any) -> str | None:
    if alias is None:
        return None
    ok = isinstance(alias, dict) and all(isinstance(alias.get(k), str) and alias[k] for k in ("alias_name", "alias_label"))
    return None if ok else _not_valid("user_alias")


def _identifier_error(attributes: JSONObject) -> str | None:
    """Why the object names no user (or names one badly); None when it names one."""
    external_id = attributes.get("external_id")
    if external_id is not None and not (isinstance(external_id, str) and external_id.strip()):
        return _not_valid("external_id")
    if (problem := _alias_error(attributes.get("user_alias"))) is not None:
        return problem
    if identifier_of(attributes) == ("", ""):
        return "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
    return None


def _valid_date(value: Any) -> bool:
    try:
        return isinstance(value, str) and len(value) == 10 and date.fromisoformat(value) is not None
    except ValueError:
        return False


def _standard_ok(name: str, value: Any) -> bool | None:
    """Whether a standard attribute's value is valid; None when ``name`` is not a standard attribute."""
    if name == "email":
        return isinstance(value, str) and len(value) <= MAX_STRING and _EMAIL.fullmatch(value) is not None
    if name in _STRING_ATTRIBUTES:
        return isinstance(value, str) and len(value) <= MAX_STRING
    if name == "gender":
        return value in _GENDERS
    if name == "dob":
        return _valid_date(value)
    if name in ("email_subscribe", "push_subscribe"):
        return value in _SUBSCRIBE_STATES
    return None


def _custom_ok(value: Any) -> bool:
    """A custom attribute takes a string, number, boolean, array of strings or (nested) object [doc]."""
    if isinstance(value, str):
        return len(value) <= MAX_STRING
    if isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(isinstance(v, str) and len(v) <= MAX_STRING for v in value)
    return isinstance(value, dict)


def attribute_error(attributes: Any) -> str | None:
    """Braze's minor error ``type`` for one attributes object, or None when it is applied."""
    if not isinstance(attributes, dict):
        return "attributes object must be an object"
    if (problem := _identifier_error(attributes)) is not None:
        return problem
    for name, value in attributes.items():
        if name in ("external_id", "braze_id", "user_alias", "_update_existing_only") or value is None:
            continue
        standard = _standard_ok(name, value)
        if standard is False or (standard is None and (name.startswith("$") or not _custom_ok(value))):
            return _not_valid(name)
    return None
