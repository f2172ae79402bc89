"""The key a mirror keeps a member by is the key field's value as it is sent: normalised, then hashed when the
field says so; an invalid record's key (as the source had it) is made the same way, so it counts as seen."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

from destkit.runtime.engine.mirror import member_key_of
from destkit.runtime.spec.models import FieldSchema


def key_sync(**field: Any) -> Any:
    return SimpleNamespace(key_field="email", action=SimpleNamespace(fields={"email": FieldSchema(type="string", **field)}))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_key_field_without_normalize_or_hash_keeps_the_key_as_it_is() -> None:
    assert member_key_of(key_sync())("  Ann@X.com ") == "  Ann@X.com "


def test_a_normalised_key_field_trims_and_lower_cases_the_key() -> None:
    assert member_key_of(key_sync(normalize=["trim", "lower"]))("  Ann@X.com ") == "ann@x.com"


def test_a_hashed_key_field_hashes_the_normalised_key() -> None:
    assert member_key_of(key_sync(normalize=["trim", "lower"], hash="sha256"))(" Ann@X.com") == sha256("ann@x.com")


def test_a_key_that_already_is_a_digest_is_kept_lower_cased_not_hashed_again() -> None:
    digest = sha256("ann@x.com")
    assert member_key_of(key_sync(normalize=["trim", "lower"], hash="sha256"))(f" {digest.upper()}") == digest


def test_a_key_a_normalize_step_leaves_empty_is_kept_as_the_source_had_it() -> None:
    assert member_key_of(key_sync(normalize=["trim"]))("   ") == "   "
