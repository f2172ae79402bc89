"""What the HubSpot emulator keeps: contacts (by id, found by their lower-cased email), static lists'
memberships, and the burst budget of the account's API calls."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Contact:
    id: str
    properties: dict[str, Any]
    created_at: str
    updated_at: str


@dataclass
class BurstBudget:
    """HubSpot's burst limit: at most `limit` requests in any `interval` seconds (a sliding window)."""

    limit: int = 100
    interval: float = 10.0
    clock: Callable[[], float] = time.monotonic
    sent: deque[float] = field(default_factory=deque)

    def take(self) -> bool:
        """Spend one request of the window; False (nothing spent) when it is used up."""
        now = self.clock()
        while self.sent and now - self.sent[0] >= self.interval:
            self.sent.popleft()
        if len(self.sent) >= self.limit:
            return False
        self.sent.append(now)
        return True

    def remaining(self) -> int:
        return max(self.limit - len(self.sent), 0)


@dataclass
class HubSpotState:
    contacts: dict[str, Contact] = field(default_factory=dict)  # id -> contact
    by_email: dict[str, str] = field(default_factory=dict)  # lower-cased email -> id
    lists: dict[str, set[str]] = field(default_factory=dict)  # list id -> member contact ids
    gdpr_deleted: set[str] = field(default_factory=set)  # lower-cased emails that may not be created again
    next_id: int = 1001
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of every API request
    budget: BurstBudget = field(default_factory=BurstBudget)

    def upsert(self, email: str, properties: dict[str, Any], now: str) -> tuple[Contact, bool]:
        """The contact with this email (lower-cased, as HubSpot stores it), updated or created; and whether it is new."""
        key = email.lower()
        props = {k: v for k, v in properties.items() if v is not None} | {"email": key}
        found = self.by_email.get(key)
        if found is not None:
            contact = self.contacts[found]
            contact.properties.update(props)
            contact.updated_at = now
            return contact, False
        contact = Contact(str(self.next_id), props | {"hs_object_id": str(self.next_id)}, now, now)
        self.next_id += 1
        self.contacts[contact.id] = contact
        self.by_email[key] = contact.id
        return contact, True

    def add_contact(self, email: str, contact_id: str) -> None:
        """A contact that already exists (for tests and the QA kit's `prepare`)."""
        now = "2026-01-01T00:00:00.000Z"
        self.contacts[contact_id] = Contact(contact_id, {"email": email.lower(), "hs_object_id": contact_id}, now, now)
        self.by_email[email.lower()] = contact_id

    def members(self, list_id: str) -> set[str]:
        return set(self.lists.get(list_id, set()))

    def emails_of(self, ids: Iterable[str]) -> set[str]:
        return {self.contacts[i].properties["email"] for i in ids if i in self.contacts}


__all__ = ["BurstBudget", "Contact", "HubSpotState"]
