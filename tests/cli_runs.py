"""Helpers for tests that run `destkit sync` / `destkit retry` as a subprocess against a served emulator.

Not a test module: the files `test_run_failures.py`, `test_stop_signals.py`, `test_run_lock.py`,
`test_retry_latest_outcome.py`, `test_run_identity.py` and `test_output_files.py` share it, and the tests of
what `destkit dry-run --offline` says about an input (`offline_dry_run`).
"""

from __future__ import annotations

import asyncio
import csv
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson

from tests.conftest import API_KEY, TAGS

KEY_ENV = "HC_KEY"
CLI = [sys.executable, "-m", "destkit.runtime.cli.app"]
ENV = {**os.environ, KEY_ENV: API_KEY, "COLUMNS": "200"}


def write_config(folder: Path, options: str = "") -> Path:
    """A Send Contacts config reading the API key from $HC_KEY (`options` is YAML, e.g. `{concurrency: 1}`)."""
    path = folder / "sync.yaml"
    path.write_text(
        "destination: hello_charles\naction: send_contacts\nsettings: {subdomain: acme}\n"
        f"secrets: {{api_key: {{env: {KEY_ENV}}}}}\n"
        "mapping: {external_reference_id: user_id, first_name: first_name, phone_number: phone, tags: segments}\n"
        + (f"options: {options}\n" if options else ""), encoding="utf-8")
    return path


def write_audience(path: Path, rows: int, *, bad_phone_rows: frozenset[int] = frozenset()) -> Path:
    """`rows` valid contacts u00001, u00002, ...; `bad_phone_rows` get a phone the checks refuse."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "first_name", "phone", "segments"])
        for row in range(1, rows + 1):
            phone = "415-555-0101" if row in bad_phone_rows else f"+1415{row:07d}"
            w.writerow([f"u{row:05d}", f"F{row}", phone, TAGS[row % len(TAGS)]])
    return path


def sync_args(config: Path, audience: Path, url: str, state: Path, *more: str, command: str = "sync") -> list[str]:
    return [command, str(config), "--input", str(audience), "--base-url", url, "--allow-http", "--state", str(state),
            "--quiet", *more]


def run_cli(args: list[str], *, timeout: float = 120, prefix: list[str] | None = None,
            env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(prefix or []), *CLI, *args], env=env or ENV, capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=cwd)


def offline_dry_run(folder: Path, source: Path, mapping: str, *more: str,
                    options: str = "") -> subprocess.CompletedProcess[str]:
    """`destkit dry-run --offline` over `source` of a Send Contacts config (written to `folder`, catalogs given,
    so no destination is asked) whose `mapping` and `options` are YAML, e.g. `{external_reference_id: id}`;
    `more` are further arguments. Lines up to 300 characters, so a long error is one line."""
    config = folder / "sync.yaml"
    config.write_text(
        "destination: hello_charles\naction: send_contacts\nsettings: {subdomain: acme}\n"
        f"mapping: {mapping}\ncatalogs: {{tags: [], custom_properties: []}}\n"
        + (f"options: {options}\n" if options else ""), encoding="utf-8")
    return run_cli(["dry-run", str(config), "--input", str(source), "--offline", "--quiet",
                    "--state", str(folder / "state.sqlite"), *more], env={**os.environ, "COLUMNS": "300"})


def start_cli(args: list[str], stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, *args], env=ENV, stdout=stdout or subprocess.PIPE, stderr=stderr or subprocess.PIPE,
                            text=True)


class Gate:
    """An ASGI wrapper that lets the first `passes` writes (POST, PUT, ...) through and holds the rest until `open()`.

    Reads (GET: the catalogs) always pass. With it a test knows a run is mid-way, with batches in
    flight, without timing anything.
    """

    def __init__(self, app: Any, passes: int = 0) -> None:
        self.app = app
        self.passes = passes
        self.opened = threading.Event()
        self.held = 0  # writes waiting for `open()` now
        self._lock = threading.Lock()

    def open(self) -> None:
        self.opened.set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] != "GET":
            with self._lock:
                hold = self.passes <= 0
                self.passes -= 1
                self.held += hold
            while hold and not self.opened.is_set():
                await asyncio.sleep(0.01)
            with self._lock:
                self.held -= hold
        await self.app(scope, receive, send)


def state_rows(state: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the state store, read as another process would (read-only)."""
    if not state.exists():
        return []
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        db.close()


def outcome_rows(state: Path, run_id: str | None = None) -> list[int]:
    """The rows with an outcome in the state store (of one run, or of all), sorted."""
    if run_id is None:
        return sorted(r for (r,) in state_rows(state, "SELECT row FROM outcomes"))
    return sorted(r for (r,) in state_rows(state, "SELECT row FROM outcomes WHERE run_id = ?", run_id))


def wait_until(condition: Callable[[], bool], timeout: float = 60, what: str = "the condition") -> None:
    """Poll `condition` until it holds; fail (never hang) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def report_lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def run_report(state: Path, kind: str = "sync") -> Path:
    """The report of the state store's one run of `kind`, in the run's own folder beside the store."""
    [(run_id,)] = state_rows(state, "SELECT run_id FROM runs WHERE kind = ?", kind)
    return state.parent / "runs" / str(run_id) / "report.jsonl"


def summary_of(report: Path) -> dict[str, Any]:
    summary: dict[str, Any] = orjson.loads(report.with_suffix(".summary.json").read_bytes())
    return summary


def upserted_keys(emulator: Any) -> list[str]:
    """Every external_reference_id the emulator was sent in a batch upsert, once per time it was sent."""
    keys: list[str] = []
    for request in emulator.requests:
        if request.path.endswith("/batch") and request.body:
            keys += [c["external_reference_id"] for c in orjson.loads(request.body)["contacts"]]
    return keys
