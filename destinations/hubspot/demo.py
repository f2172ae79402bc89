"""The demo profile of HubSpot: what `destkit demo --destination hubspot` syncs to this emulator, in process.

A sample audience of contacts upserted by email with a private-app token, with planted records: an
invalid email and a missing email (kept back by destkit), an email HubSpot refuses in a 207 multi-status
answer (GDPR-deleted), and the same email twice in different case (HubSpot folds case: both are delivered).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from destkit.destinations._kit.demo_rows import plant_rows
from destkit.runtime.outcomes import Reason, Status
from destkit.runtime.spec.testing_profile import DemoProfile, Planted

SECRET_ENV = "DESTKIT_DEMO_HUBSPOT_TOKEN"
COLUMNS = ("email", "first_name", "last_name", "phone", "company")
GDPR_DELETED = "forgotten.user@example.com"

CONFIG = f"""\
# A destkit sync config, written by `destkit demo`.
destination: hubspot
action: upsert_contacts
settings:
  auth_type: private_app
secrets:
  private_app_token: {{env: {SECRET_ENV}}}   # a reference: the token itself never goes into a file
mapping:
  email: email
  first_name: first_name
  last_name: last_name
  phone: phone
  company: company
"""

_FIRST = ("Ada", "Ben", "Clara", "Dev", "Emma", "Finn", "Grace", "Hugo", "Ivy", "Jonas", "Kira", "Liam")
_LAST = ("Lovelace", "Hopper", "Turing", "Liskov", "Knuth", "Ritchie", "Hamilton", "Torvalds")
_COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "")

# what is planted, at which percentage of the audience, and how its record must come out
_PLANTS: tuple[tuple[str, int, str, Status, Reason | None], ...] = (
    ("bad_email", 5, "the email 'ada.at.example.com', which has no @", Status.INVALID, Reason.INVALID_EMAIL),
    ("no_email", 30, "no email, the key HubSpot matches contacts on", Status.INVALID, Reason.MISSING_REQUIRED),
    ("gdpr", 50, f"{GDPR_DELETED}, permanently deleted in HubSpot (a 207 answer refuses it)",
     Status.REJECTED, Reason.DESTINATION_REJECTED),
    ("case", 70, "the email of the row before it in upper case: HubSpot folds case, both are delivered",
     Status.DELIVERED, None),
)


def _contact(rng: random.Random, row: int) -> dict[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {"email": f"{first.lower()}.{last.lower()}.{row}@example.com", "first_name": first, "last_name": last,
            "phone": f"+1415555{row:04d}", "company": rng.choice(_COMPANIES)}


def write_audience(path: Path, rows: int, seed: int = 7) -> list[Planted]:
    """A CSV of `rows` contacts (deterministic for a seed), with the planted problems it returns."""
    if rows < 100:
        raise ValueError("the demo audience needs at least 100 rows")
    rng = random.Random(seed)
    kind_at, planted = plant_rows(rows, _PLANTS)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous: dict[str, str] = {}
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in range(1, rows + 1):
            contact = _contact(rng, row)
            kind = kind_at.get(row)
            if kind == "bad_email":
                contact["email"] = "ada.at.example.com"
            elif kind == "no_email":
                contact["email"] = ""
            elif kind == "gdpr":
                contact["email"] = GDPR_DELETED
            elif kind == "case":
                contact["email"] = previous["email"].upper()
            writer.writerow(contact)
            previous = contact
    return planted


def demo_profile() -> DemoProfile:
    """What `destkit demo` needs to sync a sample audience to this emulator (new objects every call)."""
    return {
        "title": "HubSpot",
        "action": "upsert_contacts",
        "base_url": "http://api.hubapi.test",
        "app_options": {"gdpr_deleted": [GDPR_DELETED], "burst": 1000},
        "secret": "private_app_token",
        "secret_env": SECRET_ENV,
        "config": CONFIG,
        "write_audience": write_audience,
    }


__all__ = ["CONFIG", "GDPR_DELETED", "demo_profile", "write_audience"]
