"""The `sha256` transform hashes a value once, and never hashes nothing.

Destinations match hashed identifiers against their own hashes: the hash of the empty string
would match every contact without an email, and a digest hashed again matches nobody.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from destkit.mapping import FieldShape, compile_mapping
from destkit.mapping.transforms import build_transform
from destkit.runtime import load_spec

FIELDS: dict[str, FieldShape] = {
    name: FieldShape(f.types, f.required)
    for name, f in load_spec("hello_charles").actions["send_contacts"].fields.items()
}
DIGEST = hashlib.sha256(b"ann@example.com").hexdigest()


def sha256(value: Any, options: dict[str, Any] | None = None) -> Any:
    return build_transform({"sha256": options} if options is not None else "sha256")(value)


def test_an_empty_string_stays_absent() -> None:
    assert sha256("") is None


def test_a_blank_string_stays_absent() -> None:
    assert sha256("  \t ") is None


def test_an_empty_string_stays_absent_with_normalize_off() -> None:
    assert sha256("", {"normalize": False}) is None


def test_an_empty_source_value_leaves_the_field_out_of_the_payload() -> None:
    compiled = compile_mapping({"external_reference_id": "id",
                                "first_name": {"path": "email", "transform": ["sha256"]}}, FIELDS)
    assert compiled.apply({"id": "c1", "email": " "}) == {"external_reference_id": "c1", "first_name": None}


def test_a_sha256_hex_digest_passes_through_unchanged() -> None:
    assert sha256(DIGEST) == DIGEST


def test_an_upper_case_digest_passes_through_normalised_to_lower_case() -> None:
    assert sha256(f" {DIGEST.upper()} ") == DIGEST


def test_a_digest_is_hashed_again_when_rehash_is_on() -> None:
    assert sha256(DIGEST, {"rehash": True}) == hashlib.sha256(DIGEST.encode()).hexdigest()


def test_a_value_of_63_hex_digits_is_hashed() -> None:
    assert sha256(DIGEST[:63]) == hashlib.sha256(DIGEST[:63].encode()).hexdigest()


def test_a_plain_value_is_hashed_trimmed_and_lowercased() -> None:
    assert sha256(" Ann@Example.com ") == DIGEST


@pytest.mark.parametrize("options, message", [
    ({"salt": "x"}, "transform 'sha256' has no option 'salt'; it takes 'normalize' and 'rehash'"),
    ({"rehash": "yes"}, "transform 'sha256' option 'rehash' is true or false"),
])
def test_sha256_options_are_checked_when_the_mapping_is_compiled(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        sha256("x", options)
    assert str(info.value) == message
