"""The mapping language, one behaviour per test.

A user's mapping says, per destination field, where the value comes from: a bare source path,
`{path, default}`, `{const}` or a sandboxed Jinja2 `{template}`, each optionally followed by a
list of transforms. It is checked against the action's fields once (every problem reported
together, as `MappingConfigError.issues` with a key and a fix) and compiled into a function;
a record that cannot be mapped raises `RecordError` with a reason code and the field.

The fields used here are the Hello Charles `send_contacts` action's, read from the bundled spec,
so these tests describe the mapping a Zeotap user actually writes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from destkit.mapping import FieldShape, MappingConfigError, MappingIssue, RecordError, compile_mapping
from destkit.runtime import load_spec

FIELDS: dict[str, FieldShape] = {
    name: FieldShape(f.types, f.required)
    for name, f in load_spec("hello_charles").actions["send_contacts"].fields.items()
}
KEY = {"external_reference_id": "id"}


def mapped(field_mapping: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The payload for `record` under KEY plus `field_mapping`."""
    compiled = compile_mapping({**KEY, **field_mapping}, FIELDS)
    return compiled.apply({"id": "c1", **record})


def value(spec: Any, record: dict[str, Any], field: str = "first_name") -> Any:
    """The value one field mapping gives for `record`."""
    return mapped({field: spec}, record)[field]


def record_error(spec: Any, record: dict[str, Any], field: str = "first_name") -> RecordError:
    compiled = compile_mapping({**KEY, field: spec}, FIELDS)
    with pytest.raises(RecordError) as info:
        compiled.apply({"id": "c1", **record})
    return info.value


def issues(mapping: Any) -> list[MappingIssue]:
    with pytest.raises(MappingConfigError) as info:
        compile_mapping(mapping, FIELDS)
    return info.value.issues


def only_issue(mapping: Any) -> MappingIssue:
    found = issues(mapping)
    assert len(found) == 1, found
    return found[0]


# --- source paths ------------------------------------------------------------------------------


def test_bare_string_is_a_top_level_source_path() -> None:
    assert value("given_name", {"given_name": "Ann"}) == "Ann"


def test_dotted_path_reads_a_nested_field() -> None:
    assert value("attributes.tier", {"attributes": {"tier": "gold"}}) == "gold"


def test_list_index_in_dotted_form_reads_that_item() -> None:
    assert value("names.1", {"names": ["Ann", "Bea"]}) == "Bea"


def test_list_index_in_bracket_form_reads_that_item() -> None:
    assert value("profile.names[0]", {"profile": {"names": ["Ann", "Bea"]}}) == "Ann"


def test_index_past_the_end_of_a_list_is_absent() -> None:
    assert value("names.5", {"names": ["Ann"]}) is None


def test_path_through_a_missing_parent_is_absent_not_an_error() -> None:
    assert value("attributes.tier", {}) is None


def test_path_through_a_null_parent_is_absent_not_an_error() -> None:
    assert value("attributes.tier", {"attributes": None}) is None


def test_path_through_a_scalar_is_absent_not_an_error() -> None:
    assert value("attributes.tier", {"attributes": "gold"}) is None


def test_path_mapping_is_the_same_as_a_bare_path() -> None:
    assert value({"path": "attributes.tier"}, {"attributes": {"tier": "gold"}}) == "gold"


# --- default and const ---------------------------------------------------------------------------


def test_default_is_used_when_the_source_value_is_missing() -> None:
    assert value({"path": "nickname", "default": "friend"}, {}) == "friend"


def test_default_is_used_when_the_source_value_is_an_empty_string() -> None:
    assert value({"path": "nickname", "default": "friend"}, {"nickname": ""}) == "friend"


def test_default_is_not_used_when_the_source_value_is_present() -> None:
    assert value({"path": "nickname", "default": "friend"}, {"nickname": "Annie"}) == "Annie"


def test_default_keeps_a_present_zero() -> None:
    assert value({"path": "n", "default": 7}, {"n": 0}) == 0


def test_const_gives_the_constant_whatever_the_record_holds() -> None:
    assert value({"const": "Summer VIP"}, {"first_name": "Ann"}) == "Summer VIP"


def test_const_list_maps_to_an_array_field_unchanged() -> None:
    assert value({"const": ["vip", "984"]}, {}, field="tags") == ["vip", "984"]


def test_default_is_applied_before_the_transforms() -> None:
    spec = {"path": "tier", "default": "  BRONZE ", "transform": ["trim", "lower"]}
    assert value(spec, {}) == "bronze"


# --- templates ---------------------------------------------------------------------------------


def test_template_renders_record_values() -> None:
    spec = {"template": "{{ first }} {{ last }}"}
    assert value(spec, {"first": "Ann", "last": "Lee"}) == "Ann Lee"


def test_template_reads_nested_values() -> None:
    assert value({"template": "{{ attributes.tier | upper }}"}, {"attributes": {"tier": "gold"}}) == "GOLD"


def test_template_default_filter_covers_a_missing_value() -> None:
    assert value({"template": "{{ nickname | default('friend') }}"}, {}) == "friend"


def test_template_with_an_undefined_name_fails_the_record_with_mapping_error() -> None:
    error = record_error({"template": "{{ first }} {{ middle }}"}, {"first": "Ann"})
    assert (error.code, error.field) == ("mapping_error", "first_name")
    assert "'middle' is undefined" in error.message


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__.os }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ self.__init__.__globals__ }}",
        "{{ first.__class__.__base__.__subclasses__() }}",
        "{{ range.__self__ }}",
    ],
)
def test_published_sandbox_escapes_fail_the_record_safely(escape: str) -> None:
    error = record_error({"template": escape}, {"first": "Ann"})
    assert (error.code, error.field) == ("mapping_error", "first_name")
    assert error.message.startswith("template ")
    for leak in ("<class", "<module", "<function", "uid="):
        assert leak not in error.message


@pytest.mark.parametrize("tag", ["include", "import", "extends"])
def test_template_cannot_read_a_file(tag: str, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("TOP-SECRET-FILE-CONTENT", encoding="utf-8")
    source = f"{{% {tag} '{secret_file}' %}}" if tag != "import" else f"{{% import '{secret_file}' as m %}}"
    compiled = compile_mapping({**KEY, "first_name": {"template": source}}, FIELDS)
    with pytest.raises(RecordError) as info:
        compiled.apply({"id": "c1"})
    assert (info.value.code, info.value.field) == ("mapping_error", "first_name")
    assert "TOP-SECRET-FILE-CONTENT" not in info.value.message


def test_template_cannot_change_the_record() -> None:
    record = {"id": "c1", "tags": ["vip"]}
    compiled = compile_mapping({**KEY, "first_name": {"template": "{{ tags.append('x') }}"}}, FIELDS)
    with pytest.raises(RecordError) as info:
        compiled.apply(record)
    assert info.value.code == "mapping_error"
    assert record["tags"] == ["vip"]


def test_template_output_over_the_size_cap_fails_the_record() -> None:
    error = record_error({"template": "{{ 'a' * 100000 }}"}, {})
    assert error.code == "mapping_error"
    assert "over the limit" in error.message


def test_template_with_a_huge_range_fails_the_record_instead_of_hanging() -> None:
    error = record_error({"template": "{% for i in range(10**9) %}x{% endfor %}"}, {})
    assert error.code == "mapping_error"


# --- transforms --------------------------------------------------------------------------------


def test_trim_strips_surrounding_whitespace() -> None:
    assert value({"path": "n", "transform": ["trim"]}, {"n": "  Ann \t"}) == "Ann"


def test_lower_lowercases() -> None:
    assert value({"path": "n", "transform": ["lower"]}, {"n": "GoLD"}) == "gold"


def test_upper_uppercases() -> None:
    assert value({"path": "n", "transform": ["upper"]}, {"n": "gold"}) == "GOLD"


def test_case_transforms_apply_to_each_item_of_a_list() -> None:
    assert value({"path": "t", "transform": ["lower"]}, {"t": ["VIP", "News"]}, field="tags") == [
        "vip",
        "news",
    ]


def test_transforms_run_in_the_order_given() -> None:
    assert value({"path": "n", "transform": ["trim", "upper"]}, {"n": " ann "}) == "ANN"


def test_a_single_transform_may_be_given_without_a_list() -> None:
    assert value({"path": "n", "transform": "upper"}, {"n": "ann"}) == "ANN"


@pytest.mark.parametrize("transform", ["trim", "lower", "upper", "e164", "to_string", "to_number", "sha256"])
def test_transforms_leave_an_absent_value_absent(transform: str) -> None:
    assert value({"path": "missing", "transform": [transform]}, {}) is None


def test_e164_turns_a_german_national_number_into_international_format() -> None:
    spec = {"path": "phone", "transform": [{"e164": {"region": "DE"}}]}
    assert value(spec, {"phone": "0151 12345678"}, field="phone_number") == "+4915112345678"


def test_e164_turns_a_us_national_number_into_international_format() -> None:
    spec = {"path": "phone", "transform": [{"e164": {"region": "US"}}]}
    assert value(spec, {"phone": "(212) 555-0199"}, field="phone_number") == "+12125550199"


def test_e164_accepts_the_region_in_lower_case() -> None:
    spec = {"path": "phone", "transform": [{"e164": {"region": "de"}}]}
    assert value(spec, {"phone": "0151 12345678"}, field="phone_number") == "+4915112345678"


def test_e164_without_a_region_normalises_an_international_number() -> None:
    spec = {"path": "phone", "transform": ["e164"]}
    assert value(spec, {"phone": "+49 (151) 1234-5678"}, field="phone_number") == "+4915112345678"


def test_e164_leaves_an_e164_number_unchanged() -> None:
    spec = {"path": "phone", "transform": [{"e164": {"region": "DE"}}]}
    assert value(spec, {"phone": "+14155552671"}, field="phone_number") == "+14155552671"


def test_e164_fails_an_unparseable_value_with_invalid_phone() -> None:
    error = record_error(
        {"path": "phone", "transform": [{"e164": {"region": "DE"}}]},
        {"phone": "not a phone"},
        field="phone_number",
    )
    assert (error.code, error.field) == ("invalid_phone", "phone_number")
    assert "'not a phone'" in error.message
    assert "+14155552671" in error.message


def test_e164_without_a_region_fails_a_national_number_and_says_to_set_one() -> None:
    error = record_error(
        {"path": "phone", "transform": ["e164"]}, {"phone": "0151 1234567"}, field="phone_number"
    )
    assert (error.code, error.field) == ("invalid_phone", "phone_number")
    assert "region" in error.message


def test_e164_fails_a_number_too_short_to_be_a_phone_number() -> None:
    # "+49123" is what a naive parse of "123" gives; it is not E.164 by seed 004's rule
    # (7 to 15 digits after the +), so the transform must not hand it on as a phone number.
    error = record_error(
        {"path": "phone", "transform": [{"e164": {"region": "DE"}}]}, {"phone": "123"}, field="phone_number"
    )
    assert (error.code, error.field) == ("invalid_phone", "phone_number")


def test_split_breaks_a_string_on_commas_by_default() -> None:
    assert value({"path": "t", "transform": ["split"]}, {"t": "vip, newsletter"}, field="tags") == [
        "vip",
        "newsletter",
    ]


def test_split_uses_the_given_separator_and_drops_empty_parts() -> None:
    assert value({"path": "t", "transform": [{"split": ";"}]}, {"t": "vip; ;news;"}, field="tags") == [
        "vip",
        "news",
    ]


def test_join_joins_a_list_with_the_given_separator() -> None:
    assert value({"path": "t", "transform": [{"join": " | "}]}, {"t": ["a", "b", "c"]}) == "a | b | c"


def test_date_converts_between_the_given_formats() -> None:
    spec = {"path": "d", "transform": [{"date": {"from": "%d/%m/%Y", "to": "%Y-%m-%d"}}]}
    assert value(spec, {"d": "31/12/2024"}) == "2024-12-31"


def test_date_reads_iso_timestamps_with_z_by_default() -> None:
    spec = {"path": "d", "transform": [{"date": {"to": "%d.%m.%Y"}}]}
    assert value(spec, {"d": "2024-12-31T10:00:00Z"}) == "31.12.2024"


def test_date_writes_iso_when_asked() -> None:
    spec = {"path": "d", "transform": [{"date": {"from": "%d/%m/%Y", "to": "iso"}}]}
    assert value(spec, {"d": "31/12/2024"}) == "2024-12-31T00:00:00"


def test_date_fails_a_value_not_in_the_from_format_with_invalid_value() -> None:
    error = record_error(
        {"path": "d", "transform": [{"date": {"from": "%d/%m/%Y", "to": "%Y-%m-%d"}}]}, {"d": "2024-12-31"}
    )
    assert (error.code, error.field) == ("invalid_value", "first_name")
    assert "'2024-12-31'" in error.message


@pytest.mark.parametrize(
    ("given", "expected"), [(42, "42"), (42.0, "42"), (12.5, "12.5"), (True, "true"), ("x", "x")]
)
def test_to_string_gives_the_plain_text_form(given: Any, expected: str) -> None:
    assert value({"path": "v", "transform": ["to_string"]}, {"v": given}) == expected


@pytest.mark.parametrize(("given", "expected"), [("42", 42), (" 12.50 ", 12.5), (7, 7), ("1e3", 1000.0)])
def test_to_number_parses_numeric_text(given: Any, expected: float) -> None:
    result = value({"path": "v", "transform": ["to_number"]}, {"v": given})
    assert result == expected
    assert type(result) is type(expected)


def test_to_number_fails_text_that_is_not_a_number_with_type_mismatch() -> None:
    error = record_error({"path": "v", "transform": ["to_number"]}, {"v": "abc"})
    assert (error.code, error.field) == ("type_mismatch", "first_name")
    assert "'abc'" in error.message


def test_sha256_hashes_the_trimmed_lowercased_value_by_default() -> None:
    expected = hashlib.sha256(b"ann@example.com").hexdigest()
    assert value({"path": "e", "transform": ["sha256"]}, {"e": "  Ann@Example.COM "}) == expected


def test_sha256_hashes_the_value_as_is_when_normalize_is_off() -> None:
    expected = hashlib.sha256(b" Ann ").hexdigest()
    assert value({"path": "e", "transform": [{"sha256": {"normalize": False}}]}, {"e": " Ann "}) == expected


# --- object fields -----------------------------------------------------------------------------


def test_object_field_key_by_key_takes_each_key_from_its_own_mapping() -> None:
    spec = {
        "loyalty_tier": {"path": "attributes.tier", "transform": ["lower"]},
        "zeotap_audience_name": {"const": "Summer VIP"},
    }
    result = value(spec, {"attributes": {"tier": "GOLD"}}, field="custom_properties")
    assert result == {"loyalty_tier": "gold", "zeotap_audience_name": "Summer VIP"}


def test_object_field_key_by_key_leaves_out_absent_and_empty_keys() -> None:
    spec = {"loyalty_tier": "tier", "plan": "plan", "score": "score"}
    assert value(spec, {"tier": "gold", "plan": ""}, field="custom_properties") == {"loyalty_tier": "gold"}


def test_object_field_key_by_key_with_every_key_absent_is_absent() -> None:
    assert value({"loyalty_tier": "tier"}, {}, field="custom_properties") is None


def test_object_field_from_a_path_takes_the_whole_object() -> None:
    assert value("props", {"props": {"plan": "pro"}}, field="custom_properties") == {"plan": "pro"}


def test_object_field_accepts_a_json_object_string() -> None:
    assert value("props", {"props": '{"plan": "pro", "score": 3}'}, field="custom_properties") == {
        "plan": "pro",
        "score": 3,
    }


def test_object_field_fails_a_value_that_is_not_an_object_with_type_mismatch() -> None:
    error = record_error("props", {"props": 42}, field="custom_properties")
    assert (error.code, error.field) == ("type_mismatch", "custom_properties")


# --- array fields ------------------------------------------------------------------------------


def test_array_field_takes_a_list_as_is() -> None:
    assert value("segments", {"segments": ["vip", "984"]}, field="tags") == ["vip", "984"]


def test_array_field_parses_a_json_array_string() -> None:
    assert value("segments", {"segments": '["vip", "984"]'}, field="tags") == ["vip", "984"]


def test_array_field_splits_a_comma_separated_string() -> None:
    assert value("segments", {"segments": "vip, 984 ,newsletter"}, field="tags") == [
        "vip",
        "984",
        "newsletter",
    ]


def test_array_field_wraps_a_single_value_in_a_list() -> None:
    assert value("segments", {"segments": "vip"}, field="tags") == ["vip"]


def test_array_field_from_an_empty_string_is_absent() -> None:
    assert value("segments", {"segments": "  "}, field="tags") is None


def test_array_field_fails_a_malformed_json_array_with_type_mismatch() -> None:
    error = record_error("segments", {"segments": '["vip", '}, field="tags")
    assert (error.code, error.field) == ("type_mismatch", "tags")


# --- mapping config errors ---------------------------------------------------------------------


def test_unknown_destination_field_is_a_config_error_suggesting_the_closest_field() -> None:
    issue = only_issue({**KEY, "frist_name": "first"})
    assert issue.key == "mapping.frist_name"
    assert "'frist_name' is not a field" in issue.message
    assert issue.fix == "did you mean 'first_name'?"


def test_unknown_destination_field_like_phone_suggests_phone_number() -> None:
    issue = only_issue({**KEY, "phone": "phone"})
    assert issue.key == "mapping.phone"
    assert issue.fix == "did you mean 'phone_number'?"


def test_unknown_destination_field_with_no_close_match_lists_the_fields() -> None:
    issue = only_issue({**KEY, "zzz": "x"})
    assert issue.key == "mapping.zzz"
    assert "external_reference_id" in issue.fix
    assert "custom_properties" in issue.fix


def test_missing_required_field_is_a_config_error_saying_to_map_it() -> None:
    issue = only_issue({"first_name": "first"})
    assert issue.key == "mapping.external_reference_id"
    assert "required" in issue.message
    assert "add `external_reference_id: <source path>`" in issue.fix


def test_empty_mapping_is_a_config_error_naming_the_required_fields() -> None:
    issue = only_issue({})
    assert issue.key == "mapping"
    assert "external_reference_id" in issue.fix


def test_template_that_does_not_compile_is_a_config_error() -> None:
    issue = only_issue({**KEY, "first_name": {"template": "{{ first "}})
    assert issue.key == "mapping.first_name.template"
    assert "does not compile" in issue.message
    assert "Jinja2 syntax" in issue.fix


def test_unknown_transform_is_a_config_error_listing_the_known_ones() -> None:
    issue = only_issue({**KEY, "first_name": {"path": "first", "transform": ["trim", "lowercase"]}})
    assert issue.key == "mapping.first_name.transform[1]"
    assert "unknown transform 'lowercase'" in issue.message
    assert "lower" in issue.message
    assert "transform" in issue.fix


@pytest.mark.parametrize(
    ("transform", "says"),
    [
        ({"e164": {"region": "XX"}}, "'XX' is not a region"),
        ({"e164": {"country": "DE"}}, "has no option 'country'"),
        ({"date": {"from": "iso"}}, "transform 'date' takes {from:"),
        ({"trim": {"chars": " "}}, "transform 'trim' takes no arguments"),
        ({"split": ""}, "non-empty separator"),
        ({"lower": True, "upper": True}, "one-key mapping"),
    ],
)
def test_bad_transform_arguments_are_a_config_error(transform: Any, says: str) -> None:
    issue = only_issue({**KEY, "first_name": {"path": "first", "transform": [transform]}})
    assert issue.key == "mapping.first_name.transform[0]"
    assert says in issue.message
    assert issue.fix


def test_both_path_and_const_is_a_config_error_saying_to_keep_one() -> None:
    issue = only_issue({**KEY, "first_name": {"path": "first", "const": "Ann"}})
    assert issue.key == "mapping.first_name"
    assert "exactly one of path, const or template (it has path, const)" in issue.message
    assert "keep one source" in issue.fix


def test_a_field_mapping_without_a_source_is_a_config_error() -> None:
    issue = only_issue({**KEY, "first_name": {"default": "Ann"}})
    assert issue.key == "mapping.first_name"
    assert "exactly one of path, const or template" in issue.message


def test_misspelled_mapping_option_is_a_config_error_suggesting_the_option() -> None:
    issue = only_issue({**KEY, "first_name": {"pth": "first"}})
    assert issue.key == "mapping.first_name.pth"
    assert issue.fix == "did you mean 'path'?"


def test_bare_number_as_a_mapping_is_a_config_error_suggesting_const() -> None:
    issue = only_issue({**KEY, "first_name": 5})
    assert issue.key == "mapping.first_name"
    assert issue.fix == "write {const: 5} for a constant value."


def test_error_inside_a_key_by_key_object_names_the_object_key() -> None:
    issue = only_issue({**KEY, "custom_properties": {"plan": {"path": "plan", "const": "pro"}}})
    assert issue.key == "mapping.custom_properties.plan"


def test_every_problem_in_a_mapping_is_reported_together() -> None:
    found = issues(
        {
            "frist_name": "first",
            "phone_number": {"path": "phone", "transform": ["lowercase"]},
            "last_name": {"template": "{{ last "},
            "middle_name": {"path": "m", "const": "x"},
        }
    )
    assert sorted(i.key for i in found) == [
        "mapping.external_reference_id",
        "mapping.frist_name",
        "mapping.last_name.template",
        "mapping.middle_name",
        "mapping.phone_number.transform[0]",
    ]


def test_mapping_config_error_message_holds_each_issue_and_its_fix() -> None:
    with pytest.raises(MappingConfigError) as info:
        compile_mapping({**KEY, "frist_name": "first"}, FIELDS)
    assert (
        str(info.value)
        == "mapping.frist_name: 'frist_name' is not a field of this action. Fix: did you mean 'first_name'?"
    )
