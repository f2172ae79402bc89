"""What the CLI does besides parsing arguments and printing: run a file to a report, and the demo.

`run_file` streams records into a sync with a JSONL report as the outcome sink and writes the run
summary beside it; `destkit sync` and `destkit demo` both use it. The demo writes a sample audience
with a few planted problems and a sync config, serves the destination's emulator in-process (found
through the spec's `emulator` import path, so nothing here imports a destination) and runs the sync
against it, then checks that every planted problem came out as the outcome it should.
"""

from __future__ import annotations

import csv
import inspect
import os
import random
import secrets
import shlex
import socket
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from destkit.runtime.engine import ProgressCallback, RunResult, Sync, build_sync
from destkit.runtime.engine.report import JsonlReport
from destkit.runtime.engine.sources import read_records
from destkit.runtime.engine.state import StateStore
from destkit.runtime.outcomes import OutcomeCallback, Status
from destkit.runtime.spec.hooks import load_hook
from destkit.runtime.spec.loader import load_spec
from destkit.runtime.spec.models import DestinationSpec

DEMO_DIR_ENV = "DESTKIT_DEMO_DIR"
DEMO_KEY_ENV = "DESTKIT_DEMO_API_KEY"
DEMO_DESTINATION = "hello_charles"
DEMO_BASE_URL = "http://demo.hello-charles.test"
DEMO_ROWS = 2500
DEMO_TAGS = ("vip", "newsletter", "summer_sale", "984")
"""Tags the demo workspace has; the same as the emulator's defaults, so `destkit emulate` serves them too."""
DEMO_CUSTOM_PROPERTIES = (
    ("loyalty_tier", "Loyalty Tier"),
    ("plan", "Plan"),
    ("ltv", "LTV"),
    ("score", "Score"),
)
"""(technical name, display label) of the demo workspace's custom properties."""
DEFAULT_EMULATOR_KEY = "emulator-key"

AUDIENCE_COLUMNS = ("customer_id", "first_name", "last_name", "phone", "email", "segments", "properties")

DEMO_CONFIG = f"""\
# A destkit sync config, written by `destkit demo`.
destination: {DEMO_DESTINATION}
action: send_contacts
settings:
  subdomain: demo                   # <subdomain>.hello-charles.com
secrets:
  api_key: {{env: {DEMO_KEY_ENV}}}   # a reference: the key itself never goes into a file
mapping:
  external_reference_id: customer_id
  first_name: first_name
  last_name: last_name
  phone_number: phone               # must already be E.164; add transform: [{{e164: {{region: DE}}}}] to normalise
  email_address: email
  tags: segments                    # comma-separated in the CSV cell
  custom_properties: properties     # a JSON object in the CSV cell
options:
  on_unknown_tag: reject
"""

_FIRST = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hannes",
    "Ida",
    "Jonas",
    "Lena",
    "Max",
    "Nora",
    "Oskar",
    "Paula",
    "Quentin",
    "Rosa",
    "Simon",
    "Tara",
    "Umut",
    "Vera",
    "Wim",
    "Yara",
    "Zoe",
)
_LAST = (
    "Schmidt",
    "Müller",
    "Weber",
    "Fischer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Braun",
    "Zimmermann",
    "Krüger",
    "Hartmann",
    "Lange",
    "Yilmaz",
    "Nowak",
)
_TIERS = ("bronze", "silver", "gold", "platinum")
_PLANS = ("free", "plus", "pro")


# --- running a record stream into a report ------------------------------------------------------


def default_report_path(input_path: Path) -> Path:
    """`audience.csv` → `audience.report.jsonl`, next to the input."""
    return input_path.with_name(f"{input_path.stem}.report.jsonl")


def summary_path_for(report_path: Path) -> Path:
    """Where `JsonlReport.write_summary` puts the summary of a report."""
    return report_path.with_suffix(".summary.json")


async def run_to_report(
    sync: Sync,
    records: Iterable[Any],
    report_path: Path,
    *,
    on_outcome: OutcomeCallback | None = None,
    progress: ProgressCallback | None = None,
    state: StateStore | None = None,
    **run_options: Any,
) -> tuple[RunResult, Path]:
    """Run `records` through `sync`, one report line per record not delivered; write the summary beside it.

    With a state store the report is rewritten from the store when the run ends, so a resumed run's
    report accounts for the rows finished before the crash too, each exactly once.
    """
    include_delivered = sync.action.report_delivered  # e.g. deletions: the report says each was scheduled
    report = JsonlReport(report_path, include_delivered=include_delivered)
    callbacks: list[OutcomeCallback] = [report] if on_outcome is None else [report, on_outcome]
    try:
        result = await sync.arun(records, on_outcome=callbacks, progress=progress, state=state, **run_options)
    finally:
        report.close()
    summary = result.summary
    if state is not None and summary.run_id and state.run(summary.run_id) is not None:
        report = JsonlReport(report_path, include_delivered=include_delivered)
        try:
            for outcome in state.outcomes(summary.run_id, not_delivered_only=not include_delivered):
                report(outcome)
        finally:
            report.close()
    summary.report_path = str(report_path)
    return result, report.write_summary(summary)


def counting(records: Iterable[Any], tick: Callable[[], None]) -> Iterator[Any]:
    """Pass `records` through, calling `tick` for each (drives a "records read" counter)."""
    for record in records:
        tick()
        yield record


def read_report_lines(path: Path, limit: int) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    with path.open("rb") as fh:
        for raw in fh:
            if len(lines) >= limit:
                break
            if raw.strip():
                lines.append(orjson.loads(raw))
    return lines


# --- the demo -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planted:
    """A problem planted in the demo audience and the outcome it must come out as."""

    row: int
    what: str
    outcome: str
    reason: str | None = None


@dataclass
class DemoRun:
    folder: Path
    audience: Path
    config: Path
    report: Path
    summary_file: Path
    result: RunResult
    planted: list[Planted]
    problems: list[str] = field(default_factory=list)

    @property
    def as_expected(self) -> bool:
        return not self.problems


def load_emulator(destination: str, **options: Any) -> tuple[DestinationSpec, Any]:
    """The spec and an emulator app built by the factory its `emulator:` import path names."""
    spec = load_spec(destination)
    if not spec.emulator:
        raise LookupError(f"the {spec.name} spec names no emulator (`emulator:` in the spec).")
    try:
        create_app = load_hook(spec.emulator)
    except (ImportError, ValueError) as exc:
        raise ImportError(f"cannot load the emulator {spec.emulator}: {exc}") from None
    # start from the emulator's own test profile, then apply the options this factory accepts
    module = sys.modules.get(spec.emulator.partition(":")[0])
    profile = getattr(module, "testing_profile", None)
    app_options: dict[str, Any] = {}
    if callable(profile):
        app_options.update(profile(next(iter(spec.actions))).get("app_options", {}))
    accepted = inspect.signature(create_app).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    ignored = [k for k in options if k not in accepted and not takes_any]
    app_options.update({k: v for k, v in options.items() if k in accepted or takes_any})
    if ignored and ignored != ["api_key"]:
        raise ValueError(f"the {spec.name} emulator has no option {', '.join(ignored)}")
    return spec, create_app(**app_options)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket, bound before the server starts so a taken port is a clear error."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # inherited by accepted sockets on Linux; spares each response a delayed-ACK stall (~40 ms)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def http_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def demo_dir() -> Path:
    return Path(os.environ.get(DEMO_DIR_ENV) or "destkit-demo")


def _contact(rng: random.Random, row: int) -> dict[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    segments = rng.sample(DEMO_TAGS[:3], rng.randint(0, 2))
    props: dict[str, Any] = {"loyalty_tier": rng.choice(_TIERS)}
    if rng.random() < 0.5:
        props["plan"] = rng.choice(_PLANS)
    if rng.random() < 0.3:
        props["ltv"] = round(rng.uniform(10, 5000), 2)
    return {
        "customer_id": f"C{row:05d}",
        "first_name": first,
        "last_name": last,
        "phone": f"+49151{10_000_000 + row:08d}",
        "email": f"{first.lower()}.{row}@example.com",
        "segments": ",".join(segments),
        "properties": orjson.dumps(props).decode(),
    }


def write_audience(path: Path, rows: int = DEMO_ROWS, seed: int = 7) -> list[Planted]:
    """A CSV of `rows` contacts (deterministic), with the planted problems it returns."""
    if rows < 100:
        raise ValueError("the demo audience needs at least 100 rows")
    rng = random.Random(seed)
    at = {
        name: max(2, rows * num // 100)
        for name, num in (
            ("phone", 1),
            ("tag", 16),
            ("label", 40),
            ("key", 55),
            ("existing", 71),
            ("quote", 89),
        )
    }
    planted = [
        Planted(
            at["phone"],
            "a national phone number '0151 1234 567' where E.164 is required",
            "invalid",
            "invalid_phone",
        ),
        Planted(
            at["tag"], "the tag 'platinum_club', which the workspace does not have", "invalid", "unknown_tag"
        ),
        Planted(
            at["label"],
            "the custom-property key 'Loyalty Tier' (the display name of loyalty_tier)",
            "invalid",
            "unknown_custom_property",
        ),
        Planted(at["key"], "no customer_id, so no external reference id", "invalid", "missing_required"),
        Planted(
            at["existing"],
            "the tag '984', which exists only in the workspace (read from its catalog)",
            "delivered",
        ),
        Planted(
            at["quote"],
            'a broken CSV line: an unbalanced quote in "Mia "The Boss"',
            "invalid",
            "malformed_input",
        ),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=AUDIENCE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in range(1, rows + 1):
            contact = _contact(rng, row)
            if row == at["phone"]:
                contact["phone"] = "0151 1234 567"
            elif row == at["tag"]:
                contact["segments"] = "vip,platinum_club"
            elif row == at["label"]:
                contact["properties"] = orjson.dumps({"Loyalty Tier": "gold"}).decode()
            elif row == at["key"]:
                contact["customer_id"] = ""
            elif row == at["existing"]:
                contact["segments"] = "newsletter,984"
            elif row == at["quote"]:
                # written by hand: a CSV writer would escape the quotes
                fh.write(f'C{row:05d},"Mia "The Boss",Schulz,+4915199999999,mia@example.com,vip,{{}}\n')
                continue
            writer.writerow(contact)
    return planted


def _check(run: DemoRun, rows: int) -> list[str]:
    """Where the run differs from what the planted audience must give."""
    summary = run.result.summary
    problems = []
    if summary.aborted:
        problems.append(f"the run was aborted: {summary.aborted}")
    if not summary.reconciles():
        problems.append("the outcome counts do not add up to the records received")
    if summary.received != rows:
        problems.append(f"{summary.received} records were read, expected {rows}")
    expected_reasons = Counter(p.reason for p in run.planted if p.reason)
    if dict(summary.reasons) != dict(expected_reasons):
        problems.append(f"reasons {dict(summary.reasons)}, expected {dict(expected_reasons)}")
    expected_delivered = rows - sum(1 for p in run.planted if p.outcome != Status.DELIVERED)
    if summary.delivered != expected_delivered:
        problems.append(f"{summary.delivered} delivered, expected {expected_delivered}")
    return problems


async def run_demo(
    folder: Path,
    *,
    rows: int = DEMO_ROWS,
    on_outcome: OutcomeCallback | None = None,
    progress: ProgressCallback | None = None,
    on_record: Callable[[], None] | None = None,
) -> DemoRun:
    """Write the audience and config into `folder`, run them against the in-process emulator."""
    folder.mkdir(parents=True, exist_ok=True)
    audience, config = folder / "audience.csv", folder / "sync.yaml"
    planted = write_audience(audience, rows)
    config.write_text(DEMO_CONFIG, encoding="utf-8")
    api_key = "demo-" + secrets.token_urlsafe(12)
    os.environ[DEMO_KEY_ENV] = api_key
    _spec, app = load_emulator(
        DEMO_DESTINATION, api_key=api_key, tags=DEMO_TAGS, custom_properties=DEMO_CUSTOM_PROPERTIES
    )
    sync = build_sync(config, base_url=DEMO_BASE_URL, transport=httpx.ASGITransport(app=app), allow_http=True)
    report = default_report_path(audience)
    records = read_records(audience) if on_record is None else counting(read_records(audience), on_record)
    result, summary_file = await run_to_report(
        sync, records, report, on_outcome=on_outcome, progress=progress
    )
    run = DemoRun(folder, audience, config, report, summary_file, result, planted)
    run.problems = _check(run, rows)
    return run


OUTCOME_MEANING = {
    "delivered": "delivered, with warnings",
    "invalid": "invalid (failed destkit's checks, never sent)",
    "rejected": "rejected (sent, and the destination refused it)",
    "dead_lettered": "dead-lettered (sending kept failing; the next run retries it)",
    "skipped": "skipped (unchanged since it was last delivered)",
}


def explain(line: Mapping[str, Any], planted: Mapping[int, Planted] | None = None) -> str:
    """One report line in words (the line itself carries the message with the fix)."""
    row, key, outcome = line.get("row"), line.get("key"), str(line.get("outcome"))
    text = (
        f"record {row} of the input, "
        + (f"key {key}" if key else "no key")
        + f": {OUTCOME_MEANING.get(outcome, outcome)}"
    )
    if line.get("reason"):
        text += f"; reason {line['reason']}"
    if line.get("field"):
        text += f" in field {line['field']}"
    if line.get("destination_status"):
        text += f"; the destination answered HTTP {line['destination_status']}"
    text += "."
    if planted and isinstance(row, int) and row in planted:
        text += f" Planted: {planted[row].what}."
    return text


def next_steps(run: DemoRun) -> list[str]:
    """Commands that repeat the demo over HTTP with the emulator on a port."""
    config, audience = shlex.quote(str(run.config)), shlex.quote(str(run.audience))
    target = "--base-url http://127.0.0.1:8080 --allow-http"
    return [
        f"export {DEMO_KEY_ENV}=any-key-you-like      # the config reads the API key from this variable",
        f'destkit emulate {DEMO_DESTINATION} --api-key "${DEMO_KEY_ENV}"   # serves the emulator on port 8080',
        "# then, in another shell with the same variable set:",
        f"destkit preview {config} --input {audience} -n 3 {target}",
        f"destkit sync {config} --input {audience} {target}",
    ]


__all__ = [
    "DEFAULT_EMULATOR_KEY",
    "DEMO_DIR_ENV",
    "DEMO_KEY_ENV",
    "DemoRun",
    "Planted",
    "bind_socket",
    "counting",
    "default_report_path",
    "demo_dir",
    "explain",
    "http_url",
    "load_emulator",
    "next_steps",
    "read_report_lines",
    "run_demo",
    "run_to_report",
    "summary_path_for",
    "write_audience",
]
