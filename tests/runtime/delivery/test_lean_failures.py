"""`ResponseReader.failures` checks the common answer (every item an object with a listed ok value) in
one pass, and reads any other answer item by item: either way it finds exactly what `read` calls no success."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.delivery.reading import ResponseReader
from tests.conftest import API_KEY, hc_config, in_process_sync


def hc_reader() -> ResponseReader:
    sync = in_process_sync(create_app(api_key=API_KEY), hc_config())
    return ResponseReader(sync.action.response)


def test_an_answer_whose_items_all_succeeded_has_no_failures() -> None:
    items = [{"status": "created", "id": str(i)} for i in range(1000)] + [{"status": "updated", "id": "x"}]
    assert hc_reader().failures({"data": items}, [f"k{i}" for i in range(len(items))]) == []


@pytest.mark.parametrize("odd_one", [
    {"id": "no status"},
    {"status": {"nested": "created"}},
    {"status": ["created"]},
    {"status": None},
    {"status": "failed", "errors": [{"code": "invalid_email", "message": "no"}]},
    "created",
    ["status"],
    7,
    None,
])
def test_one_item_that_is_no_listed_success_is_found_where_read_finds_it(odd_one: Any) -> None:
    items = [{"status": "created"}, odd_one, {"status": "updated"}]
    reader, keys = hc_reader(), ["a", "b", "c"]
    results = reader.read({"data": items}, keys)
    assert not isinstance(results, str)
    expected = [(i, r) for i, r in enumerate(results) if not r.ok]
    assert reader.failures({"data": items}, keys) == expected
    assert [i for i, _ in expected] == [1]


def test_an_answer_whose_items_all_succeeded_gives_every_records_id_as_read_does() -> None:
    items = [{"status": "created", "id": "a1"}, {"status": "updated", "id": 7}, {"status": "created"}]
    reader, keys = hc_reader(), ["a", "b", "c"]
    results = reader.read({"data": items}, keys)
    assert not isinstance(results, str)
    assert reader.delivered_ids({"data": items}, keys) == [r.destination_id for r in results] == ["a1", "7", None]


@pytest.mark.parametrize("odd_one", [{"status": "failed"}, {"id": "no status"}, "created", None])
def test_an_answer_with_an_item_that_is_no_listed_success_gives_no_ids_in_bulk(odd_one: Any) -> None:
    items = [{"status": "created", "id": "a1"}, odd_one]
    assert hc_reader().delivered_ids({"data": items}, ["a", "b"]) is None
