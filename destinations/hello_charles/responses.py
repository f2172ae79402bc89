"""What the Hello Charles emulator answers with: seed 002's envelope, the person shape, and its error answers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from destkit.destinations._kit import FaultPlan, ORJSONResponse, http_error_status

from .store import Contact, JSONObject
from .validation import ApiError, api_error

__all__ = [
    "envelope",
    "error_answer",
    "fault_answer",
    "http_error",
    "invalid_json",
    "payload_too_large",
    "render_contact",
]


def envelope(
    request: Request,
    status: int,
    data: Any,
    *,
    msg: str | None = None,
    errors: list[ApiError] | None = None,
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
    return ORJSONResponse(body, status_code=status, headers=headers)


def error_answer(request: Request, status: int, code: str, message: str) -> Response:
    """An envelope with no data and one error."""
    return envelope(request, status, None, errors=[api_error(code, message)])


def payload_too_large(request: Request, max_body_bytes: int) -> Response:
    return error_answer(request, 413, "payload_too_large", f"Request body exceeds {max_body_bytes} bytes.")


def invalid_json(request: Request, reason: str) -> Response:
    return error_answer(request, 400, "invalid_json", f"Body is not valid JSON: {reason}")


def fault_answer(request: Request, kind: str, plan: FaultPlan) -> Response:
    """An injected 429, 500, 503 or timeout, as the API would answer it."""
    if kind == "429":
        return envelope(
            request,
            429,
            None,
            msg="Too Many Requests",
            errors=[api_error("rate_limited", "Rate limit exceeded; retry after the Retry-After delay.")],
            headers={"Retry-After": plan.retry_after_header()},
        )
    if kind == "timeout":
        return error_answer(request, 504, "timeout", "The request timed out before it was processed.")
    status, code = (500, "internal_error") if kind == "500" else (503, "service_unavailable")
    return error_answer(request, status, code, f"{HTTPStatus(status).phrase}; please retry.")


async def http_error(request: Request, exc: Exception) -> Response:
    """404/405 (and any other ``HTTPException``) in the same envelope as the API's errors."""
    status, headers = http_error_status(exc)
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "error")
    message = f"{request.method} {request.url.path}: {HTTPStatus(status).phrase}."
    return envelope(request, status, None, errors=[api_error(code, message)], headers=headers)


# --------------------------------------------------------------------------- the person shape


def _entry_id(person_id: str, kind: str, entry_type: str) -> str:
    """Stable id for a phone/email slot, so repeated reads of one contact agree."""
    return str(uuid.uuid5(uuid.UUID(person_id), f"{kind}:{entry_type}"))


def _phone_number(contact: Contact, phone: dict[str, Any]) -> JSONObject:
    return {
        "id": _entry_id(contact.id, "phone", phone["type"]),
        "person": contact.id,
        "type": phone["type"],
        "value": str(phone["value"]).lstrip("+"),
        "created_at": contact.created_at.removesuffix("Z"),
        "updated_at": contact.updated_at.removesuffix("Z"),
        "comment": None,
        "deleted": False,
        "active": True,
        "channel_user": None,
        "is_proxy": False,
        "proxy_vendor": "",
        "is_portable": None,
        "portability": None,
    }


def _email(contact: Contact, email: dict[str, Any]) -> JSONObject:
    return {
        "id": _entry_id(contact.id, "email", email["type"]),
        "person": contact.id,
        "type": email["type"],
        "value": email["value"],
        "created_at": contact.created_at.removesuffix("Z"),
        "updated_at": contact.updated_at.removesuffix("Z"),
        "comment": None,
        "deleted": False,
        "active": True,
        "channel_user": None,
        "proxy_vendor": "",
    }


def render_contact(contact: Contact) -> JSONObject:
    """The contact in seed 002's response shape (``channel_users`` left empty)."""
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
        "phonenumbers": [_phone_number(contact, p) for p in contact.phone_numbers],
        "channel_users": [],
        "emails": [_email(contact, e) for e in contact.email_addresses],
        "direct_feed": None,
    }
