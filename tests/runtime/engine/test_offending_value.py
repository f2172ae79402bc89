"""An invalid record's outcome carries the offending value of its field, masked where the spec hashes the field."""

from __future__ import annotations

from typing import Any

from destkit.runtime import build_sync
from destkit.runtime.outcomes import Outcome

META = {"destination": "meta_custom_audiences", "action": "add_users", "settings": {"audience_id": "123"},
        "secrets": {"access_token": "tok-abcdefghijklmnop"},
        "mapping": {"external_id": "id", "email": "email", "first_name": "first_name"}}
HELLO = {"destination": "hello_charles", "action": "send_contacts", "settings": {"subdomain": "acme"},
         "secrets": {"api_key": "test-key"}, "mapping": {"external_reference_id": "id", "phone_number": "phone"},
         "catalogs": {"tags": ["vip"], "custom_properties": ["plan"]}}


def outcomes_of(config: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[Outcome] = []
    build_sync(config, base_url="http://127.0.0.1:9", allow_http=True).dry_run(
        records, offline=True, on_outcome=found.append)
    return [o.to_dict() for o in found]


def test_an_invalid_value_is_in_the_outcome_as_it_was_mapped() -> None:
    [line] = outcomes_of(HELLO, [{"id": "u1", "phone": "415-555-0101"}])
    assert (line["reason"], line["field"], line["value"]) == ("invalid_phone", "phone_number", "415-555-0101")


def test_the_value_of_a_field_the_spec_hashes_is_masked() -> None:
    [line] = outcomes_of(META, [{"id": "a2", "email": {"address": "ann@example.com"}}])
    assert (line["reason"], line["field"], line["value"]) == ("type_mismatch", "email", "***")


def test_a_missing_value_leaves_the_value_out() -> None:
    [line] = outcomes_of(HELLO, [{"id": "", "phone": "+14155550101"}])
    assert line["reason"] == "missing_required"
    assert "value" not in line


def test_a_value_json_cannot_hold_as_it_is_is_reported_as_text() -> None:
    config = {**HELLO, "mapping": {**HELLO["mapping"], "custom_properties": "props"}}
    [line] = outcomes_of(config, [{"id": "u1", "phone": "+14155550101", "props": {"plan": 2**70}}])
    assert (line["reason"], line["field"], line["value"]) == ("type_mismatch", "custom_properties",
                                                              "{'plan': 1180591620717411303424}")
