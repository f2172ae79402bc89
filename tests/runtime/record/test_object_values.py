"""An object field's `values:` schema is checked beyond the values' type: a string's `maxLength` and a
list's `items` (e.g. custom attributes that take strings of at most 255 characters or lists of strings)."""

from __future__ import annotations

from typing import Any

from destkit.runtime import build_sync
from destkit.runtime.outcomes import Outcome
from destkit.runtime.spec.loader import parse_spec

SPEC = """\
spec_version: 1
id: attrs
name: Attributes
base_url: https://api.example.com
auth: {kind: none}
actions:
  track:
    title: Track
    fields:
      id: {type: string, required: true}
      custom:
        type: object
        values:
          type: [string, number, boolean, array]
          maxLength: 5
          items: {type: string}
    request: {path: /track, body: {users: $records}, record: {$merge: [$custom, {id: $id}]}}
"""


def outcomes_of(*records: dict[str, Any]) -> list[tuple[int, str, str | None, str | None]]:
    sync = build_sync({"destination": "attrs", "action": "track", "mapping": {"id": "id", "custom": "custom"}},
                      spec=parse_spec(SPEC, "attrs.yaml"))
    seen: list[Outcome] = []
    sync.dry_run(list(records), on_outcome=seen.append)
    return sorted((o.row, o.status.value, o.reason and o.reason.value, o.field) for o in seen)


def test_a_list_value_with_an_item_of_another_type_is_a_type_mismatch_naming_the_key() -> None:
    assert outcomes_of({"id": "a", "custom": {"tags": ["x", 2]}}) == [(1, "invalid", "type_mismatch", "custom.tags")]


def test_a_string_value_over_max_length_is_too_long_naming_the_key() -> None:
    assert outcomes_of({"id": "a", "custom": {"city": "Bordeaux"}}) == [(1, "invalid", "too_long", "custom.city")]


def test_values_within_the_schema_are_delivered() -> None:
    assert outcomes_of({"id": "a", "custom": {"city": "Nice", "n": 3, "tags": ["x"]}}) == [(1, "delivered", None, None)]
