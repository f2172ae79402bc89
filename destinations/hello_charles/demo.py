"""The demo profile of Hello Charles: what ``destkit demo`` syncs to this emulator, in process.

A workspace with a few tags and custom properties, a sample audience of German contacts with six
planted records (five invalid for different reasons, one valid only because the workspace's catalog
is read), and the sync config that maps the audience's CSV columns. The emulator module re-exports
:func:`demo_profile`; the demo finds it through the spec's ``emulator:`` import path.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any, TextIO

import orjson

from destkit.destinations._kit.demo_rows import plant_rows
from destkit.runtime.outcomes import Reason, Status
from destkit.runtime.spec.testing_profile import DemoProfile, Planted

from .store import DEFAULT_TAGS

__all__ = ["AUDIENCE_COLUMNS", "DEMO_CUSTOM_PROPERTIES", "DEMO_TAGS", "demo_profile", "write_audience"]

DEMO_TAGS = DEFAULT_TAGS
"""Tags the demo workspace has; the emulator's defaults, so ``destkit emulate`` serves them too."""

DEMO_CUSTOM_PROPERTIES = (
    ("loyalty_tier", "Loyalty Tier"),
    ("plan", "Plan"),
    ("ltv", "LTV"),
    ("score", "Score"),
)
"""(technical name, display label) of the demo workspace's custom properties."""

SECRET_ENV = "DESTKIT_DEMO_API_KEY"
AUDIENCE_COLUMNS = ("customer_id", "first_name", "last_name", "phone", "email", "segments", "properties")

CONFIG = f"""\
# A destkit sync config, written by `destkit demo`.
destination: hello_charles
action: send_contacts
settings:
  subdomain: demo                   # <subdomain>.hello-charles.com
secrets:
  api_key: {{env: {SECRET_ENV}}}   # a reference: the key itself never goes into a file
mapping:
  external_reference_id: customer_id
  first_name: first_name
  last_name: last_name
  phone_number: phone               # must already be E.164; add transform: [{{e164: {{region: DE}}}}] to normalise
  email_address: email
  tags: segments                    # comma-separated in the CSV cell
  custom_properties: properties     # a JSON object in the CSV cell
options:
  on_unknown_tag: reject
"""

_FIRST = (
    "Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Lena", "Max",
    "Nora", "Oskar", "Paula", "Quentin", "Rosa", "Simon", "Tara", "Umut", "Vera", "Wim", "Yara", "Zoe",
)
_LAST = (
    "Schmidt", "Müller", "Weber", "Fischer", "Wagner", "Becker", "Hoffmann", "Koch", "Richter", "Klein",
    "Wolf", "Neumann", "Schwarz", "Braun", "Zimmermann", "Krüger", "Hartmann", "Lange", "Yilmaz", "Nowak",
)
_TIERS = ("bronze", "silver", "gold", "platinum")
_PLANS = ("free", "plus", "pro")

# what is planted, at which percentage of the audience, and how its record must come out
_PLANTS: tuple[tuple[str, int, str, Status, Reason | None], ...] = (
    ("phone", 1, "a national phone number '0151 1234 567' where E.164 is required",
     Status.INVALID, Reason.INVALID_PHONE),
    ("tag", 16, "the tag 'platinum_club', which the workspace does not have", Status.INVALID, Reason.UNKNOWN_TAG),
    ("label", 40, "the custom-property key 'Loyalty Tier' (the display name of loyalty_tier)",
     Status.INVALID, Reason.UNKNOWN_CUSTOM_PROPERTY),
    ("key", 55, "no customer_id, so no external reference id", Status.INVALID, Reason.MISSING_REQUIRED),
    ("existing", 71, "the tag '984', which exists only in the workspace (read from its catalog)",
     Status.DELIVERED, None),
    ("quote", 89, 'a broken CSV line: an unbalanced quote in "Mia "The Boss"', Status.INVALID, Reason.MALFORMED_INPUT),
)


def _contact(rng: random.Random, row: int) -> dict[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    segments = rng.sample(DEMO_TAGS[:3], rng.randint(0, 2))
    props: dict[str, Any] = {"loyalty_tier": rng.choice(_TIERS)}
    if rng.random() < 0.5:
        props["plan"] = rng.choice(_PLANS)
    if rng.random() < 0.3:
        props["ltv"] = round(rng.uniform(10, 5000), 2)
    return {
        "customer_id": f"C{row:05d}",
        "first_name": first,
        "last_name": last,
        "phone": f"+49151{10_000_000 + row:08d}",
        "email": f"{first.lower()}.{row}@example.com",
        "segments": ",".join(segments),
        "properties": orjson.dumps(props).decode(),
    }


def _plant(kind: str, contact: dict[str, str]) -> None:
    """Spoil ``contact`` the way ``kind`` says (the broken-quote row is written by hand instead)."""
    if kind == "phone":
        contact["phone"] = "0151 1234 567"
    elif kind == "tag":
        contact["segments"] = "vip,platinum_club"
    elif kind == "label":
        contact["properties"] = orjson.dumps({"Loyalty Tier": "gold"}).decode()
    elif kind == "key":
        contact["customer_id"] = ""
    elif kind == "existing":
        contact["segments"] = "newsletter,984"


def _write_broken_quote(fh: TextIO, row: int) -> None:
    # written by hand: a CSV writer would escape the quotes
    fh.write(f'C{row:05d},"Mia "The Boss",Schulz,+4915199999999,mia@example.com,vip,{{}}\n')


def write_audience(path: Path, rows: int, seed: int = 7) -> list[Planted]:
    """A CSV of ``rows`` contacts (deterministic for a seed), with the planted problems it returns."""
    if rows < 100:
        raise ValueError("the demo audience needs at least 100 rows")
    rng = random.Random(seed)
    kind_at, planted = plant_rows(rows, _PLANTS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=AUDIENCE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in range(1, rows + 1):
            contact = _contact(rng, row)  # drawn for every row, so a planted row leaves the others as they were
            kind = kind_at.get(row)
            if kind == "quote":
                _write_broken_quote(fh, row)
                continue
            if kind is not None:
                _plant(kind, contact)
            writer.writerow(contact)
    return planted


def demo_profile() -> DemoProfile:
    """What ``destkit demo`` needs to sync a sample audience to this emulator (new objects every call)."""
    return {
        "title": "Hello Charles",
        "action": "send_contacts",
        "base_url": "http://demo.hello-charles.test",
        "app_options": {"tags": DEMO_TAGS, "custom_properties": DEMO_CUSTOM_PROPERTIES},
        "secret": "api_key",
        "secret_env": SECRET_ENV,
        "config": CONFIG,
        "write_audience": write_audience,
    }
