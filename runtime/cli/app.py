"""The `destkit` command line: demo, preview, sync, retry, emulate, specs; for connector authors, spec check,
spec schema and init.

Argument parsing and printing only; running a file into a report and the demo live in `demo.py`.
Exit codes: 0 everything delivered (or the command did what it was asked), 1 some records were not
delivered, 2 the run could not start or was stopped (config error, refused credentials, unreadable
input). Expected failures print a message, never a traceback, and no output carries a secret.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from destkit.runtime.cli import demo as _demo
from destkit.runtime.engine import RunResult, Sync, build_sync
from destkit.runtime.engine import state as _state
from destkit.runtime.engine.sources import read_records
from destkit.runtime.errors import AuthFailed, ConfigError
from destkit.runtime.ops import logs as _logs
from destkit.runtime.ops import metrics as _metrics
from destkit.runtime.outcomes import Outcome, RunSummary, Status

app = typer.Typer(
    name="destkit",
    help="Declarative CDP destination connectors: map, validate, batch and deliver audiences.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EXIT_OK, EXIT_NOT_DELIVERED, EXIT_ERROR = 0, 1, 2


class InputFormat(StrEnum):
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"


# --- small helpers ------------------------------------------------------------------------------


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    err.print(Text("error: ", style="bold red") + Text(message))
    raise typer.Exit(code)


def say(text: str) -> None:
    """Print plain text (no markup, no highlighting: paths and messages may hold brackets)."""
    out.print(text, markup=False, highlight=False)


def load_sync(config: Path, base_url: str | None, allow_http: bool, needs_secrets: bool = True) -> Sync:
    try:
        return build_sync(config, base_url=base_url, allow_http=allow_http, needs_secrets=needs_secrets)
    except ConfigError as exc:
        fail(exc.render())


def open_input(path: Path, fmt: InputFormat | None) -> Any:
    if not path.exists():
        fail(f"input file {path} does not exist; check the --input path.")
    if not path.is_file():
        fail(f"input {path} is not a file; give a CSV or JSON Lines file with --input.")
    try:
        return read_records(path, fmt.value if fmt else None)
    except ValueError as exc:
        fail(f"{exc}.")


def auth_message(reason: str) -> str:
    reason = reason.removeprefix("auth_failed: ")
    return f"authentication failed: {reason} Nothing more was sent; fix the API key and run again."


def summary_table(summary: RunSummary) -> Table:
    table = Table(
        title=f"{summary.destination} · {summary.action}" + (" (dry run)" if summary.dry_run else ""),
        title_justify="left",
    )
    table.add_column("outcome", no_wrap=True)
    table.add_column("records", justify="right", no_wrap=True)
    styles = {
        Status.DELIVERED: "green",
        Status.INVALID: "yellow",
        Status.REJECTED: "red",
        Status.DEAD_LETTERED: "magenta",
        Status.SKIPPED: "dim",
    }
    for status in Status:
        table.add_row(Text(status.value, style=styles[status]), f"{summary.count(status):,}")
    table.add_section()
    table.add_row(Text("received", style="bold"), f"{summary.received:,}")
    for reason, n in sorted(summary.reasons.items()):
        table.add_row(Text(f"  reason: {reason}"), f"{n:,}")
    for reason, n in sorted(summary.warnings.items()):
        table.add_row(Text(f"  warning: {reason}"), f"{n:,}")
    table.add_section()
    rate = f" · {summary.received / summary.duration_s:,.0f} records/s" if summary.duration_s else ""
    table.caption = (
        f"{summary.batches:,} batches · {summary.requests:,} requests · {summary.retries:,} retries"
        f" · {summary.duration_s:.2f} s{rate}"
    )
    return table


class RunDisplay:
    """Live counters for a run: records read, batches and outcomes (a `progress` + outcome callback)."""

    def __init__(self) -> None:
        self.read = 0
        self.batches = 0
        self.counts: Counter[str] = Counter()
        self.spinner = Spinner("dots")
        self.started = time.monotonic()

    def tick(self) -> None:
        self.read += 1

    def outcome(self, outcome: Outcome) -> None:
        self.counts[outcome.status.value] += 1

    def progress(self, summary: RunSummary) -> None:
        self.batches = summary.batches

    def __rich__(self) -> Any:
        c = self.counts
        text = Text.assemble(
            f"read {self.read:,} · batches {self.batches:,} · ",
            (f"delivered {c['delivered']:,}", "green"),
            " · ",
            (f"invalid {c['invalid']:,}", "yellow"),
            " · ",
            (f"rejected {c['rejected']:,}", "red"),
            " · ",
            (f"dead-lettered {c['dead_lettered']:,}", "magenta"),
            f" · {time.monotonic() - self.started:.1f} s",
        )
        grid = Table.grid(padding=(0, 1))
        grid.add_row(self.spinner, text)
        return grid


def run_with_display(coro_factory: Any, display: RunDisplay | None) -> Any:
    """Run the coroutine, with the live display on a terminal."""
    if display is None or not out.is_terminal:
        return asyncio.run(coro_factory())
    with Live(display, console=out, refresh_per_second=8, transient=True):
        return asyncio.run(coro_factory())


def exit_code(result: RunResult) -> int:
    if result.summary.aborted:
        return EXIT_ERROR
    return EXIT_OK if result.ok else EXIT_NOT_DELIVERED


# --- commands -----------------------------------------------------------------------------------


def _version(value: bool) -> None:
    if value:
        out.print(f"destkit {metadata.version('destkit')}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Declarative CDP destination connectors: map, validate, batch and deliver audiences."""


@app.command()
def demo(
    destination: Annotated[
        str | None,
        typer.Option(
            "--destination",
            help="A bundled destination whose emulator has a demo profile (default: the first one).",
        ),
    ] = None,
) -> None:
    """Write a sample audience and config, and sync them to a destination's emulator, in-process.

    The folder is $DESTKIT_DEMO_DIR, or ./destkit-demo.
    """
    folder = _demo.demo_dir()
    display = RunDisplay()
    try:
        target = _demo.demo_target(destination)
    except ConfigError as exc:
        fail(exc.render())
    except (LookupError, ImportError) as exc:
        fail(str(exc))
    out.print(
        Text("destkit demo", style="bold")
        + Text(f": a sample audience → the {target.title} emulator (in-process), in {folder}")
    )
    try:
        run = run_with_display(
            lambda: _demo.run_demo(
                folder, target=target, on_outcome=display.outcome, progress=display.progress, on_record=display.tick
            ),
            display,
        )
    except ConfigError as exc:
        fail(exc.render())
    except OSError as exc:
        fail(
            f"cannot write the demo into {folder}: {exc.strerror or exc}; set {_demo.DEMO_DIR_ENV} to a writable folder."
        )
    planted = {p.row: p for p in run.planted}
    summary = run.result.summary
    say(
        f"Wrote {run.audience} ({summary.received:,} contacts, {len(run.planted)} planted to show what can go wrong) "
        f"and {run.config}; synced them to the emulator."
    )
    out.print(summary_table(summary))
    lines = _demo.read_report_lines(run.report, 5)
    out.print(
        Text(
            f"The report has one line per record not delivered; the first {len(lines)}, explained:",
            style="bold",
        )
    )
    for line in lines:
        out.print(Text("  " + orjson.dumps(line).decode(), style="dim"))
        out.print(Text("  → " + _demo.explain(line, planted)))
    for p in run.planted:
        if p.outcome == Status.DELIVERED:
            say(f"  Also planted: record {p.row}: {p.what}; it was delivered, so it has no report line.")
    out.print(Text("Files", style="bold"))
    for label, path in (
        ("config", run.config),
        ("audience", run.audience),
        ("report", run.report),
        ("summary", run.summary_file),
    ):
        say(f"  {label:<9}{path}")
    out.print(Text("Try it over HTTP", style="bold"))
    for step in _demo.next_steps(run):
        say(f"  {step}")
    if not run.as_expected:
        for problem in run.problems:
            err.print(Text("demo: unexpected result: ") + Text(problem))
        raise typer.Exit(EXIT_NOT_DELIVERED)


@app.command()
def preview(
    config: Annotated[Path, typer.Argument(help="The sync config (YAML).")],
    input_path: Annotated[Path, typer.Option("--input", "-i", help="Records: .csv, .tsv or .jsonl.")],
    n: Annotated[int, typer.Option("-n", "--limit", min=1, help="How many records to preview.")] = 5,
    offline: Annotated[
        bool, typer.Option("--offline", help="Read no catalogs (they must be in the config).")
    ] = False,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Send to this URL instead of the spec's.")
    ] = None,
    allow_http: Annotated[
        bool, typer.Option("--allow-http", help="Allow a plain-HTTP base URL (emulators).")
    ] = False,
    fmt: Annotated[
        InputFormat | None, typer.Option("--format", help="Input format (default: by extension).")
    ] = None,
) -> None:
    """Show the first records as the destination would receive them, or why they would not be sent.

    Nothing is sent: only the catalogs are read (GET), unless --offline.
    """
    sync = load_sync(config, base_url, allow_http, needs_secrets=not offline)
    records = open_input(input_path, fmt)
    try:
        items = sync.preview(records, n, offline=offline)
    except AuthFailed as exc:
        fail(auth_message(exc.message))
    except ConfigError as exc:
        fail(exc.render())
    except OSError as exc:
        fail(f"cannot read {input_path}: {exc.strerror or exc}.")
    for item in items:
        if item.outcome is not None:
            o = item.outcome
            head = Text(f"row {item.row}", style="bold") + Text(f" · {o.status.value}", style="yellow")
            out.print(head + (Text(f" · {o.key}") if o.key else Text("")))
            out.print(Text(f"  reason: {o.reason}"))
            if o.field:
                out.print(Text(f"  field: {o.field}"))
            if o.message:
                out.print(Text(f"  message: {o.message}"))
        else:
            out.print(Text(f"row {item.row}", style="bold") + Text(" · would be sent as", style="green"))
            body = orjson.dumps(item.body, option=orjson.OPT_INDENT_2).decode()
            out.print(Syntax(body, "json", theme="ansi_dark", background_color="default", word_wrap=True))
            for w in item.warnings or []:
                out.print(Text(f"  warning {w['reason']} on {w['field']}: {w['message']}", style="yellow"))
    out.print(
        Text(f"Previewed {len(items)} record{'s' if len(items) != 1 else ''}; nothing was sent.", style="dim")
    )


@app.command("sync")
def sync_command(
    config: Annotated[Path, typer.Argument(help="The sync config (YAML).")],
    input_path: Annotated[Path, typer.Option("--input", "-i", help="Records: .csv, .tsv or .jsonl.")],
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="JSONL report path (default: <input stem>.report.jsonl next to the input)."
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Send to this URL instead of the spec's.")
    ] = None,
    allow_http: Annotated[
        bool, typer.Option("--allow-http", help="Allow a plain-HTTP base URL (emulators).")
    ] = False,
    fmt: Annotated[
        InputFormat | None, typer.Option("--format", help="Input format (default: by extension).")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress display and no summary table.")
    ] = False,
    state_path: Annotated[
        Path, typer.Option("--state", help="SQLite state store (runs, outcomes, checkpoints, dead letters).")
    ] = _state.DEFAULT_PATH,
    no_state: Annotated[bool, typer.Option("--no-state", help="Keep no state (no resume, no retry).")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the last unfinished run of this config and input.")
    ] = False,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Serve Prometheus metrics on this port (127.0.0.1).")
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="JSON log lines to stderr at this level (info: one per request).")
    ] = "warning",
) -> None:
    """Deliver every record of a file; one report line per record that was not delivered.

    Exit 0 when all were delivered, 1 when some were not, 2 when the run could not start or the
    destination refused the credentials.
    """
    _run_file(config, input_path, report, base_url, allow_http, fmt, quiet, None if no_state else state_path,
              resume, metrics_port, log_level, kind="sync")


@app.command()
def retry(
    config: Annotated[Path, typer.Argument(help="The sync config (YAML).")],
    input_path: Annotated[Path, typer.Option("--input", "-i", help="Records: .csv, .tsv or .jsonl.")],
    report: Annotated[Path | None, typer.Option("--report", help="JSONL report path.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Send to this URL instead of the spec's.")] = None,
    allow_http: Annotated[bool, typer.Option("--allow-http", help="Allow a plain-HTTP base URL (emulators).")] = False,
    fmt: Annotated[InputFormat | None, typer.Option("--format", help="Input format (default: by extension).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display and no summary table.")] = False,
    state_path: Annotated[Path, typer.Option("--state", help="The SQLite state store of the earlier run.")] = _state.DEFAULT_PATH,
    log_level: Annotated[str, typer.Option("--log-level", help="JSON log lines to stderr at this level.")] = "warning",
) -> None:
    """Send again the records the last run of this config rejected or dead-lettered, from the input's current data."""
    _run_file(config, input_path, report, base_url, allow_http, fmt, quiet, state_path, False, None, log_level, kind="retry")


def _run_file(config: Path, input_path: Path, report: Path | None, base_url: str | None, allow_http: bool,
              fmt: InputFormat | None, quiet: bool, state_path: Path | None, resume: bool,
              metrics_port: int | None, log_level: str, kind: str) -> None:
    _logs.configure(log_level)
    sync = load_sync(config, base_url, allow_http)
    records: Any = open_input(input_path, fmt)
    report_path = report or _demo.default_report_path(input_path)
    store = _state.StateStore(state_path) if state_path is not None else None
    options: dict[str, Any] = {}
    if store is not None:
        chash = _state.config_hash(sync.config.model_dump())
        ref = _state.input_ref(input_path)
        options["input_ref"] = ref
        options["kind"] = kind
        if resume:
            last = store.last_run(sync.spec.id, sync.action_id, unfinished=True, config_hash=chash)
            if last is None:
                say("No unfinished run of this config to resume; starting a new run.")
            elif last.input_ref != ref:
                fail(f"the unfinished run {last.run_id} read a different version of {input_path} (it changed since); "
                     "run without --resume to start over.")
            else:
                options["resume"] = last
                say(f"Resuming run {last.run_id}: rows up to {last.checkpoint:,} and every row with an outcome are skipped.")
        if kind == "retry":
            last = store.last_run(sync.spec.id, sync.action_id, config_hash=chash)
            keys = store.keys_to_retry(last.run_id) if last is not None else set()
            if not keys:
                say("Nothing to retry: the last run of this config has no rejected or dead-lettered records.")
                raise typer.Exit(EXIT_OK)
            options["only_keys"] = keys
            say(f"Retrying {len(keys):,} record{'s' if len(keys) != 1 else ''} of run {last.run_id if last else '?'}.")
    display = None if quiet else RunDisplay()
    if display is not None:
        records = _demo.counting(records, display.tick)
    metrics = _metrics.MetricsServer(metrics_port) if metrics_port is not None else None

    def progress(summary: RunSummary) -> None:
        if display is not None:
            display.progress(summary)
        if metrics is not None:
            metrics.publish(summary)

    def go() -> Any:
        return _demo.run_to_report(sync, records, report_path, on_outcome=display.outcome if display else None,
                                   progress=progress, state=store, **options)

    try:
        result, summary_file = run_with_display(go, display)
    except ConfigError as exc:
        fail(exc.render())
    except OSError as exc:
        fail(f"cannot read {input_path} or write {report_path}: {exc.strerror or exc}.")
    finally:
        if store is not None:
            store.close()
    if metrics is not None:
        metrics.publish(result.summary)
        metrics.close()
    if not quiet:
        out.print(summary_table(result.summary))
        out.print(
            f"report:  {report_path}  (one line per record not delivered or delivered with warnings)",
            markup=False,
            highlight=False,
        )
        out.print(f"summary: {summary_file}", markup=False, highlight=False)
    if result.summary.aborted:
        fail(auth_message(result.summary.aborted))
    raise typer.Exit(exit_code(result))


@app.command()
def emulate(
    destination: Annotated[
        str, typer.Argument(help="A bundled destination id (see `destkit specs`) or a spec path.")
    ],
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    api_key: Annotated[
        str, typer.Option("--api-key", help="The API key the emulator accepts.")
    ] = _demo.DEFAULT_EMULATOR_KEY,
    faults: Annotated[
        str | None,
        typer.Option("--faults", help="Seeded faults, e.g. 429=0.1,503=0.05,drop=0.02,record=0.01,latency=50,seed=7."),
    ] = None,
) -> None:
    """Serve a destination's emulator over HTTP until interrupted (Ctrl-C)."""
    import uvicorn

    options: dict[str, Any] = {"api_key": api_key}
    if faults:
        options["faults"] = faults
    try:
        spec, application = _demo.load_emulator(destination, **options)
    except ConfigError as exc:
        fail(exc.render())
    except (LookupError, ImportError, ValueError) as exc:
        fail(str(exc))
    try:
        sock = _demo.bind_socket(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port.")
    url = _demo.http_url(host, port)
    out.print(Text(f"{spec.name} emulator", style="bold"))
    say(f"  base URL: {url}")
    say(f"  API key:  {api_key}")
    say(f"  use it:   destkit sync CONFIG --input FILE --base-url {url} --allow-http")
    say("            with the config's API key variable set to the key above. Ctrl-C stops.")
    server = uvicorn.Server(uvicorn.Config(application, log_level="info", lifespan="off"))
    with sock:
        server.run(sockets=[sock])


@app.command()
def specs() -> None:
    """List the bundled destinations and their actions."""
    from destkit.runtime.spec.loader import bundled_spec_names, load_spec

    table = Table(
        title="Bundled destinations",
        title_justify="left",
        show_lines=True,
        caption="* required field",
        caption_justify="left",
    )
    table.add_column("destination", no_wrap=True)
    table.add_column("action")
    table.add_column("batch limits")
    table.add_column("fields", overflow="fold")
    for name in bundled_spec_names():
        try:
            spec = load_spec(name)
        except ConfigError as exc:
            table.add_row(name, Text(exc.render(), style="red"), "", "")
            continue
        for i, (action_id, action) in enumerate(spec.actions.items()):
            b = action.batch
            size = f"{b.max_bytes / 1_000_000:g} MB" if b.max_bytes >= 100_000 else f"{b.max_bytes:,} bytes"
            fields = Text()
            for j, (field_name, f) in enumerate(action.fields.items()):
                fields.append(("\n" if j else "") + field_name, style="bold" if f.required else "")
                fields.append(" *" if f.required else "", style="bold red")
                fields.append(f" {'|'.join(f.types)}" + (f" ({f.format})" if f.format else ""), style="dim")
            dest = Text(f"{spec.id}\n{spec.name}") if i == 0 else Text("")
            table.add_row(
                dest,
                Text(action_id, style="bold") + Text(f"\n{action.title}"),
                f"{b.max_records:,} records\n{size}",
                fields,
            )
    out.print(table)


# --- connector authors: spec check / spec schema / init --------------------------------------------

spec_app = typer.Typer(
    name="spec",
    help="For connector authors: check destination specs, print the spec language's JSON Schema.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(spec_app, name="spec")


@spec_app.command("check")
def spec_check(
    specs_: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SPEC", help="Spec files (.yaml) or bundled destination ids.", show_default=False
        ),
    ] = None,
    all_bundled: Annotated[bool, typer.Option("--all", help="Also check every bundled spec.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
) -> None:
    """Check destination specs the way a sync would use them, without a network.

    Beyond the schema and references: templates render with the settings' defaults, the record
    checks and body compile, JMESPath expressions parse, hook and emulator import paths resolve;
    warnings for unused fields, settings, secrets and catalogs and for outsized batch limits.
    Prints `file:line: key: message. Fix: ...` per problem and `ok: <id> (<n> actions)` per good
    spec. Exit 0 when every spec passes (warnings allowed), 1 when any has an error.
    """
    from destkit.runtime.authoring.check import check_spec
    from destkit.runtime.spec.loader import bundled_spec_names

    targets = list(specs_ or [])
    if all_bundled:
        targets += [n for n in bundled_spec_names() if n not in targets]
    if not targets:
        fail("give one or more spec files (or bundled destination ids), or --all for every bundled spec.")
    failed = warned = 0
    for target in targets:
        result = check_spec(target)
        for finding in result.findings:
            say(str(finding))
        n_warn = len(result.warnings)
        warned += bool(n_warn)
        if result.ok and result.spec is not None:
            n = len(result.spec.actions)
            note = f", {n_warn} warning{'s' if n_warn != 1 else ''}" if n_warn else ""
            say(f"ok: {result.spec.id} ({n} action{'s' if n != 1 else ''}){note}")
        else:
            failed += 1
            n_err = len(result.errors)
            say(f"FAILED: {result.source} ({n_err} error{'s' if n_err != 1 else ''})")
    if len(targets) > 1:
        say(
            f"checked {len(targets)} specs: {len(targets) - failed} ok, {failed} with errors"
            + (f", {warned} with warnings" if warned else "")
            + "."
        )
    raise typer.Exit(1 if failed or (strict and warned) else EXIT_OK)


@app.command("test")
def test_command(
    spec: Annotated[str, typer.Argument(help="A bundled destination id or a spec file.")],
    examples: Annotated[int, typer.Option("--examples", min=1, help="Generated records per kind and action.")] = 50,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the generated records.")] = 0,
) -> None:
    """Run the conformance suite on a spec: generated records, dry run and emulator, invariants."""
    try:
        from destkit.testing.conformance import main as conformance_main
    except ImportError as exc:
        fail(f"the conformance suite needs hypothesis ({exc}); install it with pip install 'destkit[testing]'.")
    raise typer.Exit(conformance_main(spec, examples=examples, seed=seed))


@spec_app.command("schema")
def spec_schema() -> None:
    """Print the spec language's JSON Schema (the same as specs/destination-spec.schema.json)."""
    from destkit.runtime.spec.schema import render

    sys.stdout.write(render())


@app.command()
def init(
    name: Annotated[
        str, typer.Argument(help="The destination id: lower case, digits and _ (e.g. acme_crm).")
    ],
    directory: Annotated[
        Path,
        typer.Option(
            "--dir", help="Project folder: writes specs/NAME.yaml and tests/test_NAME_spec.py in it."
        ),
    ] = Path("."),
) -> None:
    """Start a new destination: a commented spec skeleton and a pytest file that checks it.

    Never overwrites a file (exit 2 if one exists).
    """
    from destkit.runtime.authoring.scaffold import ScaffoldError, write_skeleton

    try:
        written = write_skeleton(name, directory)
    except ScaffoldError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write into {directory}: {exc.strerror or exc}.")
    for path in written:
        say(f"wrote {path}")
    spec_path, test_path = written
    say("Next:")
    say("  1. edit the spec: every line marked TODO is an assumption about the destination's API")
    say(f"  2. destkit spec check {spec_path}")
    say(f"  3. python -m pytest {test_path}")


def main() -> None:
    app(prog_name="destkit")


if __name__ == "__main__":
    main()
