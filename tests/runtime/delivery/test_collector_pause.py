"""A batch's answer is decoded, read and freed with Python's cyclic collector paused (`collector_paused`),
which is on again afterwards whatever happened, and left off when the application had turned it off."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from destkit.destinations._kit.faults import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.delivery.collector import collector_paused
from destkit.runtime.delivery.retry import RetryPolicy
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config, in_process_sync


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def contacts(n: int) -> list[dict[str, Any]]:
    return [{"user_id": f"u{i}", "email": f"u{i}@example.com", "segments": ["vip"]} for i in range(n)]


def test_the_collector_is_off_inside_and_on_again_after(collector_on: None) -> None:
    with collector_paused():
        inside = gc.isenabled()
    assert (inside, gc.isenabled()) == (False, True)


def test_the_collector_is_on_again_after_the_code_inside_raises(collector_on: None) -> None:
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_the_application_turned_off_stays_off(collector_on: None) -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_a_run_whose_answers_hold_failures_and_retries_leaves_the_collector_on(collector_on: None) -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES,
                     faults=FaultPlan(seed=7, rate_record_failure=0.2, rate_500=0.2))
    sync = in_process_sync(app, retry=RetryPolicy(max_attempts=3, base=0.001, cap=0.001))
    summary = sync.run(contacts(300)).summary
    assert summary.reconciles() and summary.received == 300
    assert gc.isenabled()


def test_a_run_stopped_by_a_refused_key_leaves_the_collector_on(collector_on: None) -> None:
    # the catalogs come from the config, so the first request refused is a batch's
    config = hc_config(secrets={"api_key": "wrong"}, catalogs={"tags": TAGS, "custom_properties": ["plan"]})
    summary = in_process_sync(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES), config).run(
        contacts(10)).summary
    assert (summary.requests, summary.count("dead_lettered"), summary.aborted is not None) == (1, 10, True)
    assert gc.isenabled()
