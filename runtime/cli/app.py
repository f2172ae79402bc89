"""The `destkit` command line: demo, preview, dry-run, send-one, sync, retry, runs, emulate, specs, config
init, ui; for connector authors, spec check, spec schema, test and init.

This module builds the typer app from the command modules: `run_commands.py` (preview, sync,
retry), `dry_run_command.py` (dry-run), `send_one.py` (send-one), `runs_commands.py` (runs),
`try_commands.py` (demo, emulate, specs), `config_init.py` (config init),
`authoring_commands.py` (spec, test, init) and `ui_command.py` (ui, the web mapping tester in `runtime/ui/`);
what they print is in `display.py`. Exit codes: 0 everything delivered (or the command did what it
was asked), 1 some records were not delivered, 2 the run could not start or was stopped (usage or
config error, refused credentials, unreadable input, a busy port), 3 an internal error (a bug: one
line pointing at a log file with the traceback, `crashes.py`). Expected failures print a message,
never a traceback, and no output carries a secret.
"""

from __future__ import annotations

from importlib import metadata
from typing import Annotated, Any

import typer

from destkit.runtime.cli.authoring_commands import init, spec_app, test_command
from destkit.runtime.cli.config_init import config_app
from destkit.runtime.cli.crashes import handle_uncaught
from destkit.runtime.cli.display import say
from destkit.runtime.cli.dry_run_command import dry_run
from destkit.runtime.cli.run_commands import preview, retry, sync_command
from destkit.runtime.cli.runs_commands import runs_app
from destkit.runtime.cli.send_one import send_one
from destkit.runtime.cli.try_commands import demo, emulate, specs
from destkit.runtime.cli.ui_command import ui

app = typer.Typer(
    name="destkit",
    help="Declarative CDP destination connectors: map, validate, batch and deliver audiences.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        say(f"destkit {metadata.version('destkit')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Declarative CDP destination connectors: map, validate, batch and deliver audiences."""


# the order of `destkit --help`
app.command()(demo)
app.command()(preview)
app.command("dry-run")(dry_run)
app.command("send-one")(send_one)
app.command("sync")(sync_command)
app.command()(retry)
app.add_typer(runs_app, name="runs")
app.command()(emulate)
app.command()(specs)
app.command()(ui)
app.add_typer(spec_app, name="spec")
app.command("test")(test_command)
app.command()(init)
app.add_typer(config_app, name="config")


def without_flag_types(command: Any) -> Any:
    """The (typer-built click) command with its flags shown as `--quiet  -q`, not `--quiet  -q  <bool>`:
    a flag takes no value. `--help` is made per context, so it is hidden as it is made."""
    for param in command.params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    make_help = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = make_help(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        without_flag_types(sub)
    return command


def main() -> None:
    """Run the command; an exception no command handled exits 2 (a destkit error) or 3 (a bug), never 1."""
    try:
        without_flag_types(typer.main.get_command(app))(prog_name="destkit")
    except Exception as exc:  # the last resort: one line and an exit code a scheduler can read
        raise SystemExit(handle_uncaught(exc)) from None


if __name__ == "__main__":
    main()
