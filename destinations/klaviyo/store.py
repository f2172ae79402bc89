"""The Klaviyo emulator's account: profiles, lists and import jobs, and what completing a job does.

Kept apart from the routes so the testing profile can set up an account without the app.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_BODY_BYTES", "MAX_PROFILES", "MAX_REMOVALS", "PAGE_SIZE", "EmulatorState", "ImportJob", "finish_job",
           "new_id"]

MAX_PROFILES = 10_000  # [doc] per import job
MAX_BODY_BYTES = 5_000_000  # [doc] 5 MB per import job
MAX_REMOVALS = 1_000  # [ours] profile ids per list-removal request
PAGE_SIZE = 20  # [doc] import errors per page by default
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32, as ULIDs use


@dataclass
class ImportJob:
    id: str
    profiles: list[dict[str, Any]]
    list_id: str | None
    polls: int = 0
    status: str = "queued"
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class EmulatorState:
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # email → {"id", "attributes"}
    lists: dict[str, set[str]] = field(default_factory=dict)  # list id → profile ids
    jobs: dict[str, ImportJob] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)  # "submit", "poll", "errors", "remove", "throttled"
    windows: dict[str, deque[float]] = field(default_factory=dict)

    def profile_id(self, email: str) -> str | None:
        found = self.profiles.get(email.lower())
        return None if found is None else str(found["id"])

    def members(self, list_id: str) -> set[str]:
        return set(self.lists.get(list_id, set()))


def new_id(seed: str) -> str:
    """A 26-character ULID-like id (the shape of Klaviyo's profile ids)."""
    digits = uuid.uuid5(uuid.NAMESPACE_URL, seed).int
    return "01" + "".join(_ALPHABET[(digits >> (5 * i)) & 31] for i in range(24))


def finish_job(state: EmulatorState, job: ImportJob, *, cancel: bool = False) -> None:
    """The job ends: cancelled (nothing applied), or complete (valid profiles upserted, refused ones listed)."""
    if cancel:
        job.status = "cancelled"
        return
    for i, profile in enumerate(job.profiles):
        attributes = profile.get("attributes") or {}
        problem = _profile_problem(attributes)
        if problem is not None:
            name, detail = problem
            job.errors.append({"type": "import-error", "id": str(uuid.uuid4()), "attributes": {
                "code": "invalid", "title": "Invalid input.", "detail": detail,
                "source": {"pointer": f"/data/attributes/profiles/data/{i}/attributes/{name}"},
                "original_payload": attributes}})
            continue
        email = str(attributes["email"]).lower()
        stored = state.profiles.setdefault(email, {"id": new_id(email), "attributes": {}})
        stored["attributes"].update({k: v for k, v in attributes.items() if v is not None})
        if job.list_id is not None:
            state.lists.setdefault(job.list_id, set()).add(stored["id"])
    job.status = "complete"


def _profile_problem(attributes: dict[str, Any]) -> tuple[str, str] | None:
    """Why Klaviyo refuses a profile: an address it cannot deliver to (here: malformed, or under the
    reserved .invalid domain [ours]), or a phone number not in E.164 [doc]."""
    email = attributes.get("email")
    if not isinstance(email, str) or not _EMAIL.match(email) or email.lower().endswith(".invalid"):
        return "email", f"Invalid email address: {email!r}."
    phone = attributes.get("phone_number")
    if phone is not None and (not isinstance(phone, str) or not _E164.match(phone)):
        return "phone_number", f"Invalid phone number format (Example of a valid format: +12345678901): {phone!r}."
    return None
