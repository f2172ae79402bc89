"""The reason codes mapping and the record checks produce (`MappingReason`) belong to the outcome contract.

mapping may not import the runtime, so it names its own reasons; every one must also be a
`Reason` of `destkit.runtime.outcomes`, or a record's outcome would carry a code no report knows.
"""

from __future__ import annotations

from typing import Any

import pytest

from destkit.mapping import (
    FieldShape,
    MappingReason,
    RecordError,
    TransformError,
    build_transform,
    compile_mapping,
)
from destkit.runtime import build_sync, load_spec
from destkit.runtime.outcomes import Reason
from destkit.runtime.record.checks import Catalog


def test_every_mapping_reason_is_an_outcome_reason() -> None:
    assert {r.value for r in MappingReason} <= {r.value for r in Reason}


def test_a_transform_failure_carries_a_mapping_reason_member() -> None:
    with pytest.raises(TransformError) as info:
        build_transform("to_number")("twelve")
    assert info.value.code is MappingReason.TYPE_MISMATCH


def test_a_mapping_failure_names_the_field_with_a_mapping_reason_member() -> None:
    compiled = compile_mapping({"age": {"path": "age", "transform": "to_number"}}, {"age": FieldShape(("number",))})
    with pytest.raises(RecordError) as info:
        compiled.apply({"age": "twelve"})
    assert (info.value.code, info.value.field) == (MappingReason.TYPE_MISMATCH, "age")


def test_a_catalog_reason_is_the_mapping_reason_its_spec_names() -> None:
    catalog = Catalog("tags", frozenset({"vip"}), spec=load_spec("hello_charles").catalogs["tags"])
    assert catalog.reason is MappingReason.UNKNOWN_TAG


def test_a_catalog_without_a_spec_has_the_reason_unknown_value() -> None:
    assert Catalog("colours", frozenset({"red"})).reason is MappingReason.UNKNOWN_VALUE


def test_a_failed_record_check_becomes_the_runtime_reason_member_of_the_same_code() -> None:
    config: dict[str, Any] = {
        "destination": "hello_charles",
        "action": "send_contacts",
        "settings": {"subdomain": "acme"},
        "secrets": {"api_key": "test-key"},
        "mapping": {"external_reference_id": "id", "phone_number": "phone"},
        "catalogs": {"tags": ["vip"], "custom_properties": {"plan": "Plan"}},
    }
    [item] = build_sync(config).preview([{"id": "c1", "phone": "415-555-0101"}], 1, offline=True)
    assert item.outcome is not None
    assert item.outcome.reason is Reason.INVALID_PHONE
