"""The loader's semantic checks (`check_semantics`): what the schema cannot say about a spec.

Each issue names the file, the line and the key; these tests pin the exact text an author reads.
"""

from __future__ import annotations

import pytest

from destkit.runtime.errors import SpecError
from destkit.runtime.spec import DestinationSpec, parse_spec

GOOD = """\
spec_version: 1
id: demo
name: Demo
settings:
  region: {type: string, enum: [eu, us], default: eu}
base_url: "https://api.example.com"
auth: {kind: none}
actions:
  send:
    title: Send
    fields:
      id: {type: string, required: true}
      email: {type: string}
    batch: {max_records: 100}
    request:
      path: /v1/contacts
      body: {items: $records}
      record: {id: $id, email: $email}
"""


def issues_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "demo.yaml")
    return [str(issue) for issue in info.value.issues]


def changed(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


def test_the_good_spec_of_these_tests_loads() -> None:
    assert isinstance(parse_spec(GOOD, "demo.yaml"), DestinationSpec)


def test_records_placeholder_in_the_record_body_is_an_error() -> None:
    assert issues_of(changed("record: {id: $id, email: $email}", "record: {id: $id, all: $records}")) == [
        "demo.yaml:18: actions.send.request.record: $records belongs in request.body, not in the record body.",
    ]


def test_unknown_setting_in_the_record_body_is_an_error() -> None:
    assert issues_of(changed("email: $email}", "email: $settings.regoin}")) == [
        "demo.yaml:18: actions.send.request.record: $settings.regoin is not a setting of this spec. "
        "Fix: declare it under settings.",
    ]


def test_a_body_with_record_must_send_one_record_per_request() -> None:
    assert issues_of(changed("body: {items: $records}", "body: {item: $record}")) == [
        "demo.yaml:14: actions.send.batch.max_records: a body with $record sends one record per request, "
        "so max_records must be 1.",
    ]


def test_a_field_in_the_request_body_is_an_error() -> None:
    assert issues_of(changed("body: {items: $records}", "body: {items: $records, id: $id}")) == [
        "demo.yaml:17: actions.send.request.body: $id: fields belong in `record:`, "
        "the body only takes $records and $settings.",
        "demo.yaml:17: actions.send.request.body: $id cannot stand in the request body; use it in `record:`.",
    ]


def test_a_batch_key_that_is_not_a_field_is_an_error() -> None:
    assert issues_of(changed("batch: {max_records: 100}", "batch: {max_records: 100, key: uid}")) == [
        "demo.yaml:14: actions.send.batch.key: 'uid' is not a field of this action.",
    ]


def test_a_response_match_key_that_is_not_a_field_is_an_error() -> None:
    text = GOOD + "    response: {results: data, match: {key: uid}}\n"
    assert issues_of(text) == [
        "demo.yaml:19: actions.send.response.match.key: 'uid' is not a field of this action.",
    ]


def test_a_path_parameter_that_is_not_a_field_is_an_error() -> None:
    text = changed("batch: {max_records: 100}", "batch: {max_records: 1}").replace(
        "path: /v1/contacts", 'path: "/v1/contacts/{uid}"'
    )
    assert issues_of(text) == [
        "demo.yaml:16: actions.send.request.path: {uid} in the path is not a field of this action.",
    ]


def test_a_request_without_a_body_must_send_one_record_per_request() -> None:
    text = changed("body: {items: $records}", "body: null").replace("record: {id: $id, email: $email}", "method: DELETE")
    assert issues_of(text) == [
        "demo.yaml:14: actions.send.batch.max_records: a request without a body sends one record per request, "
        "so max_records must be 1.",
    ]


def test_a_constraint_naming_an_unknown_field_is_an_error() -> None:
    text = GOOD + "    constraints:\n      - one_of: [id, phone]\n"
    assert issues_of(text) == [
        "demo.yaml:20: actions.send.constraints.0.one_of: 'phone' is not a field of this action.",
    ]


def test_resolve_needs_a_batch_key_naming_another_field() -> None:
    text = changed("email: {type: string}", "email: {type: string, resolve: destination_id}")
    assert issues_of(text) == [
        "demo.yaml:13: actions.send.fields.email.resolve: resolve looks the value up by the record's key: "
        "set batch.key to the key field.",
    ]


def test_the_base_url_must_use_https() -> None:
    assert issues_of(changed("https://api.example.com", "http://api.example.com")) == [
        "demo.yaml:6: base_url: the base URL must use https. Fix: write https://...",
    ]


def test_a_template_that_does_not_compile_names_its_key() -> None:
    [issue] = issues_of(changed("path: /v1/contacts", 'path: "/v1/{{ settings.region"'))
    assert issue.startswith("demo.yaml:16: actions.send.request.path: ")
    assert issue.endswith(" Fix: fix the Jinja2 syntax.")


def test_a_variant_on_an_unknown_setting_is_an_error() -> None:
    text = GOOD + "    variants:\n      - when: {setting: mode, equals: single}\n        batch: {max_records: 1}\n"
    assert issues_of(text) == [
        "demo.yaml:20: actions.send.variants.0.when.setting: 'mode' is not a setting of this spec.",
    ]


def test_a_variant_is_checked_as_the_action_it_sends() -> None:
    text = GOOD + (
        "    variants:\n"
        "      - when: {setting: region, equals: us}\n"
        "        request: {path: /v1/contact, body: {item: $record}, record: {id: $id}}\n"
    )
    assert issues_of(text) == [
        "demo.yaml:20: actions.send.variants.0.batch.max_records: a body with $record sends one record "
        "per request, so max_records must be 1.",
    ]


def test_a_variant_is_not_checked_while_its_action_has_issues() -> None:
    text = changed("batch: {max_records: 100}", "batch: {max_records: 100, key: uid}") + (
        "    variants:\n"
        "      - when: {setting: region, equals: us}\n"
        "        request: {path: /v1/contact, body: {item: $record}, record: {id: $id}}\n"
    )
    assert issues_of(text) == [
        "demo.yaml:14: actions.send.batch.key: 'uid' is not a field of this action.",
    ]


def test_a_spec_that_is_not_a_mapping_is_an_error() -> None:
    assert issues_of("- just\n- a list\n") == [
        "demo.yaml:1: (root): a spec must be a mapping with spec_version, id, actions, ...",
    ]


def test_a_missing_key_says_to_add_it() -> None:
    assert issues_of(changed("    title: Send\n", "")) == [
        "demo.yaml:9: actions.send.title: Field required. Fix: add it.",
    ]


def test_an_unknown_key_under_auth_is_named_without_the_auth_kind() -> None:
    text = changed("auth: {kind: none}", 'auth: {kind: jwt, secret: "{{ secrets.key }}", ttl: 60}')
    assert issues_of(text) == [
        "demo.yaml:7: auth.ttl: 'ttl' is not a key the spec language knows. "
        "Fix: remove it or check its spelling against destination-spec.schema.json.",
    ]
