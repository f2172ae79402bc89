"""Record templates that build objects from several parts: `{$merge: [...]}` merges objects left to
right (a later key wins, an absent part adds nothing, an empty result is absent), and an object key
written as a template over settings (`"{{ settings.list_id }}": $subscribed`) is the setting's value."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.runtime import build_sync
from destkit.runtime.errors import SpecError
from destkit.runtime.spec.loader import parse_spec

SPEC = """\
spec_version: 1
id: members
name: Members
base_url: "https://api.example.com"
settings:
  list_id: {type: string, pattern: "^[a-z0-9]+$"}
auth: {kind: none}
actions:
  upsert:
    title: Upsert members
    fields:
      email: {type: string, required: true}
      first_name: {type: string}
      custom_properties: {type: object}
      subscribed: {type: boolean}
    batch: {max_records: 100}
    request:
      path: /members
      body: {members: $records}
      record:
        email: $email
        properties: {$merge: [$custom_properties, {first_name: $first_name}]}
        lists: {"{{ settings.list_id }}": $subscribed}
"""

CONFIG = {"destination": "members", "action": "upsert", "settings": {"list_id": "abc123"},
          "mapping": {"email": "email", "first_name": "first_name", "custom_properties": "custom",
                      "subscribed": "subscribed"}}


def sent(*records: dict[str, Any], spec: str = SPEC) -> list[Any]:
    sync = build_sync(CONFIG, spec=parse_spec(spec, "members.yaml"))
    (request,) = sync.dry_run(list(records)).requests
    members: list[Any] = request.json()["members"]
    return members


def test_custom_properties_are_merged_with_the_named_fields() -> None:
    assert sent({"email": "a@x.io", "first_name": "Ann", "custom": {"plan": "pro"}})[0]["properties"] == {
        "plan": "pro", "first_name": "Ann"}


def test_a_later_entry_wins_a_key_both_have() -> None:
    assert sent({"email": "a@x.io", "first_name": "Ann", "custom": {"first_name": "Annie"}})[0]["properties"] == {
        "first_name": "Ann"}


def test_an_earlier_entry_keeps_its_key_when_the_later_value_is_absent() -> None:
    assert sent({"email": "a@x.io", "custom": {"first_name": "Annie"}})[0]["properties"] == {"first_name": "Annie"}


def test_an_absent_object_adds_nothing() -> None:
    assert sent({"email": "a@x.io", "first_name": "Ann"})[0]["properties"] == {"first_name": "Ann"}


def test_an_empty_merge_leaves_the_key_out() -> None:
    assert sent({"email": "a@x.io", "custom": {}}) == [{"email": "a@x.io"}]


def test_a_key_template_is_the_settings_value() -> None:
    assert sent({"email": "a@x.io", "subscribed": True})[0]["lists"] == {"abc123": True}


def test_a_key_template_with_an_absent_value_leaves_the_object_out() -> None:
    assert "lists" not in sent({"email": "a@x.io"})[0]


def test_merging_a_field_that_is_not_an_object_is_a_spec_error() -> None:
    text = SPEC.replace("[$custom_properties, {first_name: $first_name}]", "[$custom_properties, $first_name]")
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "members.yaml")
    assert [i.message for i in caught.value.issues] == [
        "$merge: $first_name is a field of type string, not an object."]


def test_merging_a_constant_is_a_spec_error() -> None:
    text = SPEC.replace("[$custom_properties, {first_name: $first_name}]", "[$custom_properties, plain]")
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "members.yaml")
    assert [i.message for i in caught.value.issues] == ["$merge: 'plain' is not an object."]


def test_a_key_template_reading_an_undeclared_setting_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(SPEC.replace('"{{ settings.list_id }}": $subscribed', '"{{ settings.audience }}": $subscribed'),
                   "members.yaml")
    assert [i.message for i in caught.value.issues] == [
        "the key '{{ settings.audience }}' reads settings.audience, which is not a setting of this spec."]
