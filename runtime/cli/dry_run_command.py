"""`destkit dry-run`: the whole input through mapping, checks and batching, with nothing sent.

It writes the same report and summary as a sync, into its own run folder (`runs/<run_id>/` beside
the state store, which it does not open) or where `--report` says, and exits like a sync: 1 when
some records would not be delivered. Catalogs are read from the destination (GET) unless
`--offline`, where the config's `catalogs:` are used.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from destkit.runtime.cli import demo as _demo
from destkit.runtime.cli.display import (
    RunDisplay,
    abort_message,
    auth_message,
    err,
    fail,
    out,
    plural,
    run_with_display,
)
from destkit.runtime.cli.loading import (
    InputCheck,
    InputDbOpt,
    InputSqlOpt,
    WarnUnknownPathsOpt,
    check_input_given,
    load_sync,
    open_input,
)
from destkit.runtime.cli.outcomes_option import (
    OutcomesOpt,
    close_outcomes,
    open_outcomes,
    tell_outcomes,
    with_outcomes,
)
from destkit.runtime.cli.run_commands import (
    AllowHttpOpt,
    BaseUrlOpt,
    ConfigArg,
    FormatOpt,
    HtmlReportOpt,
    InputOpt,
    QuietOpt,
    ReportOpt,
    RunOutputs,
    TrustSpecOpt,
    WorkersOpt,
    print_summary,
    threshold_exit_code,
)
from destkit.runtime.cli.run_safety import check_output_files
from destkit.runtime.engine import RunResult, Sync
from destkit.runtime.engine.html_report import finish_run_files
from destkit.runtime.engine.outcome_table import OutcomeWriter
from destkit.runtime.engine.report import RunFiles, runs_folder
from destkit.runtime.engine.results import Thresholds
from destkit.runtime.engine.state import DEFAULT_PATH
from destkit.runtime.errors import AuthFailed, ConfigError
from destkit.runtime.outcomes import Status

OfflineOpt = Annotated[bool, typer.Option(
    "--offline", help="Read no catalogs from the destination: the config's `catalogs:` are used (no secrets needed).")]
StateFolderOpt = Annotated[Path, typer.Option(
    "--state", help="The state store whose runs/ folder gets this run's files (nothing is recorded in it).")]


def dry_run(
    config: ConfigArg,
    input_path: InputOpt = None,
    report: ReportOpt = None,
    offline: OfflineOpt = False,
    base_url: BaseUrlOpt = None,
    allow_http: AllowHttpOpt = False,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
    state_path: StateFolderOpt = DEFAULT_PATH,
    trust_spec: TrustSpecOpt = False,
    warn_unknown_paths: WarnUnknownPathsOpt = False,
    html_report: HtmlReportOpt = None,
    workers: WorkersOpt = 1,
    outcomes: OutcomesOpt = None,
    input_sql: InputSqlOpt = None,
    input_db: InputDbOpt = None,
) -> None:
    """Run the whole input through everything but the network: the report and summary a sync would write.

    Nothing is sent and no state is kept; only the catalogs are read (GET), unless --offline.
    Exit 0 when every record would be delivered, 1 when some would not, 2 when it could not run.
    """
    check_input_given(input_path, input_sql, input_db)
    # a run's own folder is new: only a named file can clash
    check_output_files({"--report": report, "--html-report": html_report, "--outcomes": outcomes},
                       input_path=input_path or input_db or config, config=config, state=None)
    sync = load_sync(config, base_url, allow_http, needs_secrets=not offline, trust_spec=trust_spec,
                     check=InputCheck(input_path, fmt and fmt.value, warn_unknown_paths, input_sql, input_db))
    records = open_input(input_path, fmt and fmt.value, input_sql, input_db, sync=sync)
    run_id = uuid.uuid4().hex[:12]
    files = RunFiles.beside(report) if report is not None else RunFiles.in_folder(runs_folder(state_path) / run_id)
    writer = open_outcomes(outcomes, run_id)
    try:
        result = dry_run_into(sync, records, files, run_id=run_id, offline=offline, quiet=quiet,
                              input_path=input_path or Path("the --input-sql query"), outcomes=writer, workers=workers)
    finally:
        close_outcomes(writer)
    finish(result, files, RunOutputs(*finish_run_files(sync, result, files, html_report)), quiet=quiet, outcomes=outcomes)


def dry_run_into(sync: Sync, records: Any, files: RunFiles, *, run_id: str, offline: bool, quiet: bool,
                 input_path: Path, outcomes: OutcomeWriter | None = None, workers: int = 1) -> RunResult:
    """The dry run of `records` into the run's report (with the live display unless `quiet`), each outcome
    also to `outcomes` (the --outcomes file)."""
    display = None if quiet else RunDisplay()  # it counts from the outcomes and the summary, not record by record
    try:
        result, _summary = run_with_display(
            lambda: _demo.run_to_report(sync, records, files.report,
                                        on_outcome=with_outcomes(display.on_outcome if display else None, outcomes,
                                                                 kept=False),
                                        progress=display.progress if display else None,
                                        dry_run=True, offline=offline, run_id=run_id, workers=workers),
            display)
    except AuthFailed as exc:
        fail(auth_message(exc.message))
    except ConfigError as exc:
        fail(exc.render())
    except OSError as exc:
        fail(f"cannot read {input_path} or write {files.report}: {exc.strerror or exc}.")
    return result


def finish(result: RunResult, files: RunFiles, outputs: RunOutputs, *, quiet: bool, outcomes: Path | None = None) -> NoReturn:
    """The summary (grouped errors, the report, summary, HTML and outcome files), what would have been sent, and
    the sync's exit code."""
    print_summary(result, files, outputs, quiet=quiet)
    tell_outcomes(outcomes)
    if result.summary.aborted:
        fail(abort_message(result.summary.aborted))
    would_send = result.summary.count(Status.DELIVERED)
    out.print(f"Dry run: {plural(would_send, 'record')} would be sent; nothing was sent and no state was kept.",
              markup=False, highlight=False)
    code = threshold_exit_code(result, Thresholds())
    if code and not quiet:
        err.print("Some records would not be delivered: the report says why, one line each.",
                  markup=False, highlight=False)
    raise typer.Exit(code)


__all__ = ["dry_run"]
