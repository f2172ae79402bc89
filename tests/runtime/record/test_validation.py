"""The compiled per-record checks of the Hello Charles action, one behaviour per test.

Everything goes through the public API a CDP platform uses -- `build_sync(config).preview(...)`
and `.dry_run(...)`, offline, with the catalogs given in the config -- so these tests pin what a
Zeotap user sees: which records are kept back and why (reason code, field, a message that says
how to fix it), and exactly what body the others are sent as. The rules come from seed 004
(E.164 phones, lenient emails, tags and custom-property technical names must already exist) and
the body shape from seed 002.
"""

from __future__ import annotations

from typing import Any

import pytest

from destkit.runtime import Outcome, PreviewItem, Sync, build_sync

TAGS = ["vip", "newsletter", "summer_sale", "984"]
PROPERTIES = {
    "loyalty_tier": "Loyalty Tier",
    "zeotap_audience_name": "Zeotap Audience Name",
    "score": "Score",
}
MAPPING = {
    "external_reference_id": "id",
    "first_name": "first_name",
    "last_name": "last_name",
    "phone_number": "phone",
    "email_address": "email",
    "tags": "segments",
    "custom_properties": "props",
}


def config(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "destination": "hello_charles",
        "action": "send_contacts",
        "settings": {"subdomain": "acme"},
        "secrets": {"api_key": "test-key"},
        "mapping": dict(MAPPING),
        "catalogs": {"tags": list(TAGS), "custom_properties": dict(PROPERTIES)},
    }
    base.update(overrides)
    return base


def make_sync(**overrides: Any) -> Sync:
    return build_sync(config(**overrides))


def preview_one(record: dict[str, Any], **overrides: Any) -> PreviewItem:
    items = make_sync(**overrides).preview([record], 1, offline=True)
    assert len(items) == 1
    return items[0]


def body(record: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The body `record` would be sent as; fails if it is kept back."""
    item = preview_one(record, **overrides)
    assert item.outcome is None, item.outcome.to_dict() if item.outcome else None
    assert isinstance(item.body, dict)
    return item.body


def kept_back(record: dict[str, Any], **overrides: Any) -> Outcome:
    """The outcome that keeps `record` from being sent; fails if it would be sent."""
    item = preview_one(record, **overrides)
    assert item.outcome is not None, f"record was accepted as {item.body}"
    assert item.body is None
    assert item.outcome.status == "invalid"
    return item.outcome


# --- required ----------------------------------------------------------------------------------


def test_missing_required_field_is_invalid_with_missing_required() -> None:
    outcome = kept_back({"first_name": "Ann"})
    assert (outcome.reason, outcome.field) == ("missing_required", "external_reference_id")
    assert "external_reference_id is required" in (outcome.message or "")


def test_required_field_with_an_empty_string_is_invalid_with_missing_required() -> None:
    outcome = kept_back({"id": "", "first_name": "Ann"})
    assert (outcome.reason, outcome.field) == ("missing_required", "external_reference_id")


def test_required_field_of_only_whitespace_is_invalid_with_missing_required() -> None:
    # Judgment call: a blank id is no id. Hello Charles refuses it ("'external_reference_id' is
    # required"), so sending it only turns a clear config-side reason into a destination rejection.
    outcome = kept_back({"id": "   "})
    assert (outcome.reason, outcome.field) == ("missing_required", "external_reference_id")


# --- lengths and types -------------------------------------------------------------------------


def test_value_over_max_length_is_invalid_with_too_long() -> None:
    outcome = kept_back({"id": "x" * 256})
    assert (outcome.reason, outcome.field) == ("too_long", "external_reference_id")
    assert "256 characters, over the limit of 255" in (outcome.message or "")


def test_value_at_max_length_is_accepted() -> None:
    assert body({"id": "x" * 255})["external_reference_id"] == "x" * 255


def test_name_over_max_length_is_invalid_with_too_long() -> None:
    outcome = kept_back({"id": "c1", "first_name": "A" * 256})
    assert (outcome.reason, outcome.field) == ("too_long", "first_name")


@pytest.mark.parametrize(("given", "sent"), [(4915112345678, "4915112345678"), (12.5, "12.5"), (7.0, "7")])
def test_number_mapped_to_a_string_field_is_sent_as_a_string(given: Any, sent: str) -> None:
    assert body({"id": given})["external_reference_id"] == sent


def test_number_mapped_to_a_name_is_sent_as_a_string() -> None:
    assert body({"id": "c1", "first_name": 42})["first_name"] == "42"


def test_list_mapped_to_a_string_field_is_invalid_with_type_mismatch() -> None:
    outcome = kept_back({"id": "c1", "first_name": ["Ann"]})
    assert (outcome.reason, outcome.field) == ("type_mismatch", "first_name")
    assert "first_name must be a string" in (outcome.message or "")


# --- phone numbers (seed 004: '+', country code, digits only) -----------------------------------


@pytest.mark.parametrize("phone", ["+15551234567", "+491511234567", "+4915112345678", "+441234567"])
def test_e164_phone_is_sent_as_the_mobile_phone_number(phone: str) -> None:
    assert body({"id": "c1", "phone": phone})["phone_numbers"] == [{"type": "mobile", "value": phone}]


@pytest.mark.parametrize(
    "phone",
    [
        "+1 212 555 0199",  # spaces
        "415-555-0101",  # dashes, no + and no country code
        "+49(151)1234567",  # parentheses
        "004915112345678",  # 00 instead of +
        "+0123",  # country codes do not start with 0
        "15551234567",  # no +
        "+1555",  # too short
        "+1234567890123456",  # too long (16 digits)
        "+15551234567\n",  # trailing newline
        "+15551234567 ",  # trailing space
    ],
)
def test_phone_not_in_e164_is_invalid_with_invalid_phone(phone: str) -> None:
    outcome = kept_back({"id": "c1", "phone": phone})
    assert (outcome.reason, outcome.field) == ("invalid_phone", "phone_number")
    message = outcome.message or ""
    assert "international format" in message
    assert "+15551234567" in message
    assert "e164 transform" in message


def test_national_phone_with_the_e164_transform_is_sent_in_international_format() -> None:
    mapping = {**MAPPING, "phone_number": {"path": "phone", "transform": [{"e164": {"region": "DE"}}]}}
    sent = body({"id": "c1", "phone": "0151 12345678"}, mapping=mapping)
    assert sent["phone_numbers"] == [{"type": "mobile", "value": "+4915112345678"}]


def test_phone_the_e164_transform_cannot_parse_is_invalid_and_identified_by_its_key() -> None:
    mapping = {**MAPPING, "phone_number": {"path": "phone", "transform": [{"e164": {"region": "DE"}}]}}
    outcome = kept_back({"id": "c1", "phone": "call me maybe"}, mapping=mapping)
    assert (outcome.reason, outcome.field, outcome.key) == ("invalid_phone", "phone_number", "c1")


def test_absent_phone_leaves_phone_numbers_out_of_the_body() -> None:
    assert "phone_numbers" not in body({"id": "c1", "first_name": "Ann"})


def test_empty_phone_leaves_phone_numbers_out_of_the_body() -> None:
    assert "phone_numbers" not in body({"id": "c1", "phone": ""})


# --- email (lenient, as Hello Charles validates it) ---------------------------------------------


@pytest.mark.parametrize("email", ["a@b", "ann@example.com", "ann+tag@sub.example.co.uk"])
def test_email_with_text_around_one_at_sign_is_sent_as_the_main_email(email: str) -> None:
    assert body({"id": "c1", "email": email})["email_addresses"] == [{"type": "main", "value": email}]


@pytest.mark.parametrize("email", ["no-at-sign", "a@b@c", "@example.com", "ann@", "ann @example.com"])
def test_email_without_text_around_one_at_sign_is_invalid_with_invalid_email(email: str) -> None:
    outcome = kept_back({"id": "c1", "email": email})
    assert (outcome.reason, outcome.field) == ("invalid_email", "email_address")
    assert f"'{email}'" in (outcome.message or "")


def test_absent_email_leaves_email_addresses_out_of_the_body() -> None:
    assert "email_addresses" not in body({"id": "c1"})


# --- tags (must already exist in Hello Charles) ------------------------------------------------


def test_tags_in_the_catalog_are_sent() -> None:
    assert body({"id": "c1", "segments": ["vip", "984"]})["tags"] == ["vip", "984"]


def test_tags_from_a_comma_separated_cell_are_sent_as_a_list() -> None:
    assert body({"id": "c1", "segments": "vip, newsletter"})["tags"] == ["vip", "newsletter"]


def test_tag_not_in_the_catalog_is_invalid_with_unknown_tag_by_default() -> None:
    outcome = kept_back({"id": "c1", "segments": ["vip", "ghost"]})
    assert (outcome.reason, outcome.field) == ("unknown_tag", "tags")
    message = outcome.message or ""
    assert "tag 'ghost' is not in" in message
    assert "Settings → Manage Tags" in message


def test_numeric_audience_id_matches_the_tag_of_the_same_name() -> None:
    # Seed 004's own example: an audience with ID 984 is tagged `984`. CDP exports often carry
    # audience ids as numbers; `tags` is an array of strings, so 984 is the tag "984".
    assert body({"id": "c1", "segments": [984]})["tags"] == ["984"]


def test_under_drop_and_warn_an_unknown_tag_is_dropped_from_the_body() -> None:
    item = preview_one(
        {"id": "c1", "segments": ["vip", "ghost"]}, options={"on_unknown_tag": "drop_and_warn"}
    )
    assert item.outcome is None
    assert item.body is not None and item.body["tags"] == ["vip"]


def test_under_drop_and_warn_the_dropped_tag_is_a_warning_naming_it() -> None:
    item = preview_one(
        {"id": "c1", "segments": ["vip", "ghost"]}, options={"on_unknown_tag": "drop_and_warn"}
    )
    assert item.warnings is not None and len(item.warnings) == 1
    warning = item.warnings[0]
    assert (warning["reason"], warning["field"]) == ("unknown_tag", "tags")
    assert "'ghost'" in warning["message"]
    assert "dropped" in warning["message"]


def test_under_drop_and_warn_the_record_is_delivered_with_the_warning() -> None:
    sync = make_sync(options={"on_unknown_tag": "drop_and_warn"})
    outcomes: list[Outcome] = []
    result = sync.dry_run(
        [{"id": "c1", "segments": ["vip", "ghost"]}], offline=True, on_outcome=outcomes.append
    )
    assert [(o.row, o.status, o.key) for o in outcomes] == [(1, "delivered", "c1")]
    assert outcomes[0].warnings is not None
    assert [(w["reason"], w["field"]) for w in outcomes[0].warnings] == [("unknown_tag", "tags")]
    assert result.summary.warnings == {"unknown_tag": 1}
    assert b"ghost" not in result.requests[0].body


def test_under_drop_and_warn_a_record_whose_tags_are_all_unknown_is_sent_without_tags() -> None:
    sent = body({"id": "c1", "segments": ["ghost"]}, options={"on_unknown_tag": "drop_and_warn"})
    assert sent == {"external_reference_id": "c1", "source_type": "zeotap"}


def test_empty_tag_list_leaves_tags_out_of_the_body() -> None:
    assert "tags" not in body({"id": "c1", "segments": []})


# --- custom properties (keys must be technical names) -------------------------------------------


@pytest.mark.parametrize("catalog", [PROPERTIES, list(PROPERTIES)], ids=["with-labels", "names-only"])
def test_custom_property_display_name_is_invalid_and_suggests_the_technical_name(catalog: Any) -> None:
    outcome = kept_back(
        {"id": "c1", "props": {"Loyalty Tier": "gold"}}, catalogs={"tags": TAGS, "custom_properties": catalog}
    )
    assert (outcome.reason, outcome.field) == ("unknown_custom_property", "custom_properties")
    message = outcome.message or ""
    assert "'Loyalty Tier'" in message
    assert "did you mean the technical name 'loyalty_tier'?" in message


def test_a_hostile_100_kb_custom_property_key_is_quoted_clipped_in_the_message() -> None:
    outcome = kept_back({"id": "c1", "props": {"k" * 100_000: "teal"}})
    assert (outcome.reason, outcome.field) == ("unknown_custom_property", "custom_properties")
    assert (outcome.message or "").startswith(f"custom property key '{'k' * 119}…' is not in the destination's")
    assert len(outcome.message or "") < 600


def test_custom_property_key_not_in_the_catalog_is_invalid_with_unknown_custom_property() -> None:
    outcome = kept_back({"id": "c1", "props": {"favourite_colour": "teal"}})
    assert (outcome.reason, outcome.field) == ("unknown_custom_property", "custom_properties")
    assert "'favourite_colour'" in (outcome.message or "")


def test_custom_properties_with_string_number_and_boolean_values_are_sent_unchanged() -> None:
    props = {"loyalty_tier": "gold", "score": 4.5, "zeotap_audience_name": True}
    assert body({"id": "c1", "props": props})["custom_properties"] == props


@pytest.mark.parametrize("bad", [["gold"], {"level": "gold"}])
def test_custom_property_value_of_the_wrong_type_is_invalid_with_type_mismatch(bad: Any) -> None:
    outcome = kept_back({"id": "c1", "props": {"loyalty_tier": bad}})
    assert (outcome.reason, outcome.field) == ("type_mismatch", "custom_properties")
    assert "custom_properties.loyalty_tier must be a string or a number or true or false" in (
        outcome.message or ""
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_custom_property_value_is_invalid_with_type_mismatch(bad: float) -> None:
    # JSON has no NaN or Infinity: serialized, they become null, which would clear the property.
    outcome = kept_back({"id": "c1", "props": {"score": bad}})
    assert (outcome.reason, outcome.field) == ("type_mismatch", "custom_properties")


def test_integer_too_large_to_send_is_invalid_with_type_mismatch_on_its_field() -> None:
    outcome = kept_back({"id": "c1", "props": {"score": 2**70}})
    assert (outcome.reason, outcome.field) == ("type_mismatch", "custom_properties")


def test_custom_property_with_a_null_value_is_left_out() -> None:
    sent = body({"id": "c1", "props": {"loyalty_tier": "gold", "score": None}})
    assert sent["custom_properties"] == {"loyalty_tier": "gold"}


def test_custom_properties_with_only_null_values_leave_custom_properties_out_of_the_body() -> None:
    assert "custom_properties" not in body({"id": "c1", "props": {"score": None}})


# --- the body (seed 002) -----------------------------------------------------------------------


def test_body_has_exactly_seed_002s_field_names_and_shape() -> None:
    record = {
        "id": "+4911111111",
        "first_name": "molestias",
        "last_name": "repellendus",
        "phone": "+4911111122",
        "email": "ann@example.com",
        "segments": ["vip"],
        "props": {"loyalty_tier": "gold"},
    }
    assert body(record) == {
        "external_reference_id": "+4911111111",
        "source_type": "zeotap",
        "first_name": "molestias",
        "last_name": "repellendus",
        "phone_numbers": [{"type": "mobile", "value": "+4911111122"}],
        "email_addresses": [{"type": "main", "value": "ann@example.com"}],
        "tags": ["vip"],
        "custom_properties": {"loyalty_tier": "gold"},
    }


def test_body_of_a_record_with_only_an_id_holds_only_the_id_and_source_type() -> None:
    assert body({"id": "c1"}) == {"external_reference_id": "c1", "source_type": "zeotap"}


def test_source_type_comes_from_the_settings() -> None:
    sent = body({"id": "c1"}, settings={"subdomain": "acme", "source_type": "segment"})
    assert sent["source_type"] == "segment"


def test_batch_request_wraps_the_bodies_in_contacts() -> None:
    result = make_sync().dry_run([{"id": "c1"}, {"id": "c2"}], offline=True)
    assert len(result.requests) == 1
    request = result.requests[0]
    assert (request.method, request.url, request.records) == (
        "PUT",
        "https://acme.hello-charles.com/api/v1beta/contacts/batch",
        2,
    )
    assert request.json() == {
        "contacts": [
            {"external_reference_id": "c1", "source_type": "zeotap"},
            {"external_reference_id": "c2", "source_type": "zeotap"},
        ]
    }


# --- preview and dry run -----------------------------------------------------------------------


def test_preview_returns_at_most_n_records_with_their_row_numbers() -> None:
    items = make_sync().preview([{"id": "c1"}, {"first_name": "no id"}, {"id": "c3"}], 2, offline=True)
    assert [(i.row, i.outcome is None) for i in items] == [(1, True), (2, False)]


def test_template_error_in_a_record_is_invalid_with_mapping_error() -> None:
    mapping = {**MAPPING, "first_name": {"template": "{{ given }} {{ family }}"}}
    outcome = kept_back({"id": "c1", "given": "Ann"}, mapping=mapping)
    assert (outcome.reason, outcome.field) == ("mapping_error", "first_name")
    assert outcome.key == "c1"


def test_dry_run_sends_only_valid_records_and_counts_the_others_invalid() -> None:
    records = [
        {"id": "c1"},
        {"id": "c2", "phone": "415-555-0101"},
        {"id": "c3", "segments": ["ghost"]},
        {"id": "c4"},
    ]
    result = make_sync().dry_run(records, offline=True)
    summary = result.summary
    assert (summary.received, summary.delivered, summary.count("invalid")) == (4, 2, 2)
    assert summary.reasons == {"invalid_phone": 1, "unknown_tag": 1}
    assert [c["external_reference_id"] for r in result.requests for c in r.json()["contacts"]] == ["c1", "c4"]


def test_invalid_outcome_carries_row_key_reason_field_and_no_payload() -> None:
    outcomes: list[Outcome] = []
    make_sync().dry_run(
        [{"id": "c1"}, {"id": "c2", "email": "no-at-sign", "first_name": "Ann"}],
        offline=True,
        on_outcome=outcomes.append,
    )
    invalid = [o.to_dict() for o in outcomes if o.status == "invalid"]
    assert len(invalid) == 1
    assert {k: invalid[0][k] for k in ("row", "key", "outcome", "reason", "field")} == {
        "row": 2,
        "key": "c2",
        "outcome": "invalid",
        "reason": "invalid_email",
        "field": "email_address",
    }
    assert "Ann" not in str(invalid[0])
