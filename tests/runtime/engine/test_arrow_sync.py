"""`Sync.run` takes Arrow data (a Table, RecordBatch, RecordBatchReader or batches): a Decimal, a date or a
timestamp that is `invalid type_mismatch` as a Python value reaches the checks as valid, over real HTTP."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from starlette.applications import Starlette

from destkit.destinations.webhook.emulator import WebhookState, create_app
from destkit.runtime import Outcome, Status, build_sync
from destkit.runtime.cli.server import running_server
from tests.conftest import emulator_state, hc_config

SECRET = "whsec_" + base64.b64encode(b"tests-only-webhook-signing-key-32").decode()
MAPPING = {"id": "event_id", "type": "kind", "data": "payload", "timestamp": "at"}
AT = dt.datetime(2026, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 12:00 UTC


def webhook_config(url: str) -> dict[str, Any]:
    return {"destination": "webhook", "action": "send", "settings": {"url": url},
            "secrets": {"signing_secret": SECRET}, "mapping": MAPPING}


@pytest.fixture
def receiver() -> Starlette:
    app: Starlette = create_app(secret=SECRET, keep_bodies=True)
    return app


@pytest.fixture
def receiver_url(receiver: Starlette) -> Iterator[str]:
    with running_server(receiver) as url:
        yield url + "/hooks/cdp"


def events_table() -> pa.Table:
    payload = pa.struct([("score", pa.decimal128(6, 2)), ("since", pa.date32()), ("tags", pa.list_(pa.string()))])
    return pa.table({
        "event_id": ["evt_1", "evt_2"],
        "kind": ["audience.entered", "audience.left"],
        "payload": pa.array([{"score": Decimal("19.99"), "since": dt.date(2020, 1, 31), "tags": ["a"]},
                             {"score": Decimal("7.00"), "since": None, "tags": []}], payload),
        "at": pa.array([AT, AT], pa.timestamp("us", "Europe/Berlin")),
    })


def received(app: Starlette) -> list[Any]:
    state: WebhookState = app.state.emulator
    return state.events


def test_a_python_datetime_is_invalid_type_mismatch(receiver_url: str) -> None:
    outcomes: list[Outcome] = []
    record = {"event_id": "evt_1", "kind": "audience.entered", "payload": {}, "at": AT}
    build_sync(webhook_config(receiver_url), allow_http=True).run([record], on_outcome=outcomes.append)
    assert [(o.status, o.reason, o.field) for o in outcomes] == [(Status.INVALID, "type_mismatch", "timestamp")]


def test_the_same_timestamp_decimal_and_date_in_an_arrow_table_are_delivered(receiver: Starlette,
                                                                            receiver_url: str) -> None:
    outcomes: list[Outcome] = []
    result = build_sync(webhook_config(receiver_url), allow_http=True).run(events_table(),
                                                                            on_outcome=outcomes.append)
    assert [(o.row, o.key, o.status) for o in outcomes] == [(1, "evt_1", Status.DELIVERED),
                                                             (2, "evt_2", Status.DELIVERED)]
    assert result.summary.delivered == 2
    assert received(receiver) == [
        {"id": "evt_1", "type": "audience.entered", "timestamp": "2026-05-01T12:00:00+00:00",
         "data": {"score": 19.99, "since": "2020-01-31", "tags": ["a"]}},
        {"id": "evt_2", "type": "audience.left", "timestamp": "2026-05-01T12:00:00+00:00",
         "data": {"score": 7.0, "tags": []}},  # a null struct field is an absent key
    ]


def test_a_naive_timestamp_is_sent_without_an_offset(receiver: Starlette, receiver_url: str) -> None:
    table = pa.table({"event_id": ["evt_1"], "kind": ["k"], "payload": pa.array([{"n": 1}]),
                      "at": pa.array([dt.datetime(2026, 5, 1, 12, 30)], pa.timestamp("ms"))})
    result = build_sync(webhook_config(receiver_url), allow_http=True).run(table)
    assert result.summary.delivered == 1
    assert received(receiver)[0]["timestamp"] == "2026-05-01T12:30:00"


@pytest.mark.parametrize("shape", ["record_batch", "reader", "list_of_batches", "generator_of_batches"])
def test_every_arrow_shape_is_run_as_its_rows(receiver: Starlette, receiver_url: str, shape: str) -> None:
    table = events_table()
    source: Any = {
        "record_batch": lambda: table.to_batches()[0],
        "reader": table.to_reader,
        "list_of_batches": lambda: table.to_batches(max_chunksize=1),
        "generator_of_batches": lambda: (b for b in table.to_batches(max_chunksize=1)),
    }[shape]()
    outcomes: list[Outcome] = []
    build_sync(webhook_config(receiver_url), allow_http=True).run(source, on_outcome=outcomes.append)
    assert [(o.row, o.key, o.status) for o in outcomes] == [(1, "evt_1", Status.DELIVERED),
                                                             (2, "evt_2", Status.DELIVERED)]
    assert [e["id"] for e in received(receiver)] == ["evt_1", "evt_2"]


def test_a_decimal_custom_property_is_invalid_as_python_and_delivered_from_arrow(app: Starlette,
                                                                               served: str) -> None:
    record = {"user_id": "u1", "phone": "+14155550101", "attributes": {"plan": "pro", "loyalty_tier": Decimal(3)}}
    sync = build_sync(hc_config(), base_url=served, allow_http=True)
    as_python: list[Outcome] = []
    sync.run([record], on_outcome=as_python.append)
    assert [(o.status, o.reason, o.field) for o in as_python] == [
        (Status.INVALID, "type_mismatch", "custom_properties")]

    attributes = pa.struct([("plan", pa.string()), ("loyalty_tier", pa.decimal128(3, 0))])
    table = pa.table({"user_id": ["u1"], "phone": ["+14155550101"],
                      "attributes": pa.array([record["attributes"]], attributes)})
    as_arrow: list[Outcome] = []
    sync.run(table, on_outcome=as_arrow.append)
    assert [(o.row, o.status) for o in as_arrow] == [(1, Status.DELIVERED)]
    assert emulator_state(app).contacts["u1"].custom_properties == {"plan": "pro", "loyalty_tier": 3}


def test_an_unconvertible_value_is_one_invalid_malformed_input_outcome_and_the_rest_are_delivered(
        receiver: Starlette, receiver_url: str) -> None:
    table = pa.table({"event_id": ["evt_1", "evt_2"], "kind": pa.array([b"ok", b"\xff"]),
                      "payload": pa.array([{"n": 1}, {"n": 2}]), "at": ["2026-05-01T12:00:00Z"] * 2})
    outcomes: list[Outcome] = []
    build_sync(webhook_config(receiver_url), allow_http=True).run(table, on_outcome=outcomes.append)
    by_row = {o.row: o for o in outcomes}
    assert by_row[1].status is Status.DELIVERED
    assert (by_row[2].status, by_row[2].reason) == (Status.INVALID, "malformed_input")
    assert by_row[2].message is not None and by_row[2].message.startswith("row 2, column 'kind':")
    assert [e["id"] for e in received(receiver)] == ["evt_1"]
