"""An object field's values are checked for their type and for NaN/infinity in one loop (`object_values`):
a record is refused or delivered exactly as the two checks in order (types, then finiteness) would, and a
custom-properties object whose every key was unknown and dropped (`drop_and_warn`) is sent without it."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from destkit.runtime import Outcome, build_sync
from destkit.runtime.record import checks

PROPERTIES = ["plan", "ltv", "score"]


def config(policy: str = "reject") -> dict[str, Any]:
    return {
        "destination": "hello_charles",
        "action": "send_contacts",
        "settings": {"subdomain": "acme", "source_type": "zeotap"},
        "secrets": {"api_key": "k"},
        "mapping": {"external_reference_id": "id", "custom_properties": "props"},
        "catalogs": {"tags": ["vip"], "custom_properties": PROPERTIES},
        "options": {"on_unknown": {"custom_properties": policy}},
    }


def run(records: list[dict[str, Any]], policy: str = "reject") -> tuple[list[tuple[Any, ...]], list[Any]]:
    """Each record's (row, status, reason, message, warning reasons), and the contacts the requests hold."""
    seen: list[Outcome] = []
    result = build_sync(config(policy)).dry_run(records, on_outcome=seen.append)
    outcomes = sorted((o.row, o.status.value, o.reason and o.reason.value, o.message,
                       [str(w["reason"]) for w in o.warnings or ()]) for o in seen)
    return outcomes, [c for r in result.requests for c in orjson.loads(r.body)["contacts"]]


def test_custom_properties_whose_every_key_was_dropped_are_left_out_and_the_record_is_delivered() -> None:
    outcomes, contacts = run([{"id": "u1", "props": {"Loyalty Tier": "gold"}}], policy="drop_and_warn")
    assert outcomes == [(1, "delivered", None, None, ["unknown_custom_property"])]
    assert contacts == [{"external_reference_id": "u1", "source_type": "zeotap"}]


def test_a_value_of_another_type_is_named_even_when_a_nan_comes_before_it() -> None:
    outcomes, _ = run([{"id": "u1", "props": {"ltv": math.nan, "plan": ["pro"]}}])
    assert outcomes == [(1, "invalid", "type_mismatch",
                         "custom_properties.plan must be a string or a number or true or false, got list; "
                         "flatten it or map it to another key.", [])]


def test_an_infinity_beside_a_value_of_none_is_refused_as_not_finite() -> None:
    outcomes, _ = run([{"id": "u1", "props": {"plan": None, "ltv": math.inf}}])
    assert outcomes == [(1, "invalid", "type_mismatch", "custom_properties: inf is not a finite number; fix the source value.", [])]


def test_values_that_are_all_none_leave_the_object_out() -> None:
    outcomes, contacts = run([{"id": "u1", "props": {"plan": None}}])
    assert outcomes == [(1, "delivered", None, None, [])]
    assert contacts == [{"external_reference_id": "u1", "source_type": "zeotap"}]


def test_good_values_of_every_allowed_type_are_sent_as_they_are() -> None:
    props = {"plan": "pro", "ltv": 12.5, "score": 3}
    outcomes, contacts = run([{"id": "u1", "props": props}])
    assert outcomes == [(1, "delivered", None, None, [])]
    assert contacts == [{"external_reference_id": "u1", "source_type": "zeotap", "custom_properties": props}]


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=3), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.none(), max_size=1))
PROPS = st.dictionaries(st.sampled_from(PROPERTIES), VALUES, max_size=3)


@given(st.lists(PROPS, min_size=1, max_size=8), st.sampled_from(["reject", "drop_and_warn"]))
@settings(max_examples=80, deadline=None)
def test_the_one_loop_decides_every_record_as_the_two_checks_in_order(props: list[dict[str, Any]], policy: str) -> None:
    records = [{"id": f"u{i}", "props": p} for i, p in enumerate(props)]
    fused = run(records, policy)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(checks, "values_in_one_loop", lambda f: False)  # the checks emitted one after the other
        plain = run(records, policy)
    assert fused == plain
