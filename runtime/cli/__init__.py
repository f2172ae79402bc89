"""The `destkit` command line: the typer app, its display, the demo, `destkit init` and the uvicorn helper.
May import every other runtime subpackage; none of them imports it."""

from destkit.runtime.cli.app import app, main

__all__ = ["app", "main"]
