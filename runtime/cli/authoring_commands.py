"""The commands for connector authors: `destkit spec check`, `destkit spec schema`, `destkit init` and
`destkit test` (the conformance suite).

The checks, the schema and the skeleton live in `destkit.runtime.authoring` (imported when a command
runs, so the sync commands start without them).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from destkit.runtime.cli.display import EXIT_OK, fail, say

if TYPE_CHECKING:
    from destkit.runtime.authoring.check import SpecCheck

spec_app = typer.Typer(
    name="spec",
    help="For connector authors: check destination specs, print the spec language's JSON Schema.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


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

    targets = spec_targets(specs_ or [], all_bundled)
    failed = warned = 0
    for target in targets:
        result = check_spec(target)
        tell_check(result)
        failed += not (result.ok and result.spec is not None)
        warned += bool(result.warnings)
    if len(targets) > 1:
        say(
            f"checked {len(targets)} specs: {len(targets) - failed} ok, {failed} with errors"
            + (f", {warned} with warnings" if warned else "")
            + "."
        )
    raise typer.Exit(1 if failed or (strict and warned) else EXIT_OK)


def spec_targets(given: list[str], all_bundled: bool) -> list[str]:
    """The specs to check: those given, then (with --all) every bundled one not given already."""
    from destkit.runtime.spec.loader import bundled_spec_names

    targets = list(given)
    if all_bundled:
        targets += [n for n in bundled_spec_names() if n not in targets]
    if not targets:
        fail("give one or more spec files (or bundled destination ids), or --all for every bundled spec.")
    return targets


def tell_check(result: SpecCheck) -> None:
    """Every finding of one spec, then `ok: ...` or `FAILED: ...`."""
    for finding in result.findings:
        say(str(finding))
    n_warn = len(result.warnings)
    if result.ok and result.spec is not None:
        n = len(result.spec.actions)
        note = f", {n_warn} warning{'s' if n_warn != 1 else ''}" if n_warn else ""
        say(f"ok: {result.spec.id} ({n} action{'s' if n != 1 else ''}){note}")
    else:
        n_err = len(result.errors)
        say(f"FAILED: {result.source} ({n_err} error{'s' if n_err != 1 else ''})")


@spec_app.command("schema")
def spec_schema() -> None:
    """Print the spec language's JSON Schema (the same as specs/destination-spec.schema.json)."""
    from destkit.runtime.spec.schema import render

    sys.stdout.write(render())


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


__all__ = ["init", "spec_app", "spec_check", "spec_schema", "test_command"]
