"""Hostile source paths: a path with an empty segment or an unpaired bracket is a config error naming it.

Before, `a..b`, `a.`, `.a` and `a[0` read `a.b`, `a`, `a` and `a.0`: a typo silently sent another field
than the one written. The well-formed spellings (`a.b`, `a[0].b`, `a.-1`, a name with a space) still read.
"""

from __future__ import annotations

from typing import Any

import pytest

from destkit.mapping.paths import compile_path, split_path
from destkit.runtime import ConfigError, Outcome, build_sync


def contacts_sync(first_name: Any, **options: Any) -> Any:
    return build_sync({
        "destination": "hello_charles", "action": "send_contacts", "settings": {"subdomain": "acme"},
        "secrets": {"api_key": "k"}, "mapping": {"external_reference_id": "id", "first_name": first_name},
        "catalogs": {"tags": [], "custom_properties": []}, "options": options,
    })


@pytest.mark.parametrize(("path", "why"), [
    ("a..b", "a segment between dots or brackets is empty"),
    ("a.[0]", "a segment between dots or brackets is empty"),
    ("a[]", "a segment between dots or brackets is empty"),
    ("a.", "it starts with a dot or a bracket, or ends with a dot"),
    (".a", "it starts with a dot or a bracket, or ends with a dot"),
    ("[0]", "it starts with a dot or a bracket, or ends with a dot"),
    ("a[0", "its brackets do not pair up, or hold a dot"),
    ("a]", "its brackets do not pair up, or hold a dot"),
    ("a[b.c]", "its brackets do not pair up, or hold a dot"),
])
def test_a_malformed_path_is_refused_saying_what_is_wrong(path: str, why: str) -> None:
    with pytest.raises(ValueError, match=r"^'.*' is not a source path: (.*)$") as refused:
        split_path(path)
    assert str(refused.value).startswith(f"'{path}' is not a source path: {why} (write ")


def test_a_malformed_mapping_path_is_a_config_error_naming_the_mapping_key() -> None:
    with pytest.raises(ConfigError) as refused:
        contacts_sync("profile..first")
    [issue] = refused.value.issues
    assert issue.key == "mapping.first_name"
    assert issue.message.startswith("'profile..first' is not a source path: a segment between dots or brackets is empty")


def test_a_malformed_primary_key_path_is_a_config_error_in_plain_words() -> None:
    with pytest.raises(ConfigError) as refused:
        contacts_sync("name", primary_key="ids.")
    [issue] = refused.value.issues
    assert (issue.key, issue.message, issue.fix) == (
        "options.primary_key", "'ids.' is not a source path: it starts with a dot or a bracket, or ends with a dot "
                               "(write 'attributes.tier').", "give the source field's name, with dots for nesting.")


def test_a_100k_malformed_path_is_clipped_in_its_message() -> None:
    path = "a." * 50_000
    with pytest.raises(ValueError) as refused:
        split_path(path)
    assert len(str(refused.value)) < 400
    assert "(100,000 characters)" in str(refused.value)


@pytest.mark.parametrize(("path", "parts"), [
    ("a.b", ["a", "b"]), ("a[0].b", ["a", "0", "b"]), ("a.-1", ["a", "-1"]), ("a[-1]", ["a", "-1"]),
    ("first name", ["first name"]), (" email ", ["email"]), ("$", ["$"]),
])
def test_well_formed_paths_still_split(path: str, parts: list[str]) -> None:
    assert split_path(path) == parts


def test_a_well_formed_nested_path_still_reads_its_value() -> None:
    assert compile_path("a.items[1].b")({"a": {"items": [{}, {"b": "x"}]}}) == "x"
    outcomes: list[Outcome] = []
    contacts_sync("profile.first").dry_run([{"id": "c1", "profile": {"first": "Ada"}}], offline=True,
                                           on_outcome=outcomes.append)
    assert [(o.status, o.key) for o in outcomes] == [("delivered", "c1")]
