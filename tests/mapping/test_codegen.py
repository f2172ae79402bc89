"""One code generator for the mapping and the record checks (`destkit.mapping.codegen.CodeGen`).

The mapping compiler builds its functions in a CodeGen and keeps it; the record compiler
continues it with `child()`, so the mapping's expressions are inlined next to the checks with
every name they use already bound and no name of the checks able to clash with one of theirs.
"""

from __future__ import annotations

from typing import Any

import pytest

from destkit.mapping.codegen import CodeGen
from destkit.runtime import build_sync


def test_a_value_is_bound_to_a_name_never_written_into_the_source() -> None:
    gen = CodeGen()
    name = gen.const("'); import os; ('")
    gen.emit(f"return {name}")
    fn, source = gen.build("f", "", "<test>")
    assert fn() == "'); import os; ('"
    assert source == "def f():\n    return _c1"


def test_build_consumes_the_emitted_lines() -> None:
    gen = CodeGen()
    gen.emit("return 1")
    gen.build("one", "", "<test>")
    _, source = gen.build("empty", "", "<test>")
    assert source == "def empty():\n    pass"


def test_a_child_sees_every_name_bound_in_its_parent() -> None:
    parent = CodeGen()
    name = parent.const(42)
    child = parent.child()
    child.emit(f"return {name}")
    fn, _ = child.build("f", "", "<test>")
    assert fn() == 42


def test_a_child_makes_no_name_its_parent_made() -> None:
    parent = CodeGen()
    made = {parent.const(1), parent.var(), parent.const(2, "k")}
    child = parent.child()
    assert {child.const(3), child.var(), child.const(4, "k")}.isdisjoint(made)


def test_building_in_a_child_leaves_the_parent_namespace_unchanged() -> None:
    parent = CodeGen()
    parent.const(1)
    before = dict(parent.ns)
    child = parent.child()
    child.const(2)
    child.emit("return None")
    child.build("f", "", "<test>")
    assert parent.ns == before


def test_binding_a_fixed_name_again_to_the_same_object_is_allowed() -> None:
    gen = CodeGen()
    gen.bind("_len", len)
    assert gen.bind("_len", len) == "_len"


def test_binding_a_fixed_name_to_another_object_is_refused() -> None:
    gen = CodeGen()
    gen.bind("_len", len)
    with pytest.raises(ValueError, match="_len is already bound"):
        gen.bind("_len", abs)


def _preview_bodies(mapping: dict[str, Any], records: list[dict[str, Any]]) -> list[Any]:
    config: dict[str, Any] = {
        "destination": "hello_charles",
        "action": "send_contacts",
        "settings": {"subdomain": "acme"},
        "secrets": {"api_key": "test-key"},
        "mapping": mapping,
        "catalogs": {"tags": ["vip"], "custom_properties": {"plan": "Plan"}},
    }
    items = build_sync(config).preview(records, len(records), offline=True)
    assert [i.outcome for i in items] == [None] * len(records)
    return [i.body for i in items]


def test_mapping_defaults_inlined_into_the_record_function_are_sent() -> None:
    # each default's temporary gets its own name, apart from the helpers of the record function
    mapping = {"external_reference_id": "id",
               "first_name": {"path": "first_name", "default": "Friend"},
               "last_name": {"path": "last_name", "default": "Doe"}}
    bodies = _preview_bodies(mapping, [{"id": "c1"}, {"id": "c2", "first_name": "Ann"}])
    assert bodies == [
        {"external_reference_id": "c1", "source_type": "zeotap", "first_name": "Friend", "last_name": "Doe"},
        {"external_reference_id": "c2", "source_type": "zeotap", "first_name": "Ann", "last_name": "Doe"},
    ]


def test_an_object_mapped_key_by_key_is_inlined_into_the_record_function() -> None:
    mapping = {"external_reference_id": "id", "tags": {"const": "vip"},
               "custom_properties": {"plan": {"path": "tier", "default": "free"}}}
    assert _preview_bodies(mapping, [{"id": "c1"}]) == [
        {"external_reference_id": "c1", "source_type": "zeotap", "tags": ["vip"], "custom_properties": {"plan": "free"}},
    ]
