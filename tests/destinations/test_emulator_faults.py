"""Seeded fault injection: the plan language, determinism, and each fault as a client sees it.

The wire-level tests run the Hello Charles emulator on a real port with a synchronous
``httpx.Client``, because a dropped connection and a read timeout only exist on a socket.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from destkit.destinations._kit import (
    FAULT_KINDS,
    FaultInjector,
    FaultPlan,
    InjectedDrop,
)
from destkit.destinations.hello_charles.emulator import FAULTABLE_PATHS, EmulatorState, create_app
from destkit.runtime.cli.server import running_server

KEY = {"x-api-key": "test-key"}
SINGLE = "/api/v1beta/contacts"
BATCH = "/api/v1beta/contacts/batch"


def contact(ext: str) -> dict[str, Any]:
    return {"external_reference_id": ext, "source_type": "destkit", "first_name": "Ada", "tags": ["vip"]}


@contextmanager
def serve(
    plan: FaultPlan | None, *, read_timeout: float = 5.0
) -> Iterator[tuple[httpx.Client, EmulatorState]]:
    """The emulator with ``plan`` on a real port, a sync client for it, and its state."""
    app: Starlette = create_app(faults=plan)
    state: EmulatorState = app.state.emulator
    with (
        running_server(app) as url,
        httpx.Client(base_url=url, headers=KEY, timeout=httpx.Timeout(5.0, read=read_timeout)) as client,
    ):
        yield client, state


# --------------------------------------------------------------------------- parse / describe


def test_parse_the_documented_example() -> None:
    plan = FaultPlan.parse(
        "429=0.1,503=0.05,500=0.01,drop=0.02,timeout=0.01,record=0.01,latency=50,jitter=10,retry_after=1,seed=7"
    )
    assert plan == FaultPlan(
        seed=7,
        rate_429=0.1,
        rate_503=0.05,
        rate_500=0.01,
        rate_drop=0.02,
        rate_timeout=0.01,
        rate_record_failure=0.01,
        latency_ms=50,
        latency_jitter_ms=10,
        retry_after=1,
    )


def test_parse_extras_whitespace_and_empty_plans() -> None:
    plan = FaultPlan.parse(
        " 429 = 0.5 , retry_after=2.5, retry_after_date=true, timeout_s=0.5,"
        " path=/api/v1beta/contacts/batch, path=/other ,"
    )
    assert plan.rate_429 == 0.5
    assert plan.retry_after == 2.5
    assert plan.retry_after_http_date is True
    assert plan.timeout_s == 0.5
    assert plan.paths == ("/api/v1beta/contacts/batch", "/other")
    assert FaultPlan.parse("") == FaultPlan() == FaultPlan.parse("  none ")
    assert not FaultPlan().active
    assert plan.active


@pytest.mark.parametrize(
    "plan",
    [
        FaultPlan(),
        FaultPlan(seed=3),
        FaultPlan(seed=7, rate_429=0.1, rate_503=0.05, rate_drop=0.02, latency_ms=50, latency_jitter_ms=10),
        FaultPlan(rate_record_failure=0.3, retry_after=1.5, retry_after_http_date=True, timeout_s=0.25),
        FaultPlan(rate_500=1.0, paths=("/a", "/b/c")),
    ],
)
def test_describe_round_trips_through_parse(plan: FaultPlan) -> None:
    assert FaultPlan.parse(plan.describe()) == plan


def test_describe_is_compact_and_always_names_the_seed() -> None:
    assert FaultPlan().describe() == "none"
    assert FaultPlan(rate_429=0.1, retry_after=2).describe() == "429=0.1,retry_after=2,seed=0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("429", "'429' is not key=value"),
        ("429=", "'429=' is not key=value"),
        ("=0.1", "'=0.1' is not key=value"),
        ("404=0.1", "unknown key '404'"),
        ("429=lots", "'lots' is not a number"),
        ("429=nan", "not a finite number"),
        ("429=1.5", "between 0 and 1"),
        ("drop=-0.1", "between 0 and 1"),
        ("latency=-5", ">= 0"),
        ("seed=1.5", "fault item 'seed=1.5'"),
        ("retry_after_date=maybe", "not a boolean"),
        ("path=api", "must start with '/'"),
        ("429=0.1,429=0.2", "given more than once"),
        ("429=0.6,503=0.5", "must sum to at most 1"),
    ],
)
def test_parse_rejects_bad_items_clearly(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        FaultPlan.parse(text)
    assert message in str(info.value)


def test_parse_error_names_the_item_and_lists_valid_keys() -> None:
    with pytest.raises(ValueError) as info:
        FaultPlan.parse("429=0.1,lag=50")
    text = str(info.value)
    assert "'lag=50'" in text
    for key in ("429", "500", "503", "drop", "timeout", "record", "latency", "jitter", "retry_after", "seed"):
        assert key in text


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan(rate_429=2.0)
    with pytest.raises(ValueError, match="sum to at most 1"):
        FaultPlan(rate_500=0.7, rate_drop=0.7)
    with pytest.raises(ValueError, match="start with '/'"):
        FaultPlan(paths=("contacts",))


def test_retry_after_header_seconds_and_http_date() -> None:
    assert FaultPlan(retry_after=1).retry_after_header() == "1"
    assert FaultPlan(retry_after=1.5).retry_after_header() == "1.5"
    now = datetime(2024, 5, 1, 12, 0, 0, 400_000, tzinfo=UTC)
    header = FaultPlan(retry_after=2, retry_after_http_date=True).retry_after_header(now)
    assert header == "Wed, 01 May 2024 12:00:03 GMT"  # rounded up: never earlier than asked
    assert (parsedate_to_datetime(header) - now).total_seconds() >= 2


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_fault_sequence() -> None:
    plan = FaultPlan(seed=11, rate_429=0.2, rate_500=0.05, rate_503=0.1, rate_timeout=0.05, rate_drop=0.1)
    first, second = FaultInjector(plan), FaultInjector(plan)
    sequence = [first.decide() for _ in range(500)]
    assert sequence == [second.decide() for _ in range(500)]
    other = FaultInjector(dataclasses.replace(plan, seed=12))
    assert sequence != [other.decide() for _ in range(500)]
    assert set(sequence) == {None, "429", "500", "503", "timeout", "drop"}
    for kind in ("429", "500", "503", "timeout", "drop"):
        assert first.counts[kind] == sequence.count(kind)
    assert first.decisions == 500
    # Roughly the asked-for rates (500 draws; generous bounds).
    assert 60 <= sequence.count("429") <= 140
    assert sequence.count(None) > 150


def test_record_and_latency_draws_do_not_shift_request_decisions() -> None:
    plain = FaultInjector(FaultPlan(seed=5, rate_503=0.3))
    busy = FaultInjector(
        FaultPlan(seed=5, rate_503=0.3, rate_record_failure=0.5, latency_ms=20, latency_jitter_ms=10)
    )
    decisions = []
    for _ in range(200):
        decisions.append(plain.decide())
        assert 0.010 <= busy.latency_s() <= 0.030
        for _ in range(3):
            busy.record_fails()
        assert busy.decide() == decisions[-1]
    assert busy.counts["record"] > 0
    a, b = (FaultInjector(FaultPlan(seed=9, rate_record_failure=0.4)) for _ in range(2))
    assert [a.record_fails() for _ in range(300)] == [b.record_fails() for _ in range(300)]
    assert a.counts["record"] == b.counts["record"] > 0


def test_empty_plan_never_faults_and_counts_every_kind() -> None:
    injector = FaultInjector()
    assert all(injector.decide() is None for _ in range(100))
    assert not any(injector.record_fails() for _ in range(100))
    assert injector.latency_s() == 0.0
    assert injector.counts == dict.fromkeys(FAULT_KINDS, 0)


def test_paths_match_whole_segments() -> None:
    injector = FaultInjector(FaultPlan(), default_paths=FAULTABLE_PATHS)
    assert injector.applies_to(SINGLE)
    assert injector.applies_to(BATCH)
    assert not injector.applies_to("/api/v1beta/contactsx")
    assert not injector.applies_to("/api/v0/tags")
    narrowed = FaultInjector(FaultPlan(paths=(BATCH,)), default_paths=FAULTABLE_PATHS)
    assert narrowed.applies_to(BATCH)
    assert not narrowed.applies_to(SINGLE)


# --------------------------------------------------------------------------- each fault on the wire


def test_429_carries_retry_after_and_stores_nothing() -> None:
    with serve(FaultPlan(rate_429=1.0, retry_after=2)) as (client, state):
        response = client.put(SINGLE, json=contact("c1"))
        assert response.status_code == 429
        assert response.headers["retry-after"] == "2"
        body = response.json()
        assert body["status"] == 429
        assert body["msg"] == "Too Many Requests"
        assert body["errors"][0]["code"] == "rate_limited"
        assert state.contacts == {}
        assert client.get("/_emulator/stats").json()["faults"]["429"] == 1


def test_429_retry_after_as_http_date() -> None:
    with serve(FaultPlan(rate_429=1.0, retry_after=1, retry_after_http_date=True)) as (client, _state):
        header = client.put(SINGLE, json=contact("c1")).headers["retry-after"]
        assert header.endswith(" GMT")
        assert parsedate_to_datetime(header) > datetime.now(UTC)


@pytest.mark.parametrize(
    ("key", "status", "code"), [("500", 500, "internal_error"), ("503", 503, "service_unavailable")]
)
def test_5xx_error_envelope_and_nothing_stored(key: str, status: int, code: str) -> None:
    with serve(FaultPlan.parse(f"{key}=1")) as (client, state):
        response = client.put(BATCH, json={"contacts": [contact("c1"), contact("c2")]})
        assert response.status_code == status
        body = response.json()
        assert body["status"] == status
        assert body["errors"][0]["code"] == code
        assert body["data"] is None
        assert state.contacts == {}
        assert state.faults.counts[key] == 1


@pytest.mark.parametrize("path", [SINGLE, BATCH])
def test_drop_applies_the_upsert_then_cuts_the_response(path: str) -> None:
    payload: Any = contact("c1") if path == SINGLE else {"contacts": [contact("c1"), contact("c2")]}
    with serve(FaultPlan(rate_drop=1.0)) as (client, state):
        with pytest.raises(httpx.RemoteProtocolError):
            client.put(path, json=payload)
        # The destination applied the write although the sender never heard back.
        assert state.contact("c1") is not None
        assert state.upsert_counts["c1"] == 1
        assert state.requests[-1].fault == "drop"
        assert state.requests[-1].status == 200
        stats = client.get("/_emulator/stats").json()
        assert stats["faults"]["drop"] == 1
        assert stats["upsert_counts_over_1"] == 0
        # The sender's replay of the in-flight request is the only way to apply twice.
        with pytest.raises(httpx.RemoteProtocolError):
            client.put(path, json=payload)
        assert state.upsert_counts["c1"] == 2
        assert client.get("/_emulator/stats").json()["upsert_counts_over_1"] == (1 if path == SINGLE else 2)


def test_timeout_fires_the_client_read_timeout_and_applies_nothing() -> None:
    with serve(FaultPlan(rate_timeout=1.0, timeout_s=0.5), read_timeout=0.2) as (client, state):
        with pytest.raises(httpx.ReadTimeout):
            client.put(SINGLE, json=contact("c1"))
        assert client.get("/_emulator/stats").json()["faults"]["timeout"] == 1
    # The server has shut down, so the faulted handler has finished: still nothing applied.
    assert state.contacts == {}
    assert state.upsert_counts == {}
    assert [r.fault for r in state.requests] == ["timeout"]


def test_timeout_late_answer_is_a_504_never_a_success() -> None:
    """A client that waits longer than ``timeout_s`` gets a retryable 504, and nothing applied."""
    with serve(FaultPlan(rate_timeout=1.0, timeout_s=0.05)) as (client, state):
        response = client.put(SINGLE, json=contact("c1"))
        assert response.status_code == 504
        assert response.json()["errors"][0]["code"] == "timeout"
        assert state.contacts == {}


def test_record_failure_fails_that_entry_only_and_does_not_store_it() -> None:
    ids = [f"r{i}" for i in range(12)]
    with serve(FaultPlan(seed=3, rate_record_failure=0.5)) as (client, state):
        response = client.put(BATCH, json={"contacts": [contact(ext) for ext in ids]})
        assert response.status_code == 200
        results = response.json()["data"]
    failed = [r for r in results if r["status"] == "failed"]
    ok = [r for r in results if r["status"] != "failed"]
    assert failed and ok  # seed 3 gives a mix; the seed makes that stable
    assert len(failed) == state.faults.counts["record"]
    for entry in failed:
        assert entry["errors"] == [
            {"code": "temporarily_unavailable", "message": entry["errors"][0]["message"]}
        ]
        assert entry["id"] is None
        assert state.contact(entry["external_reference_id"]) is None
        assert entry["external_reference_id"] not in state.upsert_counts
    for entry in ok:
        assert state.contact(entry["external_reference_id"]) is not None
    assert [r["external_reference_id"] for r in results] == ids


def test_record_failure_keeps_validation_errors_and_skips_the_single_endpoint() -> None:
    bad = {"external_reference_id": "bad", "source_type": "x", "phone_numbers": [{"type": "m", "value": "1"}]}
    with serve(FaultPlan(rate_record_failure=1.0)) as (client, state):
        results = client.put(BATCH, json={"contacts": [bad, contact("b1")]}).json()["data"]
        assert results[0]["errors"][0]["code"] == "invalid_phone_number"
        assert results[1]["errors"][0]["code"] == "temporarily_unavailable"
        assert state.faults.counts["record"] == 1
        # Per-record failure is a batch concept: the single upsert still applies.
        assert client.put(SINGLE, json=contact("s1")).status_code == 200
        assert state.contact("s1") is not None


def test_faults_never_touch_catalogs_gdpr_or_emulator_routes() -> None:
    with serve(FaultPlan(rate_503=1.0, latency_ms=0)) as (client, state):
        for _ in range(5):
            assert client.get("/api/v0/tags").status_code == 200
            assert client.get("/api/v0/custom_properties").status_code == 200
        assert client.delete("/api/v0/people/cleanup/gdpr/nobody").status_code == 404
        assert client.get("/_emulator/stats").status_code == 200
        assert state.faults.decisions == 0
        assert all(r.fault is None for r in state.requests)
        assert client.put(SINGLE, json=contact("c1")).status_code == 503


def test_plan_paths_narrow_the_faulted_endpoints() -> None:
    with serve(FaultPlan(rate_429=1.0, paths=(BATCH,))) as (client, _state):
        assert client.put(SINGLE, json=contact("c1")).status_code == 200
        assert client.put(BATCH, json={"contacts": [contact("c2")]}).status_code == 429


def test_latency_is_added_to_faultable_requests() -> None:
    # a second of latency: a request that is not faultable is told apart by a wide margin, even on a loaded machine
    with serve(FaultPlan(latency_ms=1000)) as (client, _state):
        started = time.perf_counter()
        assert client.put(SINGLE, json=contact("c1")).status_code == 200
        assert time.perf_counter() - started >= 1.0
        started = time.perf_counter()
        assert client.get("/api/v0/tags").status_code == 200
        assert time.perf_counter() - started < 0.9


def test_stats_without_faults() -> None:
    with serve(None) as (client, _state):
        client.put(SINGLE, json=contact("c1"))
        client.put(SINGLE, json=contact("c1"))
        assert client.get("/_emulator/stats").json() == {
            "contacts": 1,
            "requests": 2,
            "faults": dict.fromkeys(FAULT_KINDS, 0),
            "upsert_counts_over_1": 1,
        }


def test_drop_in_process_surfaces_as_injected_drop_after_applying() -> None:
    app = create_app(faults=FaultPlan(rate_drop=1.0))

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hc.test", headers=KEY) as client:
            await client.put(SINGLE, json=contact("c1"))

    with pytest.raises(InjectedDrop):
        asyncio.run(go())
    assert app.state.emulator.upsert_counts == {"c1": 1}


def test_a_retrying_sender_duplicates_only_in_flight_replays() -> None:
    """Mixed faults, a naive retrying sender: every record lands; only dropped batches repeat."""
    plan = FaultPlan.parse("429=0.15,503=0.1,500=0.05,drop=0.1,record=0.1,retry_after=0,seed=7")
    batches = [[f"u{b}-{i}" for i in range(5)] for b in range(20)]
    replayed: set[str] = set()
    with serve(plan) as (client, state):
        for batch in batches:
            pending = list(batch)
            for _attempt in range(30):
                if not pending:
                    break
                try:
                    response = client.put(BATCH, json={"contacts": [contact(ext) for ext in pending]})
                except httpx.RemoteProtocolError:
                    replayed.update(pending)  # applied, unacknowledged: the resend is a replay
                    continue
                if response.status_code != 200:
                    continue
                pending = [
                    r["external_reference_id"] for r in response.json()["data"] if r["status"] == "failed"
                ]
            assert not pending
        stats = client.get("/_emulator/stats").json()
    everyone = {ext for batch in batches for ext in batch}
    assert set(state.contacts) == everyone
    duplicated = {ext for ext, n in state.upsert_counts.items() if n > 1}
    assert duplicated <= replayed
    assert stats["upsert_counts_over_1"] == len(duplicated)
    assert stats["faults"]["drop"] > 0 and stats["faults"]["record"] > 0 and stats["faults"]["429"] > 0
