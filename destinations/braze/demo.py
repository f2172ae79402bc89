"""The demo profile of Braze: what ``destkit demo --destination braze`` syncs to this emulator, in process.

A sample audience of users with five planted records: four that destkit's checks refuse before
sending, and one whose email only Braze refuses (listed in its failures-only answer by index, so it
comes out ``rejected`` while the other 74 of its request are delivered). The emulator module
re-exports :func:`demo_profile`; the demo finds it through the spec's ``emulator:`` import path.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from destkit.destinations._kit.demo_rows import plant_rows
from destkit.runtime.outcomes import Reason, Status
from destkit.runtime.spec.testing_profile import DemoProfile, Planted

__all__ = ["AUDIENCE_COLUMNS", "demo_profile", "write_audience"]

SECRET_ENV = "DESTKIT_DEMO_BRAZE_KEY"
AUDIENCE_COLUMNS = ("customer_id", "email", "phone", "first_name", "last_name", "country", "gender")

CONFIG = f"""\
# A destkit sync config, written by `destkit demo --destination braze`.
destination: braze
action: track_users
settings:
  instance: US-03                   # dashboard-03.braze.com → https://rest.iad-03.braze.com
secrets:
  api_key: {{env: {SECRET_ENV}}}   # a reference: the REST API key itself never goes into a file
mapping:
  external_id: customer_id
  email: email
  phone: phone                      # must already be E.164; add transform: [{{e164: {{region: US}}}}] to normalise
  first_name: first_name
  last_name: last_name
  country: country
  gender: gender
"""

_FIRST = ("Ava", "Ben", "Chloe", "Dan", "Ella", "Finn", "Gia", "Hugo", "Iris", "Jack", "Kira", "Leo", "Maya", "Noah")
_LAST = ("Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Clark", "Young")
_COUNTRIES = ("US", "CA", "GB", "DE", "FR")

# what is planted, at which percentage of the audience, and how its record must come out
_PLANTS: tuple[tuple[str, int, str, Status, Reason], ...] = (
    ("email", 3, "the email 'ava.at.example.com', with no @", Status.INVALID, Reason.INVALID_EMAIL),
    ("phone", 20, "a national phone number '(415) 555-2671' where E.164 is required",
     Status.INVALID, Reason.INVALID_PHONE),
    ("gender", 45, "the gender 'female' where Braze takes M, F, O, N, P or U", Status.INVALID, Reason.INVALID_VALUE),
    ("key", 60, "no customer_id, so no external id", Status.INVALID, Reason.MISSING_REQUIRED),
    ("braze", 80, "the email 'ben@localhost': it has an @ (destkit's lenient check passes it), but Braze "
     "refuses an address without a dotted domain and lists it as a failed object", Status.REJECTED,
     Reason.DESTINATION_REJECTED),
)


def _user(rng: random.Random, row: int) -> dict[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {
        "customer_id": f"U{row:05d}",
        "email": f"{first.lower()}.{row}@example.com",
        "phone": f"+1415{row:07d}" if rng.random() < 0.6 else "",
        "first_name": first,
        "last_name": last,
        "country": rng.choice(_COUNTRIES),
        "gender": rng.choice(("M", "F", "O", "U", "")),
    }


_SPOILED = {
    "email": ("email", "ava.at.example.com"),
    "phone": ("phone", "(415) 555-2671"),
    "gender": ("gender", "female"),
    "key": ("customer_id", ""),
    "braze": ("email", "ben@localhost"),
}


def write_audience(path: Path, rows: int, seed: int = 11) -> list[Planted]:
    """A CSV of ``rows`` users (deterministic for a seed), with the planted problems it returns."""
    if rows < 100:
        raise ValueError("the demo audience needs at least 100 rows")
    rng = random.Random(seed)
    kind_at, planted = plant_rows(rows, _PLANTS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=AUDIENCE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in range(1, rows + 1):
            user = _user(rng, row)  # drawn for every row, so a planted row leaves the others as they were
            if (kind := kind_at.get(row)) is not None:
                column, value = _SPOILED[kind]
                user[column] = value
            writer.writerow(user)
    return planted


def demo_profile() -> DemoProfile:
    """What ``destkit demo`` needs to sync a sample audience to this emulator (new objects every call)."""
    return {
        "title": "Braze",
        "action": "track_users",
        "base_url": "http://rest.iad-03.braze.test",
        "app_options": {},
        "secret": "api_key",
        "secret_env": SECRET_ENV,
        "config": CONFIG,
        "write_audience": write_audience,
        "by_default": False,  # `destkit demo` alone keeps showing the first destination's demo (Hello Charles)
    }
