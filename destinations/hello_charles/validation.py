"""Why a Hello Charles request body would be refused: contact upserts (seed 004) and flow events (seed 001).

Every problem is reported, not just the first, as ``{"code", "message"}`` dicts in the API's error
vocabulary, so a failing batch entry explains itself fully.
"""

from __future__ import annotations

import re
from typing import Any

from .store import JSONObject

__all__ = [
    "EVENT_PHONE_PATTERN",
    "PHONE_PATTERN",
    "ApiError",
    "api_error",
    "event_identifiers",
    "validate_contact",
    "validate_event",
]

PHONE_PATTERN = re.compile(r"\+[1-9][0-9]{6,14}")
"""Seed 004: '+', country code, digits only. Used with ``fullmatch`` (no ``$`` newline gap)."""

EVENT_PHONE_PATTERN = re.compile(r"\+?[1-9][0-9]{6,14}")
"""Seed 001: flow-event phones are ``+{country code}...`` or ``{country code}...`` (``fullmatch``)."""

ApiError = dict[str, str]


def api_error(code: str, message: str) -> ApiError:
    """One entry of the envelope's ``errors`` list."""
    return {"code": code, "message": message}


# --------------------------------------------------------------------------- contacts (seed 004)


def _is_blank(value: Any) -> bool:
    """Not a string with something in it (missing, another type, or whitespace only)."""
    return not isinstance(value, str) or not value.strip()


def _required_errors(body: JSONObject) -> list[ApiError]:
    errors = []
    if _is_blank(body.get("external_reference_id")):
        errors.append(
            api_error(
                "missing_external_reference_id", "'external_reference_id' is required and must be a string."
            )
        )
    if _is_blank(body.get("source_type")):
        errors.append(api_error("missing_source_type", "'source_type' is required and must be a string."))
    return errors


def _shape_errors(body: JSONObject) -> list[ApiError]:
    """Names are strings, ``tags`` an array of strings, ``custom_properties`` an object."""
    errors = [
        api_error("invalid_payload", f"'{name}' must be a string.")
        for name in ("first_name", "middle_name", "last_name")
        if body.get(name) is not None and not isinstance(body[name], str)
    ]
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        errors.append(api_error("invalid_payload", "'tags' must be an array of strings."))
    props = body.get("custom_properties")
    if props is not None and not isinstance(props, dict):
        errors.append(api_error("invalid_payload", "'custom_properties' must be an object."))
    return errors


def _is_entry(entry: Any) -> bool:
    """A ``{type, value}`` object with a non-empty string type and a string value."""
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("type"), str)
        and bool(entry["type"])
        and isinstance(entry.get("value"), str)
    )


def _valid_entries(body: JSONObject, key: str, errors: list[ApiError]) -> list[JSONObject]:
    """Check ``key`` is a list of ``{type, value}`` string objects; return the valid ones."""
    entries = body.get(key)
    if entries is None:
        return []
    if not isinstance(entries, list):
        errors.append(api_error("invalid_payload", f"'{key}' must be an array of {{type, value}} objects."))
        return []
    valid: list[JSONObject] = []
    for index, entry in enumerate(entries):
        if _is_entry(entry):
            valid.append(entry)
        else:
            errors.append(
                api_error("invalid_payload", f"'{key}[{index}]' must be an object with string 'type' and 'value'.")
            )
    return valid


def _phone_errors(phones: list[JSONObject]) -> list[ApiError]:
    return [
        api_error(
            "invalid_phone_number",
            f"Invalid phone number {phone['value']!r}: expected '+', country code and digits "
            "only, e.g. +15551234567.",
        )
        for phone in phones
        if not PHONE_PATTERN.fullmatch(phone["value"])
    ]


def _email_errors(emails: list[JSONObject], *, strict: bool) -> list[ApiError]:
    if not strict:
        return []
    return [
        api_error("invalid_email", f"Invalid email address {email['value']!r}.")
        for email in emails
        if "@" not in email["value"]
    ]


def validate_contact(body: Any, *, strict_emails: bool = False) -> list[ApiError]:
    """All reasons ``body`` would fail as one contact upsert; empty when it is acceptable.

    Every problem is reported, not just the first, so a failing batch entry explains
    itself fully. Unknown top-level keys are ignored, as a permissive JSON API would.

    Email values are only checked for an ``@`` when ``strict_emails`` is set. By default
    they are stored as sent: seed 004 says malformed emails "are still stored on the
    contact", and seed 002's own example body carries ``"[email protected]"`` (an
    address a web scraper obfuscated), which the emulator must accept as it stands.
    """
    if not isinstance(body, dict):
        return [api_error("invalid_payload", "A contact must be a JSON object.")]
    errors = _required_errors(body) + _shape_errors(body)
    # entry-shape errors come before the value errors of the same list, as the API reports them
    phones = _valid_entries(body, "phone_numbers", errors)
    errors += _phone_errors(phones)
    emails = _valid_entries(body, "email_addresses", errors)
    errors += _email_errors(emails, strict=strict_emails)
    return errors


# --------------------------------------------------------------------------- flow events (seed 001)


def _identifier(body: JSONObject, name: str, errors: list[ApiError]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(api_error("invalid_payload", f"'{name}' must be a string."))
        return None
    return value if value.strip() else None


def event_identifiers(
    body: JSONObject, errors: list[ApiError] | None = None
) -> tuple[str | None, str | None, str | None]:
    """(external_reference_id, email, phone) of an event; blank or non-string ones are ``None``.

    A non-string identifier adds an ``invalid_payload`` error to ``errors`` when given.
    """
    found = [] if errors is None else errors
    return (
        _identifier(body, "external_reference_id", found),
        _identifier(body, "email", found),
        _identifier(body, "phone", found),
    )


def _event_name_errors(name: Any) -> list[ApiError]:
    if isinstance(name, str) and name and not re.search(r"\s", name):
        return []
    return [
        api_error(
            "invalid_event_name",
            f"'event_name' is required and must not contain whitespace, got {name!r}; "
            "e.g. 'abandoned_cart', not 'abandoned cart'.",
        )
    ]


def _identifier_errors(body: JSONObject) -> list[ApiError]:
    """Identifiers are strings, at least one is given, and a phone has the event phone format."""
    errors: list[ApiError] = []
    ext, email, phone = event_identifiers(body, errors)
    if ext is None and email is None and phone is None and not errors:
        errors.append(
            api_error(
                "missing_contact_identifier",
                "At least one of 'external_reference_id', 'email' or 'phone' is required to find the contact.",
            )
        )
    if phone is not None and not EVENT_PHONE_PATTERN.fullmatch(phone):
        errors.append(
            api_error(
                "invalid_phone_number",
                f"Invalid phone number {phone!r}: expected '+{{country code}}...' or '{{country code}}...', "
                "digits only, e.g. +4915112345678 or 4915112345678.",
            )
        )
    return errors


def validate_event(body: Any) -> list[ApiError]:
    """All reasons ``body`` would fail as a custom external event (seed 001); empty when acceptable.

    ``event_name`` is required and has no whitespace anywhere (a trailing newline included);
    at least one of ``external_reference_id``, ``email``, ``phone`` is given (blank strings
    do not count); a phone is ``+{country code}...`` or ``{country code}...``, digits only;
    ``event_data``, when given, is an object.
    """
    if not isinstance(body, dict):
        return [api_error("invalid_payload", "An event must be a JSON object.")]
    errors = _event_name_errors(body.get("event_name")) + _identifier_errors(body)
    event_data = body.get("event_data")
    if event_data is not None and not isinstance(event_data, dict):
        errors.append(api_error("invalid_payload", "'event_data' must be an object."))
    return errors
