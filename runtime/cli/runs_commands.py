"""`destkit runs`: the history of a state store's runs, and `destkit runs show RUN`: one run and where its files are.

Read from the state store's `runs` and `outcomes` tables (`StateStore.history`); a store written by
an older destkit lists its runs too, without the config file and folder it did not record.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from destkit.runtime.cli.display import STATUS_STYLES, fail, out, say
from destkit.runtime.cli.run_safety import open_state
from destkit.runtime.engine import RunInfo, StateStore
from destkit.runtime.engine.report import RunFiles, runs_folder
from destkit.runtime.engine.state import DEFAULT_PATH
from destkit.runtime.outcomes import Status

runs_app = typer.Typer(
    help="Past runs of a state store: when, config, input, counts, duration, status.",
    no_args_is_help=False,
    invoke_without_command=True,
)

StateOpt = Annotated[Path, typer.Option("--state", help="The SQLite state store the runs were recorded in.")]


def existing_store(state: Path) -> StateStore:
    """The state store at `state`; a missing one is an error (listing runs must not create a store)."""
    if not state.exists():  # a directory is named as such by `open_state`
        fail(f"no state store at {state}: no run was recorded there. Pass the --state a sync used.")
    return open_state(state)


@runs_app.callback()
def runs(
    ctx: typer.Context,
    state: StateOpt = DEFAULT_PATH,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs, newest first.")] = 20,
) -> None:
    """List the runs of a state store, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    store = existing_store(state)
    try:
        history = store.history(limit)
        if not history:
            say(f"No runs recorded in {state} yet.")
            return
        out.print(history_table(store, history, state))
    finally:
        store.close()


@runs_app.command("show")
def show(
    run: Annotated[str, typer.Argument(help="A run id as `destkit runs` lists it (its first characters suffice).")],
    state: StateOpt = DEFAULT_PATH,
) -> None:
    """One run: what it ran, its counts per outcome and reason, and where its files are."""
    store = existing_store(state)
    try:
        info = one_run(store, run, state)
        for label, value in run_facts(store, info):
            say(f"{label + ':':<16}{value}")
        for label, path in file_lines(info, state):
            say(f"{label + ':':<16}{path}")
    finally:
        store.close()


def one_run(store: StateStore, run: str, state: Path) -> RunInfo:
    """The run whose id is or starts with `run`; none or several is an error naming what to pass."""
    if not run:
        fail(f"give a run id (or its first characters); `destkit runs --state {state}` lists them.")
    found = store.find_run(run)
    if not found:
        shown = run if len(run) <= 40 else run[:40] + "…"
        fail(f"no run {shown} in {state}; `destkit runs --state {state}` lists them.")
    if len(found) > 1 and not any(info.run_id == run for info in found):
        fail(f"{run} is the start of {len(found)} run ids ({', '.join(i.run_id for i in found[:5])}); give more of it.")
    return next((info for info in found if info.run_id == run), found[0])


def when(timestamp: float) -> str:
    """A time in the local zone, to the second, with its offset (a scheduler's logs may be in another)."""
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def duration(info: RunInfo) -> str:
    return "-" if info.duration_s is None else f"{info.duration_s:.1f} s"


def counts_text(store: StateStore, info: RunInfo) -> str:
    """`received 6 · delivered 2 · invalid 4`: the outcomes a run has, in the order of `Status`."""
    by_status, _reasons, _warnings = store.counts(info.run_id)
    parts = [f"received {info.received:,}"] + [f"{s.value} {by_status[s.value]:,}" for s in Status if by_status[s.value]]
    return " · ".join(parts)


def status_text(info: RunInfo) -> Text:
    """finished, running (or killed: a run that never finished), aborted: with why."""
    if info.status == "running":
        return Text("running or killed", style="yellow")
    if info.status == "aborted":
        return Text(f"aborted: {info.aborted}" if info.aborted else "aborted", style="red")
    return Text(info.status, style=STATUS_STYLES[Status.DELIVERED])


def history_table(store: StateStore, history: list[RunInfo], state: Path) -> Table:
    table = Table(title=f"Runs recorded in {state}", title_justify="left")
    for column in ("run", "started", "kind", "destination · action", "config", "input", "records", "duration",
                   "status"):
        table.add_column(column, overflow="fold")
    for info in history:
        table.add_row(info.run_id, when(info.started_at), info.kind, f"{info.destination} · {info.action}",
                      info.config_path or "-", info.input_path or "(not a file)", counts_text(store, info),
                      duration(info), status_text(info))
    table.caption = "destkit runs show RUN: one run and where its files are"
    return table


def run_facts(store: StateStore, info: RunInfo) -> list[tuple[str, str]]:
    """What `destkit runs show` prints about a run, label by label."""
    by_status, reasons, warnings = store.counts(info.run_id)
    facts = [("run", info.run_id), ("kind", info.kind), ("status", status_text(info).plain),
             ("destination", f"{info.destination} · {info.action}"), ("config", info.config_path or "-"),
             ("input", info.input_path or "(not a file)"), ("started", when(info.started_at)),
             ("finished", when(info.finished_at) if info.finished_at is not None else "-"),
             ("duration", duration(info)), ("received", f"{info.received:,}")]
    facts += [(status.value, f"{by_status[status.value]:,}") for status in Status]
    facts += [(f"  reason {reason}", f"{n:,}") for reason, n in sorted(reasons.items())]
    facts += [(f"  warning {reason}", f"{n:,}") for reason, n in sorted(warnings.items())]
    return facts


def file_lines(info: RunInfo, state: Path) -> list[tuple[str, str]]:
    """Where the run's files are: the folder (or --report file) it recorded, else its folder by convention."""
    if info.files is None:
        files = RunFiles.in_folder(runs_folder(state) / info.run_id)
    elif not Path(info.files).is_dir() and Path(info.files).suffix:  # a --report file, not a run's folder
        files = RunFiles.beside(Path(info.files))
    else:
        files = RunFiles.in_folder(Path(info.files))
    lines = [("folder", str(files.folder))] if files.folder is not None else []
    lines += [("report", str(files.report)), ("summary", str(files.summary))]
    if files.html.exists():
        lines.append(("html", str(files.html)))
    return [(label, path if Path(path).exists() else f"{path} (missing)") for label, path in lines]


__all__ = ["runs_app"]
