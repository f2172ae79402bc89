"""Metrics are read with Prometheus' own parser and reconcile with the run summary, while and after a run.

Scrapes are parsed by `prometheus_client.parser.text_string_to_metric_families`, the reference
parser; a tiny Starlette app on loopback stands in for a Pushgateway and records what it is sent.
The CLI runs as a subprocess against the Hello Charles emulator on a real port.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.runtime.ops.metrics import MetricsServer, prometheus_text, push_summary
from destkit.runtime.outcomes import REASONS, RunSummary, Status
from tests.conftest import API_KEY, PROPERTIES, TAGS, in_process_sync
from tests.runtime.engine.test_send_contacts import audience

FAMILIES = {
    "destkit_records_received": "counter",
    "destkit_records": "counter",
    "destkit_records_not_delivered": "counter",
    "destkit_warnings": "counter",
    "destkit_batches": "counter",
    "destkit_requests": "counter",
    "destkit_retries": "counter",
    "destkit_sent_bytes": "counter",
}
WAIT_S = 60  # a bound so a broken run never hangs the suite; nothing is timed


def parsed(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value, as Prometheus reads it."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, base: dict[str, str],
          **extra: str) -> float:
    return samples[(name, tuple(sorted({**base, **extra}.items())))]


def reconcile(text: str, summary: dict[str, Any]) -> None:
    """Every figure of the scrape equals the summary's (the summary JSON, as `destkit sync` writes it)."""
    samples = parsed(text)
    base = {"run_id": summary["run_id"], "destination": summary["destination"], "action": summary["action"]}
    assert value(samples, "destkit_records_received_total", base) == summary["received"]
    assert {s.value: value(samples, "destkit_records_total", base, outcome=s.value) for s in Status} == {
        s.value: summary[s.value] for s in Status}
    for reason in REASONS:
        assert value(samples, "destkit_records_not_delivered_total", base, reason=reason) == summary["reasons"].get(
            reason, 0)
        assert value(samples, "destkit_warnings_total", base, reason=reason) == summary["warnings"].get(reason, 0)
    for name, key in (("batches", "batches"), ("requests", "requests"), ("retries", "retries"),
                      ("sent_bytes", "bytes_sent")):
        assert value(samples, f"destkit_{name}_total", base) == summary[key]


def family_types(text: str) -> dict[str, str]:
    return {family.name: family.type for family in text_string_to_metric_families(text)}


# --- the exposition -------------------------------------------------------------------------------


def test_a_run_with_failures_reconciles_with_the_summary_as_the_reference_parser_reads_it() -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    result = in_process_sync(app).run(audience(40))  # row 7 has a malformed phone
    summary = result.summary.to_dict()
    assert (summary["delivered"], summary["invalid"], summary["reasons"]) == (39, 1, {"invalid_phone": 1})
    reconcile(prometheus_text(result.summary), summary)


def test_the_records_by_outcome_add_up_to_the_records_received_and_not_delivered_to_the_rest() -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    summary = in_process_sync(app).run(audience(40)).summary
    samples = parsed(prometheus_text(summary))
    by_outcome = sum(v for (name, _), v in samples.items() if name == "destkit_records_total")
    not_delivered = sum(v for (name, _), v in samples.items() if name == "destkit_records_not_delivered_total")
    assert (by_outcome, not_delivered) == (summary.received, summary.received - summary.delivered)


def test_every_family_is_a_counter_named_with_its_unit_before_total() -> None:
    text = prometheus_text(RunSummary(run_id="r1", destination="d", action="a", bytes_sent=12))
    assert family_types(text) == FAMILIES
    assert "destkit_sent_bytes_total{" in text and "bytes_sent" not in text


# --- the server -----------------------------------------------------------------------------------


def test_the_first_scrape_already_shows_every_counter_at_zero_under_the_run_id() -> None:
    first = RunSummary(run_id="run-1", destination="hello_charles", action="send_contacts")
    server = MetricsServer(0, summary=first)
    try:
        text = httpx.get(server.url, timeout=10).text
    finally:
        server.close()
    assert family_types(text) == FAMILIES
    samples = parsed(text)
    assert {dict(labels)["run_id"] for _name, labels in samples} == {"run-1"}
    assert set(samples.values()) == {0.0}


def test_the_server_serves_the_published_summary_and_binds_the_host_it_is_given() -> None:
    summary = RunSummary(run_id="run-2", destination="d", action="a", received=5, requests=2)
    server = MetricsServer(0, host="127.0.0.2")
    try:
        server.publish(summary)
        body = httpx.get(f"http://127.0.0.2:{server.port}/metrics", timeout=10).text
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10)
    finally:
        server.close()
    assert body == prometheus_text(summary)


# --- the Pushgateway ------------------------------------------------------------------------------


@contextmanager
def gateway() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A stand-in Pushgateway on loopback: records (method, path, body) and answers 200 as the real one does."""
    received: list[tuple[str, str, bytes]] = []

    async def push(request: Request) -> Response:
        received.append((request.method, request.url.path, await request.body()))
        return Response(status_code=200)

    app = Starlette(routes=[Route("/metrics/{path:path}", push, methods=["PUT", "POST"])])
    with running_server(app) as url:
        yield url, received


def test_push_summary_puts_the_figures_in_the_group_of_the_destination_and_action() -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    summary = in_process_sync(app).run(audience(12)).summary
    with gateway() as (url, received):
        push_summary(url, summary)
    [(method, path, body)] = received
    assert (method, path) == ("PUT", "/metrics/job/destkit/action/send_contacts/destination/hello_charles")
    reconcile(body.decode(), summary.to_dict())


# --- the CLI --------------------------------------------------------------------------------------


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def cli_files(tmp_path: Path, rows: int) -> tuple[Path, Path, Path]:
    """A config and a CSV of `rows` contacts (row 3's phone is malformed); the summary path `destkit sync` writes."""
    config = tmp_path / "sync.yaml"
    config.write_text("destination: hello_charles\naction: send_contacts\nsettings: {subdomain: acme}\n"
                      "secrets: {api_key: {env: HC_KEY}}\n"
                      "mapping: {external_reference_id: user_id, first_name: first_name, phone_number: phone}\n",
                      encoding="utf-8")
    records = tmp_path / "a.csv"
    with records.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["user_id", "first_name", "phone"])
        for row in range(1, rows + 1):
            writer.writerow([f"u{row}", f"F{row}", "not a phone" if row == 3 else f"+1415555{row:04d}"])
    return config, records, tmp_path / "a.report.summary.json"


def destkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "destkit.runtime.cli.app", *args]


def scrape_until_finished(proc: subprocess.Popen[str], url: str, summary_file: Path) -> list[str]:
    """Every scrape from the first that connects until one taken after the summary file was written."""
    scrapes: list[str] = []
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and proc.poll() is None:
        finished = summary_file.exists()
        try:
            scrapes.append(httpx.get(url, timeout=5).text)
        except httpx.TransportError:
            continue
        if finished:
            return scrapes
    raise AssertionError(f"no scrape after the run ended (exit code {proc.poll()})")


def test_the_cli_serves_counters_from_the_first_scrape_and_keeps_the_final_figures_while_lingering(
    tmp_path: Path,
) -> None:
    config, records, summary_file = cli_files(tmp_path, 30)
    port = free_port("127.0.0.2")
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    with running_server(app) as url:
        proc = subprocess.Popen(
            destkit("sync", str(config), "--input", str(records), "--base-url", url, "--allow-http", "--no-state",
                    "--quiet", "--metrics-host", "127.0.0.2", "--metrics-port", str(port), "--metrics-linger", "120",
                    "--report", str(summary_file.parent / "a.report.jsonl")),
            env={**os.environ, "HC_KEY": API_KEY}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            scrapes = scrape_until_finished(proc, f"http://127.0.0.2:{port}/metrics", summary_file)
            still_serving = proc.poll() is None
        finally:
            proc.terminate()
            proc.communicate(timeout=WAIT_S)
    summary = orjson.loads(summary_file.read_bytes())
    assert still_serving
    assert (summary["delivered"], summary["invalid"]) == (29, 1)
    assert all(family_types(text) == FAMILIES for text in scrapes)  # never an empty scrape
    assert {dict(labels)["run_id"] for text in scrapes for _name, labels in parsed(text)} == {summary["run_id"]}
    reconcile(scrapes[-1], summary)


def test_the_cli_pushes_the_final_figures_to_the_pushgateway(tmp_path: Path) -> None:
    config, records, summary_file = cli_files(tmp_path, 8)
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    with running_server(app) as url, gateway() as (gateway_url, received):
        done = subprocess.run(
            destkit("sync", str(config), "--input", str(records), "--base-url", url, "--allow-http", "--no-state",
                    "--quiet", "--metrics-pushgateway", gateway_url, "--report", str(summary_file.parent / "a.report.jsonl")),
            env={**os.environ, "HC_KEY": API_KEY}, capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 1, done.stderr  # row 3 is invalid
    [(method, path, body)] = received
    assert (method, path) == ("PUT", "/metrics/job/destkit/action/send_contacts/destination/hello_charles")
    reconcile(body.decode(), orjson.loads(summary_file.read_bytes()))


def test_a_pushgateway_that_cannot_be_reached_is_a_warning_and_the_exit_code_stays(tmp_path: Path) -> None:
    config, records, _summary_file = cli_files(tmp_path, 2)
    records.write_text("user_id,first_name,phone\nu1,F1,+14155550001\n", encoding="utf-8")
    closed = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    with running_server(app) as url:
        done = subprocess.run(
            destkit("sync", str(config), "--input", str(records), "--base-url", url, "--allow-http", "--no-state",
                    "--quiet", "--metrics-pushgateway", closed, "--report", str(tmp_path / "a.report.jsonl")),
            env={**os.environ, "HC_KEY": API_KEY}, capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 0
    assert f"warning: could not push the metrics to {closed}: [Errno 111] Connection refused." in done.stderr.splitlines()
