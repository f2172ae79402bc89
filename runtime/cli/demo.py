"""What the CLI does besides parsing arguments and printing: run a file to a report, and the demo.

`run_to_report` streams records into a sync with a JSONL report as the outcome sink and writes the
run summary beside it; `destkit sync` and `destkit demo` both use it. The demo takes a bundled
destination whose emulator module offers a `demo_profile()` (found through the spec's `emulator`
import path, so nothing here names or imports a destination), writes the profile's sample audience
with its planted problems and its sync config, serves the emulator in-process and runs the sync
against it, then checks that every planted problem came out as the outcome it should.
"""

from __future__ import annotations

import inspect
import os
import re
import secrets
import shlex
import socket
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import orjson

from destkit.runtime.engine import ProgressCallback, RunResult, Sync, build_sync
from destkit.runtime.engine.report import JsonlReport, summary_path_of
from destkit.runtime.engine.sources import read_records
from destkit.runtime.engine.state import StateStore
from destkit.runtime.errors import UsageError
from destkit.runtime.outcomes import Outcome, OutcomeCallback, Status, skipping_delivered
from destkit.runtime.spec.hooks import load_hook
from destkit.runtime.spec.loader import bundled_spec_names, load_spec
from destkit.runtime.spec.models import DestinationSpec
from destkit.runtime.spec.testing_profile import DemoProfile, Planted

DEMO_DIR_ENV = "DESTKIT_DEMO_DIR"
DEMO_ROWS = 2500
DEFAULT_DEMO_DIR = ".destkit/demo"
DEFAULT_EMULATOR_KEY = "emulator-key"


# --- running a record stream into a report ------------------------------------------------------


def default_report_path(input_path: Path) -> Path:
    """`audience.csv` → `audience.report.jsonl`, next to the input."""
    return input_path.with_name(f"{input_path.stem}.report.jsonl")


def summary_path_for(report_path: Path) -> Path:
    """Where `JsonlReport.write_summary` puts the summary of a report."""
    return summary_path_of(report_path)


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

    Without a state store no later run knows this one, so a report line never promises that "the
    next run" or `destkit retry` sends a record again (`without_state`).

    With a state store the report is rewritten from the store when the run ends, so a resumed run's
    report accounts for the rows finished before the crash too, each exactly once. A run refused
    before any record had an outcome (refused credentials) leaves an earlier report and summary at
    these paths as they were, and its summary says `report: null`.
    """
    include_delivered = sync.action.report_delivered  # e.g. deletions: the report says each was scheduled
    had_earlier = report_path.is_file() and report_path.stat().st_size > 0
    report = JsonlReport(report_path, include_delivered=include_delivered)
    removals: list[Outcome] = []  # a mirror run's removals are not input rows: the store keeps no outcome of theirs

    def keep_removal(outcome: Outcome) -> None:
        if outcome.operation is not None and (include_delivered or outcome.status is not Status.DELIVERED):
            removals.append(outcome)

    sink: OutcomeCallback = report if state is not None else (lambda outcome: report(without_state(outcome)))
    callbacks: list[OutcomeCallback] = [sink, keep_removal]
    if not include_delivered:  # the report lists problems only: plainly delivered records are counted, not built
        callbacks = [skipping_delivered(cb) for cb in callbacks]
    if on_outcome is not None:
        callbacks.append(on_outcome)
    try:
        result = await sync.arun(records, on_outcome=callbacks, progress=progress, state=state, **run_options)
    except BaseException:
        report.close()
        raise
    summary = result.summary
    if had_earlier and summary.aborted and report.lines == 0 and not stored_outcomes(state, summary.run_id):
        report.close(keep_earlier=True)
        summary.report_path = None
        return result, summary_path_of(report_path)
    report.close()
    if state is not None and summary.run_id and state.run(summary.run_id) is not None:
        report = JsonlReport(report_path, include_delivered=include_delivered)
        try:
            for outcome in state.outcomes(summary.run_id, not_delivered_only=not include_delivered):
                report(outcome)
            for outcome in removals:
                report(outcome)
        finally:
            report.close()
    summary.report_path = str(report_path)
    return result, report.write_summary(summary)


# what an outcome message promises of the next run or `destkit retry`: true only with a state store
_PROMISE = re.compile(r"(?:,? to be sent again| and will be sent again|; the record will be retried) by the next run"
                      r"(?: or `destkit retry`)?\.|`destkit retry --include-unknown` sends it again\.")
_NO_STATE = "; this run keeps no state (--no-state), so no later run knows it: run the input again to send it."


def without_state(outcome: Outcome) -> Outcome:
    """An outcome of a run without a state store, its message not promising what only a state store keeps."""
    if outcome.message is None or not _PROMISE.search(outcome.message):
        return outcome
    message = _PROMISE.sub(lambda m: _NO_STATE if not m.group().startswith("`") else "run the input again to send it "
                           "(this run keeps no state, --no-state, for `destkit retry` to use).", outcome.message)
    return replace(outcome, message=message)


def stored_outcomes(state: StateStore | None, run_id: str | None) -> bool:
    """Whether the state store holds an outcome of run `run_id` (a resumed run's earlier part)."""
    return state is not None and bool(run_id) and next(state.outcomes(str(run_id)), None) is not None


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
class DemoTarget:
    """The destination the demo syncs to: its spec, the emulator factory, and the module's demo profile."""

    spec: DestinationSpec
    create_app: Callable[..., Any]
    profile: DemoProfile

    @property
    def title(self) -> str:
        return self.profile["title"]


@dataclass
class DemoRun:
    target: DemoTarget
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


def _emulator_factory(spec: DestinationSpec) -> tuple[Callable[..., Any], Any]:
    """(create_app, its module) from the spec's `emulator:` import path."""
    if not spec.emulator:
        raise LookupError(f"the {spec.name} spec names no emulator (`emulator:` in the spec).")
    try:
        create_app = load_hook(spec.emulator)
    except (ImportError, ValueError) as exc:
        raise ImportError(f"cannot load the emulator {spec.emulator}: {exc}") from None
    return create_app, sys.modules.get(spec.emulator.partition(":")[0])


def _profile_app_options(module: Any, action: str) -> dict[str, Any]:
    """The `app_options` of the emulator module's testing profile for `action` (none without one)."""
    testing_profile = getattr(module, "testing_profile", None)
    profile = testing_profile(action) if callable(testing_profile) else None
    return dict(profile.get("app_options", {})) if profile else {}


def load_emulator(destination: str, *, trust_spec: bool = False, **options: Any) -> tuple[DestinationSpec, Any]:
    """The spec (a spec file only if trusted) and an emulator app built by the factory its `emulator:` names."""
    spec = load_spec(destination, trust_spec=trust_spec)
    create_app, module = _emulator_factory(spec)
    # start from the emulator's own test profile, then apply the options this factory accepts
    app_options = _profile_app_options(module, next(iter(spec.actions)))
    accepted = inspect.signature(create_app).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    ignored = [k for k in options if k not in accepted and not takes_any]
    app_options.update({k: v for k, v in options.items() if k in accepted or takes_any})
    if ignored and ignored != ["api_key"]:
        raise ValueError(f"the {spec.name} emulator has no option {', '.join(ignored)}")
    return spec, create_app(**app_options)


def emulator_credentials(spec: DestinationSpec, api_key: str) -> list[tuple[str, str, str]]:
    """(secret name, its title, the value) the emulator of `spec` checks: the `api_key` it was given when its
    factory takes one, else the secrets of its testing profile (a signing secret, a user name and secret)."""
    create_app, module = _emulator_factory(spec)
    if "api_key" in inspect.signature(create_app).parameters:
        return [("api_key", "API key", api_key)]
    testing_profile = getattr(module, "testing_profile", None)
    profile = testing_profile(next(iter(spec.actions))) if callable(testing_profile) else None
    secrets_used = dict(profile.get("secrets", {})) if profile else {}
    return [(name, (spec.secrets[name].title if name in spec.secrets else None) or name, value)
            for name, value in secrets_used.items()]


def _demo_target(name: str) -> DemoTarget | None:
    """The demo target of destination `name`, or None when its emulator module offers no demo profile."""
    spec = load_spec(name)
    if not spec.emulator:
        return None
    create_app, module = _emulator_factory(spec)
    demo_profile = getattr(module, "demo_profile", None)
    if not callable(demo_profile):
        return None
    return DemoTarget(spec, create_app, demo_profile())


def demo_target(destination: str | None = None) -> DemoTarget:
    """What `destkit demo` syncs to: `destination`, or the first bundled one whose emulator has a demo profile
    that does not ask to be shown only on request (`by_default: False`).

    Raises UsageError when `destination` (or every bundled destination) offers no demo profile.
    """
    if destination is not None:
        target = _demo_target(destination)
        if target is None:
            raise UsageError(
                f"the {destination} emulator offers no demo profile (a `demo_profile()` in its emulator module).",
                key="--destination",
                fix=f"use one of: {', '.join(demo_destinations()) or 'none is bundled'}.",
            )
        return target
    for name in bundled_spec_names():
        if (target := _demo_target(name)) is not None and target.profile.get("by_default", True):
            return target
    raise UsageError("no bundled destination's emulator offers a demo profile.")


def demo_destinations() -> list[str]:
    """The bundled destinations `destkit demo` can show."""
    return [name for name in bundled_spec_names() if _demo_target(name) is not None]


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
    """Where the demo writes: $DESTKIT_DEMO_DIR, or `.destkit/demo` (beside the state store, so a checkout stays clean)."""
    return Path(os.environ.get(DEMO_DIR_ENV) or DEFAULT_DEMO_DIR)


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
    target: DemoTarget | None = None,
    rows: int = DEMO_ROWS,
    on_outcome: OutcomeCallback | None = None,
    progress: ProgressCallback | None = None,
    on_record: Callable[[], None] | None = None,
) -> DemoRun:
    """Write the audience and config into `folder`, run them against the in-process emulator.

    `target` defaults to :func:`demo_target`'s choice.
    """
    target = target if target is not None else demo_target()
    profile = target.profile
    folder.mkdir(parents=True, exist_ok=True)
    audience, config = folder / "audience.csv", folder / "sync.yaml"
    planted = profile["write_audience"](audience, rows)
    config.write_text(profile["config"], encoding="utf-8")
    secret = "demo-" + secrets.token_urlsafe(12)
    os.environ[profile["secret_env"]] = secret
    app = target.create_app(**{**profile["app_options"], profile["secret"]: secret})
    sync = build_sync(
        config, base_url=profile["base_url"], transport=httpx.ASGITransport(app=app), allow_http=True
    )
    report = default_report_path(audience)
    records = read_records(audience) if on_record is None else counting(read_records(audience), on_record)
    result, summary_file = await run_to_report(
        sync, records, report, on_outcome=on_outcome, progress=progress
    )
    run = DemoRun(target, folder, audience, config, report, summary_file, result, planted)
    run.problems = _check(run, rows)
    return run


OUTCOME_MEANING = {
    "delivered": "delivered, with warnings",
    "invalid": "invalid (failed destkit's checks, never sent)",
    "rejected": "rejected (sent, and the destination refused it)",
    "dead_lettered": "dead-lettered (sending kept failing; running the input again sends it again)",
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
    where = "--base-url http://127.0.0.1:8080 --allow-http"
    secret_env, destination = run.target.profile["secret_env"], run.target.spec.id
    return [
        f"export {secret_env}=any-key-you-like      # the config reads the API key from this variable",
        f'destkit emulate {destination} --api-key "${secret_env}"   # serves the emulator on port 8080',
        "# then, in another shell with the same variable set:",
        f"destkit preview {config} --input {audience} -n 3 {where}",
        f"destkit sync {config} --input {audience} {where}",
    ]


__all__ = [
    "DEFAULT_EMULATOR_KEY",
    "DEMO_DIR_ENV",
    "DEMO_ROWS",
    "DemoRun",
    "DemoTarget",
    "Planted",
    "bind_socket",
    "counting",
    "default_report_path",
    "demo_destinations",
    "demo_dir",
    "demo_target",
    "emulator_credentials",
    "explain",
    "http_url",
    "load_emulator",
    "next_steps",
    "read_report_lines",
    "run_demo",
    "run_to_report",
    "summary_path_for",
    "without_state",
]
