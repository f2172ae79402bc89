"""The commands to try destkit without a destination account: `destkit demo`, `destkit emulate` and
`destkit specs` (the bundled destinations).

The demo's work (sample audience, in-process emulator, checks of the planted problems) lives in
`demo.py`; here it is only told.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.text import Text

from destkit.runtime.cli import demo as _demo
from destkit.runtime.cli.display import (
    EXIT_NOT_DELIVERED,
    RunDisplay,
    add_spec_rows,
    err,
    fail,
    out,
    run_with_display,
    say,
    specs_table,
    summary_table,
)
from destkit.runtime.errors import ConfigError
from destkit.runtime.outcomes import Status

# --- demo ----------------------------------------------------------------------------------------------


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

    The folder is $DESTKIT_DEMO_DIR, or .destkit/demo.
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
                folder, target=target, on_outcome=display.on_outcome, progress=display.progress
            ),
            display,
        )
    except ConfigError as exc:
        fail(exc.render())
    except OSError as exc:
        fail(
            f"cannot write the demo into {folder}: {exc.strerror or exc}; set {_demo.DEMO_DIR_ENV} to a writable folder."
        )
    tell_demo(run)
    if not run.as_expected:
        for problem in run.problems:
            err.print(Text("demo: unexpected result: ") + Text(problem))
        raise typer.Exit(EXIT_NOT_DELIVERED)


def tell_demo(run: _demo.DemoRun) -> None:
    """What the demo wrote and sent, the first report lines explained, its files and what to try next."""
    summary = run.result.summary
    say(
        f"Wrote {run.audience} ({summary.received:,} contacts, {len(run.planted)} planted to show what can go wrong) "
        f"and {run.config}; synced them to the emulator."
    )
    out.print(summary_table(summary))
    explain_report(run)
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


def explain_report(run: _demo.DemoRun) -> None:
    """The first report lines, each with what it means; planted problems that were delivered anyway."""
    planted = {p.row: p for p in run.planted}
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


# --- emulate -------------------------------------------------------------------------------------------


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
    trust_spec: Annotated[
        bool, typer.Option("--trust-spec", help="Allow a spec file by path: its emulator and hooks run as code.")
    ] = False,
) -> None:
    """Serve a destination's emulator over HTTP until interrupted (Ctrl-C)."""
    import uvicorn

    options: dict[str, Any] = {"api_key": api_key}
    if faults:
        options["faults"] = faults
    try:
        spec, application = _demo.load_emulator(destination, trust_spec=trust_spec, **options)
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
    credentials = _demo.emulator_credentials(spec, api_key)
    for _name, title, value in credentials:
        say(f"  {title + ':':<9} {value}")
    say(f"  use it:   destkit sync CONFIG --input FILE --base-url {url} --allow-http")
    names = " and ".join(f"`{name}`" for name, _title, _value in credentials) or "secrets"
    say(f"            with the config's {names} set to the value above (e.g. {{env: VAR}} and export VAR=...). "
        "Ctrl-C stops.")
    server = uvicorn.Server(uvicorn.Config(application, log_level="info", lifespan="off"))
    with sock:
        server.run(sockets=[sock])


# --- specs ---------------------------------------------------------------------------------------------


def specs() -> None:
    """List the bundled destinations and their actions."""
    from destkit.runtime.spec.loader import bundled_spec_names, load_spec

    table = specs_table()
    for name in bundled_spec_names():
        try:
            spec = load_spec(name)
        except ConfigError as exc:
            table.add_row(name, Text(exc.render(), style="red"), "", "")
            continue
        add_spec_rows(table, spec)
    out.print(table)


__all__ = ["demo", "emulate", "specs"]
