"""A 20,000-contact sync against a destination that throttles, fails, drops connections and lags."""

from __future__ import annotations

import orjson
import pytest

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Outcome, Status, build_sync, load_spec
from destkit.runtime.cli.server import running_server
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config
from tests.runtime.engine.test_send_contacts import audience

pytestmark = pytest.mark.slow

FAULTS = FaultPlan(seed=11, rate_429=0.10, retry_after=0.2, rate_503=0.05, rate_drop=0.02,
                   rate_record_failure=0.01, latency_ms=50)


def test_20000_contacts_under_seeded_faults_all_land_and_only_in_flight_batches_replay() -> None:
    records = audience(20_000)
    bad = {7, 100, 250, 999, 1500, 2000, 2400}
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, faults=FAULTS, keep_bodies=True)
    state = app.state.emulator
    outcomes: list[Outcome] = []
    # batches of 100 rather than 1,000, so 200 requests meet the fault rates often enough to exercise each
    spec = load_spec("hello_charles").model_copy(deep=True)
    spec.actions["send_contacts"].batch.max_records = 100
    with running_server(app) as url:
        sync = build_sync(hc_config(options={"max_attempts": 12, "concurrency": 4}), spec=spec, base_url=url, allow_http=True)
        result = sync.run(records, on_outcome=outcomes.append)
    summary = result.summary
    assert summary.reconciles()
    assert summary.received == 20_000
    assert summary.count(Status.INVALID) == len(bad)
    assert summary.delivered == 20_000 - len(bad)
    assert sorted(o.row for o in outcomes) == list(range(1, 20_001))
    assert set(state.contacts) == {f"u{r:05d}" for r in range(1, 20_001) if r not in bad}
    faults = state.faults.counts
    assert faults["429"] > 0 and faults["503"] > 0 and faults["drop"] > 0 and faults["record"] > 0
    assert summary.retries > 0
    # a contact may be applied twice only if a batch carrying it was cut off after being applied
    in_flight: set[str] = set()
    for request in state.requests:
        if request.fault == "drop" and request.body:
            in_flight.update(c["external_reference_id"] for c in orjson.loads(request.body)["contacts"])
    replayed = {key for key, n in state.upsert_counts.items() if n > 1}
    assert replayed <= in_flight
