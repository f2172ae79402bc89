"""`destkit retry` re-sends what the last run could not deliver; metrics reconcile with the report."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import EmulatorState, create_app
from destkit.runtime import Status
from destkit.runtime.cli.server import running_server
from destkit.runtime.ops.metrics import MetricsServer, prometheus_text
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config, in_process_sync
from tests.runtime.engine.test_send_contacts import audience


def write_csv(path: Path, names: dict[int, str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "first_name", "phone"])
        for row in range(1, 6):
            w.writerow([f"u{row}", names.get(row, f"F{row}"), f"+1415555000{row}"])


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "destkit.runtime.cli.app", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_retry_resends_only_the_dead_lettered_records_with_their_current_data(tmp_path: Path) -> None:
    audience_csv = tmp_path / "a.csv"
    write_csv(audience_csv, {})
    config = tmp_path / "sync.yaml"
    config.write_text("destination: hello_charles\naction: send_contacts\nsettings: {subdomain: acme}\n"
                      "secrets: {api_key: {env: HC_KEY}}\n"
                      "mapping: {external_reference_id: user_id, first_name: first_name, phone_number: phone}\n"
                      "options: {max_attempts: 1, concurrency: 1}\n", encoding="utf-8")
    env = {**os.environ, "HC_KEY": API_KEY}
    state = EmulatorState()
    common = ["--input", str(audience_csv), "--allow-http", "--state", str(tmp_path / "s.sqlite"), "--quiet"]
    failing = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=state,
                         faults=FaultPlan(rate_503=1.0))
    with running_server(failing) as url:
        first = cli("sync", str(config), "--base-url", url, *common, env=env)
    assert first.returncode == 1
    [summary_file] = (tmp_path / "runs").glob("*/report.summary.json")  # the run's own folder beside the store
    summary = orjson.loads(summary_file.read_bytes())
    assert (summary["dead_lettered"], summary["reasons"]) == (5, {"server_error": 5})
    assert state.contacts == {}
    write_csv(audience_csv, {3: "Changed"})  # the source changed since
    healthy = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, state=state)
    with running_server(healthy) as url:
        again = cli("retry", str(config), "--base-url", url, *common, env=env)
        nothing = cli("retry", str(config), "--base-url", url, *common, env=env)
    assert again.returncode == 0, again.stderr
    assert "Retrying 5 records" in again.stdout
    assert sorted(state.contacts) == ["u1", "u2", "u3", "u4", "u5"]
    assert state.contacts["u3"].first_name == "Changed"
    assert nothing.returncode == 0
    assert "Nothing to retry" in nothing.stdout


def test_prometheus_counters_equal_the_run_summary() -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    records = audience(40)  # row 7 has a malformed phone
    result = in_process_sync(app).run(records)
    text = prometheus_text(result.summary)
    labels = {"run_id": result.summary.run_id, "destination": "hello_charles", "action": "send_contacts"}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}

    def value(name: str, **extra: str) -> float:
        return samples[(name, tuple(sorted({**labels, **extra}.items())))]

    assert value("destkit_records_received_total") == 40
    assert value("destkit_records_total", outcome="delivered") == 39
    assert value("destkit_records_total", outcome="invalid") == 1
    assert value("destkit_records_not_delivered_total", reason="invalid_phone") == 1
    assert value("destkit_requests_total") == result.summary.requests
    total = sum(v for (name, _labels), v in samples.items() if name == "destkit_records_total")
    assert total == result.summary.received == result.summary.count(Status.DELIVERED) + 1


def test_metrics_server_serves_the_published_summary() -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    result = in_process_sync(app, hc_config()).run(audience(3))
    server = MetricsServer(0)
    try:
        server.publish(result.summary)
        body = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    finally:
        server.close()
    assert body == prometheus_text(result.summary)
