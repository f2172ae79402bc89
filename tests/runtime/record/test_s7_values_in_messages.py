"""A value of the wrong type is quoted in its record's message as the data writes it: a list, an object or
true/false as JSON (the user's export has ["u3"], not Python's ['u3']), bytes as Python shows them."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.runtime import Outcome, build_sync

CONFIG = {"destination": "hello_charles", "action": "send_contacts", "settings": {"subdomain": "acme"},
          "secrets": {"api_key": "k"}, "catalogs": {"tags": ["vip"], "custom_properties": []},
          "mapping": {"external_reference_id": "id", "tags": "t"}}


def message_of(record: dict[str, Any]) -> str | None:
    seen: list[Outcome] = []
    build_sync(CONFIG).dry_run([record], on_outcome=seen.append)
    return seen[0].message


@pytest.mark.parametrize(("value", "quoted"), [
    (["u3"], "list '[\"u3\"]'"),
    ({"a": 1}, "dict '{\"a\":1}'"),
    (True, "bool 'true'"),
    (b"u3", "bytes \"b'u3'\""),
], ids=["list", "object", "bool", "bytes"])
def test_a_key_of_the_wrong_type_is_quoted_as_the_data_writes_it(value: Any, quoted: str) -> None:
    assert message_of({"id": value}) == (
        f"external_reference_id must be a string, got {quoted}; fix the source value or add a transform.")


def test_a_null_list_item_is_quoted_as_null() -> None:
    assert message_of({"id": "u1", "t": ["vip", None]}) == "tags items must be strings, got NoneType 'null'; fix the source value."
