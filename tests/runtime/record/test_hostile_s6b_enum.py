"""A value outside a field's enum names the first 20 allowed values and how many more there are: a
spec's 100,000-value enum was listed whole in each invalid record's message (700 kB a record)."""

from __future__ import annotations

from pathlib import Path

from destkit.runtime import Outcome, Status, build_sync
from destkit.runtime.spec.loader import parse_spec
from tests.conftest import TAGS, hc_config

HELLO_CHARLES = (Path(__file__).parents[3] / "specs" / "hello_charles.yaml").read_text(encoding="utf-8")
FIRST_NAME = "      first_name: {type: string, title: First Name, maxLength: 255}"


def first_name_message(enum: list[str]) -> str | None:
    assert HELLO_CHARLES.count(FIRST_NAME) == 1
    text = HELLO_CHARLES.replace(FIRST_NAME, FIRST_NAME[:-1] + f", enum: [{', '.join(enum)}]}}")
    sync = build_sync(hc_config(catalogs={"tags": TAGS, "custom_properties": []}), spec=parse_spec(text))
    outcomes: list[Outcome] = []
    sync.dry_run([{"user_id": "u1", "first_name": "Zed", "phone": "+14155550101"}], offline=True,
                 on_outcome=outcomes.append)
    [outcome] = outcomes
    assert (outcome.status, outcome.reason, outcome.field) == (Status.INVALID, "invalid_value", "first_name")
    return outcome.message


def test_a_value_outside_a_huge_enum_names_twenty_values_and_counts_the_rest() -> None:
    names = [f"v{i}" for i in range(100_000)]
    assert first_name_message(names) == (
        f"first_name 'Zed' is not one of {', '.join(names[:20])} and 99,980 more.")


def test_a_value_outside_a_short_enum_names_every_value() -> None:
    assert first_name_message(["Ann", "Bob"]) == "first_name 'Zed' is not one of Ann, Bob."


def test_a_long_allowed_value_is_clipped_in_the_message() -> None:
    assert first_name_message(["A" * 100]) == f"first_name 'Zed' is not one of {'A' * 59}…."
