"""Text that is not Unicode (a lone surrogate: Python text can hold one, as a platform's records may) cannot be
written to a request body: the record is `invalid_value`, naming its field and the fix, whether the value is
sent as it is, nested in an object, or hashed first. (A JSON Lines line that spells one is a malformed line.)"""

from __future__ import annotations

from typing import Any

from destkit.runtime import Outcome, build_sync


def outcomes(record: dict[str, Any], mapping: dict[str, Any]) -> list[tuple[Any, ...]]:
    config = {"destination": "hello_charles", "action": "send_contacts", "settings": {"subdomain": "acme"},
              "secrets": {"api_key": "k"}, "catalogs": {"tags": [], "custom_properties": ["plan"]},
              "mapping": {"external_reference_id": "id", **mapping}}
    seen: list[Outcome] = []
    build_sync(config).dry_run([{"id": "u0", "n": "ok"}, record], keep_requests=False, on_outcome=seen.append)
    return sorted((o.row, o.status.value, o.reason and o.reason.value, o.field, o.message) for o in seen)


def message(field: str) -> str:
    return (f"{field} holds text that is not Unicode (a lone surrogate such as \\ud800, e.g. from a JSON escape or a "
            "broken decoding); fix the source value.")


def test_a_lone_surrogate_in_a_text_field_is_invalid_value_naming_the_field() -> None:
    assert outcomes({"id": "u1", "n": "Ann\ud800"}, {"first_name": "n"}) == [
        (1, "delivered", None, None, None), (2, "invalid", "invalid_value", "first_name", message("first_name"))]


def test_a_lone_surrogate_inside_an_object_names_the_object_field() -> None:
    assert outcomes({"id": "u1", "p": {"plan": "\udcff"}}, {"custom_properties": "p"})[1] == (
        2, "invalid", "invalid_value", "custom_properties", message("custom_properties"))


def test_a_lone_surrogate_a_hash_transform_meets_is_invalid_value_naming_the_field() -> None:
    mapping = {"first_name": {"path": "n", "transform": "sha256"}}
    assert outcomes({"id": "u1", "n": "a\ud800b"}, mapping)[1] == (
        2, "invalid", "invalid_value", "first_name", message("first_name"))
