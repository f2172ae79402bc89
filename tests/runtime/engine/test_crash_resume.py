"""A bounce test in the spirit of Kafka's: SIGKILL a sync three times at random points, resume each time.

Afterwards the emulator holds exactly the valid contacts, the report names every non-delivered
row exactly once, and the summary accounts for every row. Contacts may be upserted twice only when
their batch was in flight at a kill (upserts are idempotent).
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.conftest import API_KEY, PROPERTIES, TAGS

pytestmark = pytest.mark.slow

ROWS = 12_000
BAD = {11: "invalid_phone", 4_321: "unknown_tag", 9_999: "missing_required"}


def write_audience(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "first_name", "phone", "segments"])
        for row in range(1, ROWS + 1):
            user_id = "" if BAD.get(row) == "missing_required" else f"u{row:05d}"
            phone = "415-555-0101" if BAD.get(row) == "invalid_phone" else f"+1415{row:07d}"
            tag = "no_such_tag" if BAD.get(row) == "unknown_tag" else TAGS[row % len(TAGS)]
            w.writerow([user_id, f"F{row}", phone, tag])


def sync_command(config: Path, audience: Path, url: str, state: Path, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "destkit.runtime.cli.app", "sync", str(config), "--input", str(audience),
           "--base-url", url, "--allow-http", "--state", str(state), "--quiet",
           "--report", str(audience.with_suffix(".report.jsonl"))]
    return cmd + (["--resume"] if resume else [])


def test_sigkill_three_times_then_resume_accounts_for_every_row_once(tmp_path: Path) -> None:
    audience = tmp_path / "audience.csv"
    write_audience(audience)
    config = tmp_path / "sync.yaml"
    config.write_text(
        "destination: hello_charles\naction: send_contacts\nsettings: {subdomain: acme}\n"
        "secrets: {api_key: {env: HC_KEY}}\n"
        "mapping: {external_reference_id: user_id, first_name: first_name, phone_number: phone, tags: segments}\n"
        "options: {concurrency: 1}\n", encoding="utf-8")
    env = {**os.environ, "HC_KEY": API_KEY}
    state = tmp_path / "state.sqlite"
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES,
                     faults=FaultPlan(latency_ms=400), keep_bodies=True)
    emulator = app.state.emulator
    rng = random.Random(20261122)
    kills = 0
    with running_server(app) as url:
        for attempt in range(3):
            proc = subprocess.Popen(sync_command(config, audience, url, state, resume=attempt > 0), env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(1.0, 2.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        final = subprocess.run(sync_command(config, audience, url, state, resume=True), env=env,
                               capture_output=True, text=True, timeout=120)
    assert kills == 3, "the sync finished before it could be killed three times; slow the emulator down"
    assert final.returncode == 1, final.stderr
    expected = {f"u{r:05d}" for r in range(1, ROWS + 1) if r not in BAD}
    assert set(emulator.contacts) == expected
    report = [orjson.loads(line) for line in audience.with_suffix(".report.jsonl").read_bytes().splitlines()]
    assert sorted((line["row"], line["reason"]) for line in report) == sorted(BAD.items())
    summary = orjson.loads(audience.with_suffix(".report.summary.json").read_bytes())
    assert (summary["received"], summary["delivered"], summary["invalid"]) == (ROWS, ROWS - len(BAD), len(BAD))
    applied: dict[str, int] = {}
    for request in emulator.requests:
        if request.path.endswith("/batch") and request.body:
            for contact in orjson.loads(request.body)["contacts"]:
                applied[contact["external_reference_id"]] = applied.get(contact["external_reference_id"], 0) + 1
    replayed = {k for k, n in applied.items() if n > 1}
    # concurrency 1: at most the one batch in flight at each of the three kills is sent twice
    assert len(replayed) <= 3 * 1000
    assert set(emulator.upsert_counts) == expected
