"""How generic tools drive the Meta Custom Audiences emulator: the conformance suite's testing profile,
and ``destkit demo``'s profile (a sample audience with planted problems and the sync config for it).

The emulator module re-exports :func:`testing_profile` and :func:`demo_profile`; this module imports
no other part of the package, so the emulator can take its defaults from here.
"""

from __future__ import annotations

import csv
import hashlib
import random
from pathlib import Path

from destkit.destinations._kit import not_a_test
from destkit.destinations._kit.demo_rows import plant_rows
from destkit.runtime.outcomes import Reason, Status
from destkit.runtime.spec.testing_profile import DemoProfile, Planted, TestingProfile

__all__ = ["ACTIONS", "AUDIENCE_COLUMNS", "PROFILE_AUDIENCE", "PROFILE_TOKEN", "demo_profile", "testing_profile",
           "write_audience"]

ACTIONS = ("add_users", "remove_users")
"""The actions of ``specs/meta_custom_audiences.yaml``, each with a profile."""

PROFILE_TOKEN = "EAAB-conformance-token"
"""The access token the emulator accepts by default (a made-up value, never a real token)."""

PROFILE_AUDIENCE = "23850000000000001"
"""The custom audience the emulator holds by default."""

SECRET_ENV = "DESTKIT_DEMO_META_TOKEN"
AUDIENCE_COLUMNS = ("customer_id", "email", "phone", "first_name", "last_name", "country")

CONFIG = f"""\
# A destkit sync config, written by `destkit demo`.
destination: meta_custom_audiences
action: add_users
settings:
  audience_id: "{PROFILE_AUDIENCE}"   # the custom audience's id (Ads Manager → Audiences)
secrets:
  access_token: {{env: {SECRET_ENV}}}   # a reference: the token itself never goes into a file
mapping:                            # plain values: the spec normalises and SHA-256 hashes them
  external_id: customer_id
  email: email
  phone: phone                      # with its country code, e.g. +49 151 ...
  first_name: first_name
  last_name: last_name
  country: country
"""

_FIRST = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Lena", "Max")
_LAST = ("Schmidt", "Müller", "Weber", "Fischer", "Wagner", "Becker", "Hoffmann", "Koch", "Richter", "Klein")

# what is planted, at which percentage of the audience, and how its record must come out
_PLANTS: tuple[tuple[str, int, str, Status, Reason | None], ...] = (
    ("email", 3, "the email 'anna.schmidt@example' (no top-level domain)", Status.INVALID, Reason.INVALID_EMAIL),
    ("phone", 20, "the phone '0151 1234 567' without a country code", Status.INVALID, Reason.INVALID_PHONE),
    ("key", 45, "no customer_id, so no external id", Status.INVALID, Reason.MISSING_REQUIRED),
    ("no_email", 60, "no email: sent with \"\" in the EMAIL column, the phone hash stays in PHONE",
     Status.DELIVERED, None),
    ("hashed", 80, "an email that is already a SHA-256 hash (sent as is)", Status.DELIVERED, None),
)


def _user(rng: random.Random, row: int) -> dict[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {
        "customer_id": f"C{row:05d}",
        "email": f" {first}.{last}.{row}@Example.com ",
        "phone": f"+49 151 {10_000_000 + row:08d}",
        "first_name": first,
        "last_name": last,
        "country": rng.choice(("DE", "AT", "CH")),
    }


def _plant(kind: str, user: dict[str, str]) -> None:
    if kind == "email":
        user["email"] = "anna.schmidt@example"
    elif kind == "phone":
        user["phone"] = "0151 1234 567"
    elif kind == "key":
        user["customer_id"] = ""
    elif kind == "no_email":
        user["email"] = ""
    elif kind == "hashed":
        user["email"] = hashlib.sha256(b"hashed.user@example.com").hexdigest()


def write_audience(path: Path, rows: int, seed: int = 7) -> list[Planted]:
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
            user = _user(rng, row)
            kind = kind_at.get(row)
            if kind is not None:
                _plant(kind, user)
            writer.writerow(user)
    return planted


def demo_profile() -> DemoProfile:
    """What ``destkit demo`` needs to sync a sample audience to this emulator (new objects every call)."""
    return {
        "title": "Meta Custom Audiences",
        "action": "add_users",
        "base_url": "http://graph.facebook.test",
        "app_options": {"audience_ids": [PROFILE_AUDIENCE]},
        "secret": "access_token",
        "secret_env": SECRET_ENV,
        "config": CONFIG,
        "write_audience": write_audience,
    }


@not_a_test
def testing_profile(action: str) -> TestingProfile | None:
    """How the conformance suite drives ``action`` against the emulator; ``KeyError`` for another action."""
    if action not in ACTIONS:
        raise KeyError(f"the Meta Custom Audiences emulator serves {', '.join(ACTIONS)}, not {action!r}")
    return {
        "app_options": {"access_token": PROFILE_TOKEN, "audience_ids": [PROFILE_AUDIENCE]},
        "settings": {"audience_id": PROFILE_AUDIENCE},
        "secrets": {"access_token": PROFILE_TOKEN},
    }
