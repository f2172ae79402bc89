"""`options.primary_key`: the input's own key of a record is on every outcome of it, whatever the outcome.

Runs go through the Hello Charles emulator in-process (the production httpx client over ASGI); state
lives in a real SQLite store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Sync, build_sync, load_spec
from destkit.runtime.engine.sources import Malformed
from destkit.runtime.engine.state import StateStore
from destkit.runtime.outcomes import Outcome, Reason, Status
from destkit.runtime.spec.models import DestinationSpec
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config


def record(customer_id: Any, user_id: str, phone: str = "+14155550100", **more: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "user_id": user_id, "first_name": "Ada", "phone": phone, "segments": "vip",
            **more}


def keyed_sync(app: Starlette, spec: DestinationSpec | None = None, **options: Any) -> Sync:
    config = hc_config(options={"primary_key": "customer_id", **options})
    return build_sync(config, base_url="http://acme.hello-charles.test", transport=httpx.ASGITransport(app=app),
                      allow_http=True, spec=spec)


def emulator(**faults: Any) -> Starlette:
    return create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, faults=FaultPlan(**faults))


def outcomes_of(sync: Sync, records: list[Any], **kwargs: Any) -> list[Outcome]:
    seen: list[Outcome] = []
    sync.run(records, on_outcome=seen.append, **kwargs)
    return sorted(seen, key=lambda o: o.row)


def test_a_delivered_record_carries_its_primary_key_as_text() -> None:
    [outcome] = outcomes_of(keyed_sync(emulator()), [record(7, "u1")])
    assert (outcome.status, outcome.primary_key) == (Status.DELIVERED, "7")


def test_an_invalid_record_carries_its_primary_key() -> None:
    [outcome] = outcomes_of(keyed_sync(emulator()), [record("c-1", "u1", phone="415-555-0101")])
    assert (outcome.status, outcome.reason, outcome.primary_key) == (Status.INVALID, Reason.INVALID_PHONE, "c-1")


def test_a_rejected_record_carries_its_primary_key() -> None:
    spec = load_spec("hello_charles").model_copy(deep=True)
    spec.actions["send_contacts"].fields["phone_number"].format = None  # a bad phone reaches the destination
    outcomes = outcomes_of(keyed_sync(emulator(), spec), [record("c-1", "u1"), record("c-2", "u2", phone="0151 1234")])
    assert [(o.status, o.primary_key) for o in outcomes] == [(Status.DELIVERED, "c-1"), (Status.REJECTED, "c-2")]


def test_a_dead_lettered_record_carries_its_primary_key() -> None:
    sync = keyed_sync(emulator(rate_500=1.0), max_attempts=1)
    [outcome] = outcomes_of(sync, [record("c-3", "u3")])
    assert (outcome.status, outcome.primary_key) == (Status.DEAD_LETTERED, "c-3")


def test_a_skipped_unchanged_record_carries_its_primary_key(tmp_path: Path) -> None:
    app = emulator()
    store = StateStore(tmp_path / "state.sqlite")
    keyed_sync(app, incremental=True).run([record("c-4", "u4")], state=store)
    [outcome] = outcomes_of(keyed_sync(app, incremental=True), [record("c-4", "u4")], state=store)
    assert (outcome.status, outcome.reason, outcome.primary_key) == (Status.SKIPPED, Reason.UNCHANGED, "c-4")


def test_a_malformed_line_has_no_primary_key_and_the_next_record_keeps_its_own() -> None:
    outcomes = outcomes_of(keyed_sync(emulator()), [Malformed(1, "line 1 is not valid JSON"), record("c-5", "u5")])
    assert [(o.status, o.reason, o.primary_key) for o in outcomes] == [
        (Status.INVALID, Reason.MALFORMED_INPUT, None), (Status.DELIVERED, None, "c-5")]


def test_a_record_without_a_primary_key_is_still_delivered_with_none() -> None:
    outcomes = outcomes_of(keyed_sync(emulator()), [record("", "u6"), record(None, "u7"),
                                                    {k: v for k, v in record(1, "u8").items() if k != "customer_id"}])
    assert [(o.status, o.primary_key) for o in outcomes] == [(Status.DELIVERED, None)] * 3


def test_a_nested_source_path_names_the_primary_key() -> None:
    sync = build_sync(hc_config(options={"primary_key": "ids.crm"}), base_url="http://acme.hello-charles.test",
                      transport=httpx.ASGITransport(app=emulator()), allow_http=True)
    [outcome] = outcomes_of(sync, [record(None, "u9", ids={"crm": 90210})])
    assert outcome.primary_key == "90210"


def test_a_dry_run_outcome_carries_the_primary_key() -> None:
    seen: list[Outcome] = []
    keyed_sync(emulator()).dry_run([record("c-10", "u10"), record("c-11", "u11", phone="x")], on_outcome=seen.append)
    assert sorted((o.row, o.status, o.primary_key) for o in seen) == [
        (1, Status.DELIVERED, "c-10"), (2, Status.INVALID, "c-11")]


def test_without_the_option_no_outcome_has_a_primary_key() -> None:
    sync = build_sync(hc_config(), base_url="http://acme.hello-charles.test",
                      transport=httpx.ASGITransport(app=emulator()), allow_http=True)
    [outcome] = outcomes_of(sync, [record("c-12", "u12")])
    assert outcome.primary_key is None
    assert "primary_key" not in outcome.to_dict()


def test_a_report_line_includes_the_primary_key_only_when_set() -> None:
    assert Outcome(row=3, status=Status.DELIVERED, key="u3", primary_key="c-3").to_dict() == {
        "row": 3, "key": "u3", "outcome": "delivered", "primary_key": "c-3"}


def test_the_state_store_keeps_each_outcomes_primary_key(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    result = keyed_sync(emulator()).run([record("c-13", "u13"), record("c-14", "u14", phone="x")], state=store)
    stored = [(o.row, o.status, o.primary_key) for o in store.outcomes(result.summary.run_id)]
    assert stored == [(1, Status.DELIVERED, "c-13"), (2, Status.INVALID, "c-14")]


def test_an_older_state_store_gets_the_primary_key_column_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE outcomes (run_id TEXT NOT NULL, row INTEGER NOT NULL, key TEXT, status TEXT NOT NULL, "
        "reason TEXT, field TEXT, message TEXT, destination_status INTEGER, destination_code TEXT, "
        "destination_message TEXT, destination_id TEXT, warnings TEXT, attempts INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (run_id, row)) WITHOUT ROWID;"
        "INSERT INTO outcomes (run_id, row, key, status) VALUES ('old', 1, 'u1', 'delivered');")
    old.close()
    store = StateStore(path)
    store.record("new", "hello_charles", [Outcome(row=1, status=Status.DELIVERED, key="u2", primary_key="c-2")],
                 None, 1)
    assert [(o.key, o.primary_key) for o in store.outcomes("old")] == [("u1", None)]
    assert [(o.key, o.primary_key) for o in store.outcomes("new")] == [("u2", "c-2")]
