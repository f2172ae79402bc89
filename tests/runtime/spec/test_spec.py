"""The spec language: the bundled specs load, the JSON Schema is current, errors name line and key."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
import yaml

from destkit.runtime import SpecError, bundled_spec_names, load_spec
from destkit.runtime.spec.loader import parse_spec
from destkit.runtime.spec.schema import render


def _bundled(name: str) -> str:
    return resources.files("destkit.specs").joinpath(name).read_text(encoding="utf-8")


def test_checked_in_json_schema_is_generated_from_the_models() -> None:
    assert _bundled("destination-spec.schema.json") == render(), (
        "specs/destination-spec.schema.json is stale: run `python -m destkit.runtime.spec.schema --write`")


@pytest.mark.parametrize("name", bundled_spec_names())
def test_every_bundled_spec_validates_against_the_json_schema(name: str) -> None:
    schema = json.loads(_bundled("destination-spec.schema.json"))
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(_bundled(f"{name}.yaml")))


@pytest.mark.parametrize("name", bundled_spec_names())
def test_every_bundled_spec_loads(name: str) -> None:
    assert load_spec(name).id == name


def test_hello_charles_send_contacts_has_zeotaps_fields_plus_middle_name() -> None:
    action = load_spec("hello_charles").actions["send_contacts"]
    assert list(action.fields) == ["external_reference_id", "first_name", "middle_name", "last_name",
                                   "phone_number", "email_address", "tags", "custom_properties"]
    assert [n for n, f in action.fields.items() if f.required] == ["external_reference_id"]
    assert (action.batch.max_records, action.request.method, action.request.path) == (1000, "PUT", "/api/v1beta/contacts/batch")


SPEC_HEAD = """spec_version: 1
id: demo
name: Demo
base_url: "https://api.example.com"
auth: {kind: api_key, name: x-api-key, value: "{{ secrets.key }}"}
"""


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "demo.yaml")
    return info.value


def test_unknown_key_error_names_file_line_and_key() -> None:
    error = _error(SPEC_HEAD + """actions:
  send:
    title: Send
    fields: {id: {type: string, required: true}}
    batchsize: 10
    request: {path: /x, record: {id: $id}}
""")
    [issue] = error.issues
    assert (issue.file, issue.line, issue.key) == ("demo.yaml", 10, "actions.send.batchsize")
    assert "is not a key the spec language knows" in issue.message


def test_record_body_referring_to_an_unknown_field_is_an_error() -> None:
    error = _error(SPEC_HEAD + """actions:
  send:
    title: Send
    fields: {id: {type: string, required: true}}
    request: {path: /x, record: {id: $id, name: $nmae}}
""")
    [issue] = error.issues
    assert issue.key == "actions.send.request.record"
    assert "$nmae is not a field" in issue.message


def test_field_naming_an_undeclared_catalog_is_an_error() -> None:
    error = _error(SPEC_HEAD + """actions:
  send:
    title: Send
    fields: {id: {type: string, required: true}, tags: {type: array, catalog: tags}}
    request: {path: /x, record: {id: $id}}
""")
    assert "names catalog 'tags'" in error.issues[0].message


def test_body_without_records_placeholder_is_an_error() -> None:
    error = _error(SPEC_HEAD + """actions:
  send:
    title: Send
    fields: {id: {type: string, required: true}}
    request: {path: /x, body: {contacts: []}, record: {id: $id}}
""")
    assert error.issues[0].key == "actions.send.request.body"


def test_invalid_yaml_error_has_a_line() -> None:
    error = _error("spec_version: 1\nid: [unclosed\n")
    assert error.issues[0].line is not None
