"""A mapping's config errors speak YAML and point at the real problem: an empty value, a constant written
bare, a known transform given a wrong argument; an object field given a list says what to map."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.mapping import FieldShape, MappingConfigError, RecordError, compile_mapping
from destkit.runtime import load_spec

FIELDS: dict[str, FieldShape] = {
    name: FieldShape(f.types, f.required)
    for name, f in load_spec("hello_charles").actions["send_contacts"].fields.items()
}


def issues(first_name: Any) -> list[tuple[str, str, str]]:
    with pytest.raises(MappingConfigError) as info:
        compile_mapping({"external_reference_id": "id", "first_name": first_name}, FIELDS)
    return [(i.key, i.message, i.fix) for i in info.value.issues]


def test_an_empty_mapping_value_says_to_give_a_path_or_remove_the_line() -> None:
    assert issues(None) == [("mapping.first_name", "null is not a mapping.",
                             "give a source path (e.g. `first_name: fname`), or remove the line to leave the field unmapped.")]


def test_a_bare_boolean_is_suggested_as_a_yaml_constant() -> None:
    assert issues(True) == [("mapping.first_name", "true is not a mapping.", "write {const: true} for a constant value.")]


def test_a_known_transform_with_a_wrong_argument_is_not_answered_with_its_own_name() -> None:
    [(key, message, fix)] = issues({"path": "fname", "transform": {"split": 5}})
    assert (key, message) == ("mapping.first_name.transform[0]",
                              "transform 'split' takes a non-empty separator string, e.g. {split: ';'}.")
    assert fix == "give 'split' the argument its message names (the README lists each transform's arguments)."


def test_a_list_given_to_an_object_field_says_what_to_map() -> None:
    compiled = compile_mapping({"external_reference_id": "id", "custom_properties": "props"}, FIELDS)
    with pytest.raises(RecordError) as info:
        compiled.apply({"id": "c1", "props": [1, 2]})
    assert (info.value.field, info.value.code, str(info.value)) == (
        "custom_properties", "type_mismatch",
        "expected an object of key/value pairs, got list; map an object (or a text cell holding a JSON object) to this field")
