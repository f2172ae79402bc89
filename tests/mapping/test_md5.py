"""The `md5` transform: the hex MD5 some APIs key records by (Mailchimp's subscriber hash is the MD5
of the lower-cased email). Like `sha256`, it never hashes nothing and never hashes a digest again."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from destkit.mapping.transforms import build_transform

DIGEST = hashlib.md5(b"ann@example.com").hexdigest()


def md5(value: Any, options: dict[str, Any] | None = None) -> Any:
    return build_transform({"md5": options} if options is not None else "md5")(value)


def test_a_value_is_trimmed_lowercased_and_hashed() -> None:
    assert md5("  Ann@Example.COM ") == DIGEST


def test_with_normalize_off_the_value_is_hashed_as_given() -> None:
    assert md5("Ann@Example.com", {"normalize": False}) == hashlib.md5(b"Ann@Example.com").hexdigest()


def test_an_empty_string_stays_absent() -> None:
    assert md5(" ") is None


def test_none_stays_none() -> None:
    assert md5(None) is None


def test_an_md5_hex_digest_passes_through_lowercased() -> None:
    assert md5(DIGEST.upper()) == DIGEST


def test_a_digest_is_hashed_again_when_rehash_is_on() -> None:
    assert md5(DIGEST, {"rehash": True}) == hashlib.md5(DIGEST.encode()).hexdigest()


def test_an_unknown_option_is_refused_naming_the_options() -> None:
    with pytest.raises(ValueError, match="transform 'md5' has no option 'salt'; it takes 'normalize' and 'rehash'"):
        build_transform({"md5": {"salt": True}})
