"""Resume and retry with `workers=N`: the parent plans, skips and records exactly as a one-process run does."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.destinations.hello_charles.emulator import EmulatorState
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine import StateStore, build_sync
from destkit.runtime.outcomes import Status
from tests.conftest import Crash, crashing, hc_config
from tests.runtime.engine.test_run_policy import RETRY_MAPPING, failing, healthy
from tests.runtime.engine.test_send_contacts import audience

ROWS = 3000
INVALID_ROWS = frozenset({7, 999, 2000, 2400})  # audience() with RETRY_MAPPING: bad phones, no key, a long name


def one_attempt(app: Any, run: Any) -> Any:
    """Serve `app` on a port and give `run` a sync to it (one attempt per batch, two concurrent requests)."""
    with running_server(app) as url:
        sync = build_sync(hc_config(mapping=RETRY_MAPPING, options={"max_attempts": 1, "concurrency": 2}),
                          base_url=url, allow_http=True)
        return run(sync)


def latest_status_by_row(store: StateStore, run_ids: list[str]) -> dict[int, str]:
    """Each row's outcome in the given runs, later runs winning; fails if a run has two outcomes for a row."""
    latest: dict[int, str] = {}
    for run_id in run_ids:
        rows = store.db.execute("SELECT row, status FROM outcomes WHERE run_id = ?", (run_id,)).fetchall()
        assert len(rows) == len({row for row, _status in rows}), f"a row of run {run_id} has two outcomes"
        latest.update(dict(rows))
    return latest


def test_a_run_whose_source_fails_is_resumed_with_workers_and_every_row_ends_once(store: StateStore) -> None:
    workspace = EmulatorState()
    records = audience(ROWS)
    with pytest.raises(Crash):
        one_attempt(healthy(workspace), lambda s: s.run(crashing(records, after=1700), state=store, input_ref="v1",
                                                         workers=2))
    first = store.last_run("hello_charles", "send_contacts", unfinished=True)
    assert first is not None
    done_before = {row for (row,) in store.db.execute("SELECT row FROM outcomes WHERE run_id = ?", (first.run_id,))}
    assert done_before and max(done_before) <= 1700
    resumed = one_attempt(healthy(workspace), lambda s: s.run(records, state=store, input_ref="v1", mode="resume",
                                                               workers=3))
    assert resumed.summary.run_id == first.run_id
    statuses = latest_status_by_row(store, [first.run_id])
    assert sorted(statuses) == list(range(1, ROWS + 1))
    assert {row for row, status in statuses.items() if status == Status.INVALID.value} == INVALID_ROWS
    assert resumed.summary.received == ROWS
    assert resumed.summary.delivered == ROWS - len(INVALID_ROWS)
    assert len(workspace.contacts) == ROWS - len(INVALID_ROWS)


def test_a_retry_with_workers_sends_only_the_dead_lettered_records_and_delivers_them(store: StateStore) -> None:
    workspace = EmulatorState()
    records = audience(ROWS)
    first = one_attempt(failing(workspace), lambda s: s.run(records, state=store, input_ref="v1", workers=2))
    assert first.summary.count(Status.DEAD_LETTERED) == ROWS - len(INVALID_ROWS)
    retry = one_attempt(healthy(workspace), lambda s: s.run(records, state=store, input_ref="v1", mode="retry",
                                                             workers=2))
    assert retry.summary.received == ROWS - len(INVALID_ROWS)
    assert retry.summary.delivered == ROWS - len(INVALID_ROWS)
    statuses = latest_status_by_row(store, [first.summary.run_id, retry.summary.run_id])
    assert {row for row, status in statuses.items() if status != Status.DELIVERED.value} == INVALID_ROWS
    assert len(workspace.contacts) == ROWS - len(INVALID_ROWS)


def test_an_incremental_run_with_workers_skips_what_the_last_run_with_workers_delivered(store: StateStore) -> None:
    workspace = EmulatorState()
    records = audience(ROWS)
    changed = [dict(r, first_name="Changed") if i % 10 == 0 else r for i, r in enumerate(records)]

    def incremental(run: Any) -> Any:
        with running_server(healthy(workspace)) as url:
            sync = build_sync(hc_config(mapping=RETRY_MAPPING, options={"incremental": True, "concurrency": 2}),
                              base_url=url, allow_http=True)
            return run(sync)

    first = incremental(lambda s: s.run(records, state=store, input_ref="v1", workers=2))
    assert first.summary.delivered == ROWS - len(INVALID_ROWS)
    second = incremental(lambda s: s.run(changed, state=store, input_ref="v2", workers=3))
    resent = {i + 1 for i in range(ROWS) if i % 10 == 0} - INVALID_ROWS
    assert second.summary.delivered == len(resent)
    assert second.summary.reasons["unchanged"] == ROWS - len(INVALID_ROWS) - len(resent)
