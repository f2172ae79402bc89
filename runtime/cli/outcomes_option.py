"""`--outcomes PATH` on `destkit sync`, `dry-run` and `retry`: one row per record, for a warehouse to join back.

The file (`.parquet`, `.jsonl` or `.csv`: `destkit.runtime.engine.outcome_table`) is opened before the
first record, so a wrong name or a missing pyarrow stops the command at once; it is written as the
outcomes come and closed however the run ends (stopped, aborted, failed), holding what had an outcome.
A resumed run first writes the rows its earlier part finished (from the state store), so the file
has one row per record of the whole run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated

import typer

from destkit.runtime.cli.demo import without_state
from destkit.runtime.cli.display import fail, say
from destkit.runtime.engine.outcome_table import OutcomeWriter, open_outcome_writer
from destkit.runtime.engine.policy import RunPlan
from destkit.runtime.engine.state import StateStore
from destkit.runtime.errors import UsageError
from destkit.runtime.outcomes import Outcome, OutcomeCallback

OutcomesOpt = Annotated[Path | None, typer.Option(
    "--outcomes", help="Also write one row per record (primary key, row, key, outcome, reason, field, message, "
    "destination status and id, run id, time) to this .parquet (needs destkit[arrow]), .jsonl or .csv file.")]


def open_outcomes(path: Path | None, run_id: str, earlier: Iterable[Outcome] = ()) -> OutcomeWriter | None:
    """The `--outcomes` writer (None without the option), with the `earlier` outcomes already written;
    a name it cannot write or a missing extra ends the command (exit 2)."""
    if path is None:
        return None
    try:
        writer = open_outcome_writer(path, run_id)
    except UsageError as exc:
        fail(f"{exc.message} Fix: {exc.issues[0].fix}" if exc.issues[0].fix else exc.message)
    except OSError as exc:
        fail(f"cannot write the outcomes to {path}: {exc.strerror or exc}.")
    for outcome in earlier:
        writer.write(outcome)
    return writer


def earlier_outcomes(store: StateStore | None, plan: RunPlan | None) -> Iterable[Outcome]:
    """The outcomes a resumed run's earlier part recorded: its file starts with them."""
    if store is None or plan is None or plan.resume is None:
        return ()
    return store.outcomes(plan.resume.run_id)


def close_outcomes(writer: OutcomeWriter | None) -> None:
    if writer is not None:
        writer.close()


def with_outcomes(on_outcome: OutcomeCallback | None, writer: OutcomeWriter | None, *,
                  kept: bool = True) -> OutcomeCallback | None:
    """`on_outcome`, also writing each outcome to the `--outcomes` file; a run that keeps no state (`kept`
    False) writes its messages as its report does, promising nothing of a later run."""
    if writer is None:
        return on_outcome
    write: OutcomeCallback = writer.write if kept else (lambda outcome: writer.write(without_state(outcome)))
    return write if on_outcome is None else _both(on_outcome, write)


def _both(first: OutcomeCallback, second: OutcomeCallback) -> Callable[[Outcome], None]:
    def both(outcome: Outcome) -> None:
        first(outcome)
        second(outcome)
    return both


def tell_outcomes(path: Path | None) -> None:
    """Where the outcome rows are (printed with the report's place)."""
    if path is not None:
        say(f"outcomes: {path}  (one row per record)")


__all__ = ["OutcomesOpt", "close_outcomes", "earlier_outcomes", "open_outcomes", "tell_outcomes", "with_outcomes"]
