"""The breakage builders: one per way to break a field, each offering its breakage only where the
field's schema makes it possible, with a `Reason` member as the expected reason code."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from destkit.runtime.outcomes import Reason
from destkit.runtime.spec.loader import load_spec
from destkit.runtime.spec.models import FieldSchema
from destkit.testing import breakages
from destkit.testing.breakage_builders import BREAKAGE_BUILDERS, FieldUnderTest, too_long
from destkit.testing.expectations import ecma_pattern, string_reason


def _spec(tmp_path: Path, fields: str, catalogs: str = "") -> Path:
    path = tmp_path / "shapes.yaml"
    path.write_text(
        textwrap.dedent("""\
        spec_version: 1
        id: shapes
        name: Shapes
        base_url: https://shapes.example.com
        auth: {kind: none}
        """)
        + catalogs
        + textwrap.dedent("""\
        actions:
          send:
            title: Send
            fields:
              id: {type: string, required: true}
        """)
        + textwrap.indent(textwrap.dedent(fields), " " * 6)
        + "    request: {method: POST, path: /shapes, record: {id: $id}}\n",
        encoding="utf-8",
    )
    return path


def _offered(tmp_path: Path, fields: str, catalogs: str = "", given: Any = None) -> list[tuple[str, Reason]]:
    return [(b.label, b.reason) for b in breakages(_spec(tmp_path, fields, catalogs), "send", given) if b.field != "id"]


def test_every_builder_is_registered_once() -> None:
    names = [b.__name__ for b in BREAKAGE_BUILDERS]
    assert len(names) == len(set(names)) == 17


def test_an_integer_enum_offers_the_number_past_its_largest_value(tmp_path: Path) -> None:
    found = breakages(_spec(tmp_path, "level: {type: integer, enum: [1, 2, 5]}\n"), "send")
    [beyond] = [b for b in found if b.label == "not_in_enum(level)"]
    assert repr(beyond.values) == "just(6)"
    assert _offered(tmp_path, "level: {type: integer, enum: [1, 2, 5]}\n") == [
        ("wrong_type(level)", Reason.TYPE_MISMATCH),
        ("not_in_enum(level)", Reason.INVALID_VALUE),
    ]


def test_a_boolean_enum_of_one_value_offers_the_other(tmp_path: Path) -> None:
    found = breakages(_spec(tmp_path, "opt_in: {type: boolean, enum: [true]}\n"), "send")
    [other] = [b for b in found if b.label == "not_in_enum(opt_in)"]
    assert repr(other.values) == "just(False)"


def test_a_boolean_enum_of_both_values_offers_no_enum_breakage(tmp_path: Path) -> None:
    assert _offered(tmp_path, "opt_in: {type: boolean, enum: [true, false]}\n") == [
        ("wrong_type(opt_in)", Reason.TYPE_MISMATCH)
    ]


def test_a_multi_type_field_offers_only_a_wrong_type_and_its_enum(tmp_path: Path) -> None:
    assert _offered(tmp_path, "score: {type: [string, number], enum: [a, 1], maxLength: 3}\n") == [
        ("wrong_type(score)", Reason.TYPE_MISMATCH),
        ("not_in_enum(score)", Reason.INVALID_VALUE),
    ]


def test_an_untyped_list_offers_only_too_many_items(tmp_path: Path) -> None:
    assert _offered(tmp_path, "labels: {type: array, maxItems: 2}\n") == [
        ("too_many_items(labels)", Reason.INVALID_VALUE)
    ]


def test_a_catalog_keyed_object_takes_the_reason_code_its_catalog_names(tmp_path: Path) -> None:
    catalogs = "catalogs:\n  traits: {request: {path: /traits}, items: data, reason: unknown_custom_property}\n"
    fields = "traits: {type: object, keys_catalog: traits, values: {type: string}}\n"
    assert _offered(tmp_path, fields, catalogs, {"traits": {"tier": "Loyalty Tier"}}) == [
        ("wrong_type(traits)", Reason.TYPE_MISMATCH),
        ("display_name_key(traits)", Reason.UNKNOWN_CUSTOM_PROPERTY),
        ("unknown_key(traits)", Reason.UNKNOWN_CUSTOM_PROPERTY),
        ("wrong_value_type(traits)", Reason.TYPE_MISMATCH),
    ]


def test_a_pattern_without_dollar_offers_no_trailing_newline_breakage(tmp_path: Path) -> None:
    assert _offered(tmp_path, "code: {type: string, pattern: '^[A-Z]{2}'}\n") == [
        ("wrong_type(code)", Reason.TYPE_MISMATCH),
        ("pattern(code)", Reason.INVALID_VALUE),
    ]
    assert ecma_pattern("^[A-Z]{2}$") == "^[A-Z]{2}(?!\\n)$"
    assert ecma_pattern(r"^a\$[$]") == r"^a\$[$]"


def test_too_long_is_offered_only_below_the_too_large_threshold() -> None:
    spec = load_spec("hello_charles")

    def offered(max_length: int) -> list[str]:
        f = FieldSchema(type="string", maxLength=max_length)
        return [b.label for b in too_long(FieldUnderTest("name", f, spec, spec.actions["send_contacts"], {}))]

    assert offered(99_999) == ["too_long(name)"]
    assert offered(100_000) == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", None),
        ("   ", Reason.MISSING_REQUIRED),
        ("x" * 21, Reason.TOO_LONG),
        ("not-an-email", Reason.INVALID_EMAIL),
        ("a@b.co", None),
    ],
)
def test_string_reason_follows_the_runtimes_check_order(value: str, reason: Reason | None) -> None:
    f = FieldSchema(type="string", maxLength=20, format="email")
    required = value != ""
    assert string_reason(f, value, required) == reason
