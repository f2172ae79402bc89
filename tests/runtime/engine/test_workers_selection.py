"""Self-selection: a plain run over an in-memory list that no callback watches routes nothing; each worker
takes its own records from the list it inherited (`engine.worker_selection`). Same outcomes by row as one
process, a key's records in one worker in input order, and a dead worker's unanswered rows dead-lettered.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import EmulatorState, create_app
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine import StateStore, StopRequest, Sync, build_sync
from destkit.runtime.engine.worker_lines import plain_key_name
from destkit.runtime.engine.worker_selection import Selection, owners_of, rows_owned
from destkit.runtime.outcomes import Reason, Status
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config

CATALOGS = {"tags": TAGS, "custom_properties": [name for name, _label in PROPERTIES]}
BAD = frozenset({3, 700, 1_999, 2_400})  # a phone the checks refuse


def audience(keys: list[int], bad: frozenset[int] = BAD) -> list[Any]:
    """Row r (1-based) is contact u{keys[r-1]} named F{r}; rows in `bad` have a phone the checks refuse."""
    return [{"user_id": f"u{k}", "first_name": f"F{row}", "phone": "415-555" if row in bad else f"+1415555{row:04d}",
             "segments": ["vip"]} for row, k in enumerate(keys, start=1)]


def odd_audience() -> list[Any]:
    """Keys that repeat across the whole list, plus a record without a key, one with a number as its key and an item
    that is no record."""
    records = audience([r % 97 if r % 3 else r for r in range(3_000)])
    records[1_000] = {"user_id": "", "first_name": "x", "phone": "+14155550000"}
    records[1_500] = {"user_id": 15, "first_name": "n", "phone": "+14155550001"}
    records[2_000] = "not a record"
    return records


def sync_to(url: str, **options: Any) -> Sync:
    return build_sync(hc_config(catalogs=CATALOGS, options=options), base_url=url, allow_http=True)


def key_reading(sync: Sync) -> tuple[Any, str | None]:
    assert sync.key_field is not None
    return sync.mapping.per_field[sync.key_field], plain_key_name(sync)


def statuses(store: StateStore, run_id: str) -> dict[int, tuple[str, str | None]]:
    rows = store.db.execute("SELECT row, status, reason FROM outcomes WHERE run_id = ?", (run_id,)).fetchall()
    assert len(rows) == len({row for row, _status, _reason in rows}), "a row has two outcomes"
    return {row: (status, reason) for row, status, reason in rows}


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[StateStore, StateStore]]:
    one, many = StateStore(tmp_path / "one.sqlite"), StateStore(tmp_path / "many.sqlite")
    yield one, many
    one.close()
    many.close()


@pytest.mark.parametrize("workers", [2, 3])
def test_every_row_has_exactly_one_worker_and_a_key_has_one_worker(workers: int) -> None:
    records = odd_audience()
    key_of, name = key_reading(build_sync(hc_config(catalogs=CATALOGS)))
    owners = owners_of(records, key_of, workers, name)
    rows = [list(rows_owned(owners, index)) for index in range(workers)]
    assert sorted(row for part in rows for row in part) == list(range(1, 3_001))
    assert all(part == sorted(part) for part in rows)  # input order
    by_key: dict[str, set[int]] = {}
    for record, owner in zip(records, owners, strict=True):
        if isinstance(record, dict) and record["user_id"] != "":
            by_key.setdefault(str(record["user_id"]), set()).add(owner)
    assert all(len(owned) == 1 for owned in by_key.values())
    assert owners == owners_of(records, key_of, workers)  # the C loops decide as record by record


def test_a_record_whose_key_occurs_in_its_part_only_stays_with_its_parts_worker() -> None:
    records = audience(list(range(1_000)), bad=frozenset())  # every key once
    key_of, name = key_reading(build_sync(hc_config(catalogs=CATALOGS)))
    owners = owners_of(records, key_of, 2, name)
    # a key falsely seen in the other part goes by its hash: a few percent at most
    assert sum(owner != 0 for owner in owners[:500]) < 50
    assert sum(owner != 1 for owner in owners[500:]) < 50


def test_the_workers_decide_together_what_the_parent_decides_alone() -> None:
    records = odd_audience()
    key_of, name = key_reading(build_sync(hc_config(catalogs=CATALOGS)))
    context = multiprocessing.get_context("fork")
    selection = Selection(records, key_of, name, 3, context)
    results = context.Queue()

    def take_own(index: int) -> None:
        rows = selection.own_rows(index, os.getppid())
        results.put((index, None if rows is None else list(rows)))

    processes = [context.Process(target=take_own, args=(index,)) for index in range(3)]
    for process in processes:
        process.start()
    decided = dict(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(10)
    owners = owners_of(records, key_of, 3, name)
    assert decided == {index: list(rows_owned(owners, index)) for index in range(3)}
    assert {index: list(selection.rows_of(index)) for index in range(3)} == decided
    selection.close()


def test_a_self_selected_dry_run_counts_what_one_process_counts() -> None:
    records = odd_audience()
    sync = build_sync(hc_config(catalogs=CATALOGS))
    alone = sync.dry_run(records, keep_requests=False).summary
    for workers in (2, 3):
        spread = sync.dry_run(records, keep_requests=False, workers=workers).summary
        assert (spread.counts, spread.reasons, spread.received) == (alone.counts, alone.reasons, alone.received)
        assert spread.received == 3_000


def test_a_self_selected_recorded_run_gives_every_row_the_outcome_of_one_process(
        stores: tuple[StateStore, StateStore]) -> None:
    records = odd_audience()
    outcomes = {}
    for store, workers in zip(stores, (1, 2), strict=True):
        app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
        with running_server(app) as url:
            result = sync_to(url, concurrency=4).run(records, state=store, workers=workers)
        outcomes[workers] = statuses(store, result.summary.run_id)
        assert result.summary.received == 3_000
    assert outcomes[2] == outcomes[1]
    assert sorted(outcomes[2]) == list(range(1, 3_001))
    invalid = {row for row, (status, _reason) in outcomes[2].items() if status == Status.INVALID.value}
    assert invalid == set(BAD) | {1_001, 2_001}  # the bad phones, the record without a key, the item that is none


def test_a_self_selected_run_delivers_a_keys_records_in_input_order() -> None:
    keys = [r % 9 if r % 2 else r for r in range(600)]  # 9 keys in every part, the others once
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, keep_bodies=True,
                     faults=FaultPlan(latency_ms=5, latency_jitter_ms=5))
    with running_server(app) as url:
        result = sync_to(url, concurrency=6).run(audience(keys, bad=frozenset()), workers=3)
    assert result.summary.delivered == 600
    arrived: dict[str, list[int]] = {}
    for request in app.state.emulator.requests:
        if request.path.endswith("/batch") and request.body:
            for contact in orjson.loads(request.body)["contacts"]:
                arrived.setdefault(contact["external_reference_id"], []).append(int(contact["first_name"][1:]))
    expected: dict[str, list[int]] = {}
    for row, key in enumerate(keys, start=1):
        expected.setdefault(f"u{key}", []).append(row)
    assert arrived == expected


class KillOnFirstWrite:
    """An ASGI wrapper that SIGKILLs worker process 0 when the first write arrives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.killed: list[int] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] != "GET":
            with self._lock:
                if not self.killed:
                    for child in multiprocessing.active_children():
                        if child.name == "destkit-worker-0" and child.pid is not None:
                            self.killed.append(child.pid)
                            os.kill(child.pid, signal.SIGKILL)
        await self.app(scope, receive, send)


def test_a_worker_killed_in_a_self_selected_recorded_run_dead_letters_exactly_its_unanswered_rows(
        tmp_path: Path) -> None:
    records = audience([r % 400 if r % 4 == 0 else r for r in range(4_000)], bad=frozenset({10, 3_000}))
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, faults=FaultPlan(latency_ms=30))
    killer = KillOnFirstWrite(app)
    store = StateStore(tmp_path / "state.sqlite")
    try:
        with running_server(killer) as url:
            sync = sync_to(url, concurrency=2)
            result = sync.run(records, state=store, workers=2)
        by_row = statuses(store, result.summary.run_id)
        dead = list(store.outcomes(result.summary.run_id))
    finally:
        store.close()
    assert killer.killed
    key_of, name = key_reading(sync)
    owners = owners_of(records, key_of, 2, name)
    mine = set(rows_owned(owners, 0))
    unknown = {row for row, (status, reason) in by_row.items()
               if status == Status.DEAD_LETTERED.value and reason == Reason.UNKNOWN_DELIVERY.value}
    assert mine <= set(by_row)  # every row the dead worker owed has its one outcome: answered, or a dead letter
    assert unknown and unknown <= mine  # the dead letters are the dead worker's rows, none of the other's
    assert all("worker process 0" in (o.message or "") for o in dead if o.row in unknown)
    assert all(o.key == records[o.row - 1]["user_id"] for o in dead if o.row in unknown)
    s = result.summary
    assert s.aborted is not None and s.aborted.startswith("worker process 0")
    assert s.received == len(by_row)
    assert s.count(Status.DEAD_LETTERED) == s.reasons[Reason.UNKNOWN_DELIVERY.value] == len(unknown)


class StopOnFirstWrite:
    """An ASGI wrapper that asks the run to stop (on the run's loop) when the first write arrives."""

    def __init__(self, app: Any, stop: StopRequest) -> None:
        self.app = app
        self.stop = stop
        self.loop: asyncio.AbstractEventLoop | None = None
        self.asked = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] != "GET" and not self.asked.is_set() and self.loop is not None:
            self.asked.set()
            self.loop.call_soon_threadsafe(self.stop.request, "a test")
        await self.app(scope, receive, send)


def test_a_self_selected_run_stopped_early_is_resumed_and_every_row_ends_once(tmp_path: Path) -> None:
    records = audience([r % 300 if r % 5 == 0 else r for r in range(3_000)])
    workspace = EmulatorState()
    store = StateStore(tmp_path / "state.sqlite")
    stop = StopRequest(grace_s=10)
    stopper = StopOnFirstWrite(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=workspace,
                                          faults=FaultPlan(latency_ms=50)), stop)

    async def stopped_run(sync: Sync) -> Any:
        stopper.loop = asyncio.get_running_loop()
        return await sync.arun(records, state=store, input_ref="v1", stop=stop, workers=2)

    try:
        with running_server(stopper) as url:
            first = asyncio.run(stopped_run(sync_to(url, concurrency=2)))
        assert first.stopped == "a test"
        done = statuses(store, first.summary.run_id)
        assert first.summary.received == len(done) < 3_000
        app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=workspace)
        with running_server(app) as url:
            resumed = sync_to(url, concurrency=2).run(records, state=store, input_ref="v1", mode="resume", workers=2)
        assert resumed.summary.run_id == first.summary.run_id
        ended = statuses(store, first.summary.run_id)
    finally:
        store.close()
    assert sorted(ended) == list(range(1, 3_001))
    assert {row for row, (status, _reason) in ended.items() if status == Status.INVALID.value} == set(BAD)
    sent = {record["user_id"] for row, record in enumerate(records, start=1) if row not in BAD}
    assert set(workspace.contacts) == sent


def test_refused_credentials_in_a_self_selected_run_abort_it_and_stop_the_other_workers(tmp_path: Path) -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, faults=FaultPlan(latency_ms=20))
    store = StateStore(tmp_path / "state.sqlite")
    try:
        with running_server(app) as url:
            sync = build_sync(hc_config(catalogs=CATALOGS, secrets={"api_key": "revoked"}, options={"concurrency": 2}),
                              base_url=url, allow_http=True)
            result = sync.run(audience([r % 30 if r % 2 else r for r in range(5_000)]), state=store, workers=2)
        by_row = statuses(store, result.summary.run_id)
    finally:
        store.close()
    s = result.summary
    assert s.aborted is not None and s.aborted.startswith("auth_failed") and "revoked" not in s.aborted
    assert s.delivered == 0 and not app.state.emulator.contacts
    assert {reason for _status, reason in by_row.values()} <= {Reason.AUTH_FAILED.value, Reason.INVALID_PHONE.value}
    assert s.received == len(by_row) < 5_000
