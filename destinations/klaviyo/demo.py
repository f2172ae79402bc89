"""The demo profile of Klaviyo: what ``destkit demo --destination klaviyo`` syncs to this emulator, in process.

A sample audience imported into the list ``Y6nRLr`` as one bulk import job, polled until it
completes, with four planted records: two destkit's checks refuse before sending, and two the
job refuses (read from its import errors). The emulator module re-exports :func:`demo_profile`.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from destkit.destinations._kit.demo_rows import plant_rows
from destkit.runtime.outcomes import Reason, Status
from destkit.runtime.spec.testing_profile import DemoProfile, Planted

__all__ = ["AUDIENCE_COLUMNS", "demo_profile", "write_audience"]

SECRET_ENV = "DESTKIT_DEMO_KLAVIYO_KEY"
AUDIENCE_COLUMNS = ("email", "phone", "first_name", "last_name", "tier")

CONFIG = f"""\
# A destkit sync config, written by `destkit demo --destination klaviyo`.
destination: klaviyo
action: import_profiles_to_list
settings:
  list_id: Y6nRLr                    # the list the profiles are imported into
secrets:
  api_key: {{env: {SECRET_ENV}}}   # a reference: the key itself never goes into a file
mapping:
  email: {{path: email, transform: [trim, lower]}}
  phone_number: phone                # must already be E.164
  first_name: first_name
  last_name: last_name
  properties:
    loyalty_tier: tier
"""

_FIRST = ("Ada", "Ben", "Cleo", "Dev", "Eve", "Finn", "Gia", "Hugo", "Iris", "Jay", "Kai", "Lea")
_LAST = ("Lovelace", "Hopper", "Turing", "Knuth", "Liskov", "Ritchie", "Hamilton", "Dijkstra")

# what is planted, at which percentage of the audience, and how its record must come out
_PLANTS: tuple[tuple[str, int, str, Status, Reason | None], ...] = (
    ("phone", 3, "a national phone number '0151 1234 567' where E.164 is required",
     Status.INVALID, Reason.INVALID_PHONE),
    ("no_email", 20, "no email address, which identifies the profile", Status.INVALID, Reason.MISSING_REQUIRED),
    ("undeliverable", 50, "an address under the reserved .invalid domain, which Klaviyo's import refuses",
     Status.REJECTED, Reason.DESTINATION_REJECTED),
    ("undeliverable", 80, "another address under the reserved .invalid domain",
     Status.REJECTED, Reason.DESTINATION_REJECTED),
)


def _profile(rng: random.Random, row: int) -> dict[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {"email": f"{first.lower()}.{last.lower()}.{row}@example.com", "phone": f"+1415555{row:04d}",
            "first_name": first, "last_name": last, "tier": rng.choice(("bronze", "silver", "gold"))}


def write_audience(path: Path, rows: int, seed: int = 11) -> list[Planted]:
    """A CSV of ``rows`` profiles (deterministic for a seed), with the planted problems it returns."""
    if rows < 100 or rows > 9_999:
        raise ValueError("the Klaviyo demo audience holds 100 to 9,999 rows (one import job)")
    rng = random.Random(seed)
    kind_at, planted = plant_rows(rows, _PLANTS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=AUDIENCE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in range(1, rows + 1):
            profile = _profile(rng, row)
            kind = kind_at.get(row)
            if kind == "phone":
                profile["phone"] = "0151 1234 567"
            elif kind == "no_email":
                profile["email"] = ""
            elif kind == "undeliverable":
                profile["email"] = f"nobody.{row}@mailbox.invalid"
            writer.writerow(profile)
    return planted


def demo_profile() -> DemoProfile:
    """What ``destkit demo`` needs to sync a sample audience to this emulator (new objects every call)."""
    return {
        "title": "Klaviyo",
        "action": "import_profiles_to_list",
        "base_url": "http://demo.klaviyo.test",
        "app_options": {"polls_to_complete": 2},
        "secret": "api_key",
        "secret_env": SECRET_ENV,
        "config": CONFIG,
        "write_audience": write_audience,
    }
