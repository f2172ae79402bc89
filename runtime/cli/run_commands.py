"""The commands that read a file of records: `destkit preview`, `destkit sync` and `destkit retry`.

Which rows a run resumes or sends again is the engine's run policy (`destkit.runtime.engine.policy`),
the same an embedding platform gets from `Sync.run(records, state=..., mode=...)`; here it is only
announced. A run writes one report line per record not delivered and the summary beside it, into its
own folder `runs/<run_id>/` beside the state store (or where `--report` says), and records that
folder in the state store for `destkit runs`. What keeps a run safe to stop and repeat (outputs,
the run lock, signals) is in `run_safety.py`.
"""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.text import Text

from destkit.runtime.cli import demo as _demo
from destkit.runtime.cli.display import (
    EXIT_ERROR,
    EXIT_NOT_DELIVERED,
    EXIT_OK,
    RunDisplay,
    abort_message,
    auth_message,
    err,
    exit_code,
    fail,
    live_progress,
    out,
    plural,
    print_error_groups,
    print_preview_item,
    run_with_display,
    say,
    summary_table,
)
from destkit.runtime.cli.loading import (
    FormatOpt,
    InputCheck,
    InputDbOpt,
    InputFormat,
    InputOpt,
    InputSqlOpt,
    WarnUnknownPathsOpt,
    check_input_given,
    checked_log_level,
    input_version,
    load_sync,
    open_input,
)
from destkit.runtime.cli.outcomes_option import (
    OutcomesOpt,
    close_outcomes,
    earlier_outcomes,
    open_outcomes,
    tell_outcomes,
    with_outcomes,
)
from destkit.runtime.cli.run_progress import input_total, progress_interval, request_tap
from destkit.runtime.cli.run_safety import (
    check_output_files,
    open_state,
    run_lock,
    stop_exit_code,
    stopping_on_signals,
)
from destkit.runtime.engine import (
    InputChanged,
    RunFailed,
    RunMode,
    RunPlan,
    RunResult,
    StateStore,
    StateStoreError,
    StopRequest,
    Sync,
    plan_run,
)
from destkit.runtime.engine.error_groups import ErrorGroups
from destkit.runtime.engine.html_report import finish_run_files
from destkit.runtime.engine.report import RunFiles, runs_folder
from destkit.runtime.engine.results import Thresholds
from destkit.runtime.engine.state import DEFAULT_PATH
from destkit.runtime.engine.stopping import DEFAULT_GRACE_S
from destkit.runtime.engine.store_errors import UnreadableRow
from destkit.runtime.errors import AuthFailed, ConfigError
from destkit.runtime.ops.logs import configure as configure_logs
from destkit.runtime.ops.metrics import MetricsOptions, RunMetrics
from destkit.runtime.outcomes import RunSummary, Status

ConfigArg = Annotated[Path, typer.Argument(help="The sync config (YAML).")]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="Send to this URL instead of the spec's.")]
AllowHttpOpt = Annotated[bool, typer.Option("--allow-http", help="Allow a plain-HTTP base URL (emulators).")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress display and no summary table (where the files are is still printed).")]
ReportOpt = Annotated[Path | None, typer.Option(
    "--report", help="JSONL report path, the summary beside it (default: the run's own folder, runs/<run id>/ beside "
    "the state store).")]
MaxInvalidOpt = Annotated[float | None, typer.Option(
    "--max-invalid-ratio", min=0, max=1, help="Fail the run (exit 1) when more than this share of the records is "
    "invalid, e.g. 0.05; fewer invalid records alone do not fail it.")]
MaxRejectedOpt = Annotated[float | None, typer.Option(
    "--max-rejected-ratio", min=0, max=1, help="Fail the run (exit 1) when more than this share of the records is "
    "rejected by the destination; fewer rejected records alone do not fail it.")]
WaitForLockOpt = Annotated[bool, typer.Option(
    "--wait-for-lock", help="If another run of this config and input holds the state store, wait for it to end.")]
StopGraceOpt = Annotated[float, typer.Option(
    "--stop-grace", min=0, help="On SIGTERM or Ctrl-C, seconds the batches in flight get to finish.")]
HtmlReportOpt = Annotated[Path | None, typer.Option(
    "--html-report", help="Also write the run's HTML report here (it is always written as report.html beside the "
    "report): one file that opens from disk.")]
WorkersOpt = Annotated[int, typer.Option(
    "--workers", min=1, max=64, help="Worker processes mapping and sending (each its share of the rate limits).")]
TrustSpecOpt = Annotated[bool, typer.Option(
    "--trust-spec", help="Let the config name a spec file by path: its hooks run as code (bundled ids need no flag).")]


# --- preview -----------------------------------------------------------------------------------------


def preview(
    config: ConfigArg,
    input_path: InputOpt = None,
    n: Annotated[int, typer.Option("-n", "--limit", min=1, help="How many records to preview.")] = 5,
    offline: Annotated[
        bool, typer.Option("--offline", help="Read no catalogs (they must be in the config).")
    ] = False,
    base_url: BaseUrlOpt = None,
    allow_http: AllowHttpOpt = False,
    fmt: FormatOpt = None,
    trust_spec: TrustSpecOpt = False,
    warn_unknown_paths: WarnUnknownPathsOpt = False,
    input_sql: InputSqlOpt = None,
    input_db: InputDbOpt = None,
) -> None:
    """Show the first records as the destination would receive them, or why they would not be sent.

    Nothing is sent: only the catalogs are read (GET), unless --offline.
    """
    check_input_given(input_path, input_sql, input_db)
    sync = load_sync(config, base_url, allow_http, needs_secrets=not offline, trust_spec=trust_spec,
                     check=InputCheck(input_path, fmt and fmt.value, warn_unknown_paths, input_sql, input_db))
    records = open_input(input_path, fmt and fmt.value, input_sql, input_db, sync=sync)
    try:
        items = sync.preview(records, n, offline=offline)
    except AuthFailed as exc:
        fail(auth_message(exc.message))
    except ConfigError as exc:
        fail(exc.render())
    except OSError as exc:
        fail(f"cannot read {input_path}: {exc.strerror or exc}.")
    for item in items:
        print_preview_item(item)
    out.print(
        Text(f"Previewed {len(items)} record{'s' if len(items) != 1 else ''}; nothing was sent.", style="dim")
    )


# --- sync and retry -----------------------------------------------------------------------------------


def sync_command(
    config: ConfigArg,
    input_path: InputOpt = None,
    report: ReportOpt = None,
    base_url: BaseUrlOpt = None,
    allow_http: AllowHttpOpt = False,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
    state_path: Annotated[
        Path, typer.Option("--state", help="SQLite state store (runs, outcomes, checkpoints, dead letters).")
    ] = DEFAULT_PATH,
    no_state: Annotated[bool, typer.Option("--no-state", help="Keep no state (no resume, no retry).")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the last unfinished run of this config and input.")
    ] = False,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", min=1, max=65535, help="Serve Prometheus metrics on this port.")
    ] = None,
    metrics_host: Annotated[
        str, typer.Option("--metrics-host", help="The address the metrics port binds to.")
    ] = "127.0.0.1",
    metrics_linger: Annotated[
        float, typer.Option("--metrics-linger", min=0, help="Keep serving the final metrics this many seconds.")
    ] = 0,
    metrics_pushgateway: Annotated[
        str | None, typer.Option("--metrics-pushgateway", help="Push the final metrics to this Pushgateway URL.")
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="JSON log lines to stderr at this level (info: one per request).")
    ] = "warning",
    wait_for_lock: WaitForLockOpt = False,
    stop_grace: StopGraceOpt = DEFAULT_GRACE_S,
    trust_spec: TrustSpecOpt = False,
    warn_unknown_paths: WarnUnknownPathsOpt = False,
    max_invalid_ratio: MaxInvalidOpt = None,
    max_rejected_ratio: MaxRejectedOpt = None,
    html_report: HtmlReportOpt = None,
    workers: WorkersOpt = 1,
    outcomes: OutcomesOpt = None,
    input_sql: InputSqlOpt = None,
    input_db: InputDbOpt = None,
) -> None:
    """Deliver every record of a file; one report line per record that was not delivered.

    Exit 0 when all were delivered, 1 when some were not (or more than --max-invalid-ratio /
    --max-rejected-ratio), 2 when the run could not start or was stopped (refused credentials, a
    full disk, another run holding the state), 130 / 143 when Ctrl-C / SIGTERM stopped it (it
    prints the command that finishes it).
    """
    if no_state and resume:
        fail("--resume continues a run recorded in the state store, and --no-state keeps none; drop one of them.")
    run_file(FileRun(config, input_path, report, base_url, allow_http, fmt, quiet,
                     None if no_state else state_path, RunMode.RESUME if resume else RunMode.SYNC,
                     MetricsOptions(metrics_port, metrics_host, metrics_linger, metrics_pushgateway), log_level,
                     wait_for_lock=wait_for_lock, stop_grace=stop_grace,
                     trust_spec=trust_spec, warn_unknown_paths=warn_unknown_paths,
                     thresholds=Thresholds(max_invalid_ratio, max_rejected_ratio), html_report=html_report,
                     workers=workers, outcomes=outcomes, input_sql=input_sql, input_db=input_db))


def retry(
    config: ConfigArg,
    input_path: InputOpt = None,
    report: ReportOpt = None,
    base_url: BaseUrlOpt = None,
    allow_http: AllowHttpOpt = False,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
    state_path: Annotated[
        Path, typer.Option("--state", help="The SQLite state store of the earlier run.")
    ] = DEFAULT_PATH,
    log_level: Annotated[str, typer.Option("--log-level", help="JSON log lines to stderr at this level.")] = "warning",
    include_unknown: Annotated[bool, typer.Option(
        "--include-unknown", help="Also send again records dead-lettered as unknown_delivery (sent, answer lost).")] = False,
    wait_for_lock: WaitForLockOpt = False,
    stop_grace: StopGraceOpt = DEFAULT_GRACE_S,
    trust_spec: TrustSpecOpt = False,
    warn_unknown_paths: WarnUnknownPathsOpt = False,
    max_invalid_ratio: MaxInvalidOpt = None,
    max_rejected_ratio: MaxRejectedOpt = None,
    html_report: HtmlReportOpt = None,
    workers: WorkersOpt = 1,
    outcomes: OutcomesOpt = None,
    input_sql: InputSqlOpt = None,
    input_db: InputDbOpt = None,
) -> None:
    """Send again, from the input's current data, the records of this config and input whose last outcome was
    rejected or dead-lettered. An interrupted retry is continued by the next one."""
    run_file(FileRun(config, input_path, report, base_url, allow_http, fmt, quiet, state_path, RunMode.RETRY,
                     None, log_level, wait_for_lock=wait_for_lock, stop_grace=stop_grace,
                     include_unknown=include_unknown, trust_spec=trust_spec,
                     warn_unknown_paths=warn_unknown_paths,
                     thresholds=Thresholds(max_invalid_ratio, max_rejected_ratio), html_report=html_report,
                     workers=workers, outcomes=outcomes, input_sql=input_sql, input_db=input_db))


@dataclass(frozen=True)
class FileRun:
    """What `destkit sync` or `destkit retry` was asked to do (`state_path` None: `--no-state`)."""

    config: Path
    input_path: Path | None  # None: the records are the rows of `input_sql`
    report: Path | None
    base_url: str | None
    allow_http: bool
    fmt: InputFormat | None
    quiet: bool
    state_path: Path | None
    mode: RunMode
    metrics: MetricsOptions | None
    log_level: str
    wait_for_lock: bool = False
    stop_grace: float = DEFAULT_GRACE_S
    include_unknown: bool = False
    trust_spec: bool = False
    warn_unknown_paths: bool = False
    thresholds: Thresholds = field(default_factory=Thresholds)
    html_report: Path | None = None  # --html-report: the HTML report also written here
    workers: int = 1  # --workers: worker processes (destkit.runtime.engine.workers)
    outcomes: Path | None = None  # --outcomes: one row per record also written here
    input_sql: str | None = None  # --input-sql: a DuckDB query's rows instead of --input
    input_db: Path | None = None  # --input-db: the database it runs in (None: in memory)

    def files(self, run_id: str) -> RunFiles:
        """Where run `run_id` writes: the named --report, or its own folder beside the state store."""
        if self.report is not None:
            return RunFiles.beside(self.report)
        return RunFiles.in_folder(runs_folder(self.state_path or DEFAULT_PATH) / run_id)

    def resume_command(self) -> str:
        """The command that finishes this run: the same one, with --resume for a sync (a retry continues itself)."""
        options: list[tuple[str, object]] = [
            ("--input", self.input_path), ("--input-sql", self.input_sql), ("--input-db", self.input_db),
            ("--report", self.report), ("--base-url", self.base_url),
            ("--allow-http", self.allow_http), ("--format", self.fmt and self.fmt.value),
            ("--state", self.state_path if self.state_path != DEFAULT_PATH else None), ("--quiet", self.quiet),
            ("--log-level", self.log_level if self.log_level != "warning" else None),
            ("--include-unknown", self.include_unknown), ("--trust-spec", self.trust_spec),
            ("--warn-unknown-paths", self.warn_unknown_paths),
            ("--max-invalid-ratio", self.thresholds.max_invalid_ratio),
            ("--max-rejected-ratio", self.thresholds.max_rejected_ratio), ("--html-report", self.html_report),
            ("--workers", self.workers if self.workers != 1 else None),
            ("--outcomes", self.outcomes),
            ("--resume", self.mode is not RunMode.RETRY)]
        words = ["destkit", "retry" if self.mode is RunMode.RETRY else "sync", str(self.config)]
        for name, value in options:
            if value is True:
                words.append(name)
            elif value is not None and value is not False:
                words += [name, str(value)]
        return shlex.join(words)


def run_file(request: FileRun) -> NoReturn:
    """Plan the run from the state store, announce the plan, run it into the report, print the summary."""
    configure_logs(checked_log_level(request.log_level))
    check_input_given(request.input_path, request.input_sql, request.input_db)  # before the config's checks
    source = request.input_path or request.input_db or request.config  # what a report must not overwrite
    # a run's own folder is new: only a named file can clash
    check_output_files({"--report": request.report, "--html-report": request.html_report,
                        "--outcomes": request.outcomes}, input_path=source, config=request.config,
                       state=request.state_path)
    fmt = request.fmt and request.fmt.value
    sync = load_sync(request.config, request.base_url, request.allow_http, trust_spec=request.trust_spec,
                     check=InputCheck(request.input_path, fmt, request.warn_unknown_paths, request.input_sql,
                                      request.input_db))
    records = open_input(request.input_path, fmt, request.input_sql, request.input_db, sync=sync)
    if request.state_path is None:
        result, files, groups = deliver(sync, records, None, None, request)
    else:
        store = open_state(request.state_path)
        ref = input_version(request.input_path, request.input_sql, request.input_db)
        try:
            with run_lock(store, sync, ref, wait=request.wait_for_lock):
                plan = announce(planned(sync, store, request, ref))
                result, files, groups = deliver(sync, records, store, plan, request)
        finally:
            store.close()
    print_summary(result, files, groups, quiet=request.quiet)
    tell_outcomes(request.outcomes)
    if request.state_path is None:
        tell_no_state_dead_letters(result.summary)
    if result.stopped:
        tell_stopped(result, request)
    if result.summary.aborted:
        fail(abort_message(result.summary.aborted))
    raise typer.Exit(threshold_exit_code(result, request.thresholds))


def threshold_exit_code(result: RunResult, thresholds: Thresholds) -> int:
    """The exit code, with the thresholds: one line per threshold exceeded (exit 1); within them, exit 0."""
    breaches = thresholds.exceeded(result.summary)
    for breach in breaches:
        err.print(Text("error: ", style="bold red") + Text(f"the run failed: {breach}."))
    if breaches:
        return EXIT_NOT_DELIVERED
    return EXIT_OK if thresholds.limits() and thresholds.tolerated(result.summary) else exit_code(result)


def tell_no_state_dead_letters(summary: RunSummary) -> None:
    """Without a state store no later run knows the dead letters: say how they get sent."""
    n = summary.count(Status.DEAD_LETTERED)
    if n:
        say(f"{plural(n, 'record')} dead-lettered (see the report). This run kept no state (--no-state), so no later "
            "run or `destkit retry` knows them: run the whole input again to send them, or run with a state store.")


def tell_stopped(result: RunResult, request: FileRun) -> NoReturn:
    """A run a signal stopped: what was done, the command that finishes it, exit 128 + the signal's number."""
    assert result.stopped is not None
    summary = result.summary
    done = plural(summary.received, "record")
    by_status = ", ".join(f"{summary.count(s):,} {s.value.replace('_', '-')}" for s in Status if summary.count(s))
    err.print(f"Stopped by {result.stopped}: {done} got an outcome" + (f": {by_status}" if by_status else "")
              + " (in the report); the rest were not sent.", markup=False, highlight=False)
    tell_resume(request)
    raise typer.Exit(stop_exit_code(result.stopped))


def tell_resume(request: FileRun, lead: str = "To finish the run:") -> None:
    """How to finish a run that stopped early (the command alone on its line, to be copied)."""
    if request.state_path is None:
        err.print("Without a state store (--no-state) a run cannot be resumed: run it again to send every record.",
                  markup=False, highlight=False)
        return
    err.print(lead, markup=False, highlight=False)
    err.print(f"  {request.resume_command()}", markup=False, highlight=False)


def planned(sync: Sync, store: StateStore, request: FileRun, ref: str) -> RunPlan:
    """The engine's plan for this file; a resume over a file that changed since is refused."""
    try:
        return plan_run(sync, store, mode=request.mode, input_ref=ref, include_unknown=request.include_unknown)
    except InputChanged as exc:
        fail(f"the unfinished run {exc.run.run_id} read a different version of {request.input_path or 'the --input-sql query'} "
             "(it changed since); run without --resume to start over.")


def announce(plan: RunPlan) -> RunPlan:
    """Say what the run will do before it starts; a retry with nothing to send ends here (exit 0)."""
    if plan.mode is RunMode.RESUME and plan.resume is None:
        say("No unfinished run of this config to resume; starting a new run.")
    elif plan.mode is RunMode.RESUME and plan.resume is not None:
        say(f"Resuming run {plan.resume.run_id}: rows up to {plan.resume.checkpoint:,} and every row with "
            "an outcome are skipped.")
    elif plan.mode is RunMode.RETRY and plan.nothing_to_do:
        say("Nothing to retry: no record of this config and input was last rejected or dead-lettered.")
        tell_unknown(plan)
        raise typer.Exit(EXIT_OK)
    elif plan.mode is RunMode.RETRY:
        continuing = f", continuing the unfinished retry {plan.resume.run_id}" if plan.resume is not None else ""
        say(f"Retrying {plural(len(plan.only_keys or ()), 'record')} last rejected or dead-lettered{continuing}.")
        tell_unknown(plan)
    return plan


def tell_unknown(plan: RunPlan) -> None:
    if plan.unknown_keys:
        say(f"Left out: {plural(len(plan.unknown_keys), 'record')} dead-lettered as unknown_delivery (sent, the answer "
            "lost: the destination may have them); pass --include-unknown to send them again.")


def deliver(sync: Sync, records: Any, store: StateStore | None, plan: RunPlan | None,
            request: FileRun) -> tuple[RunResult, RunFiles, RunOutputs]:
    """Run the records into the run's report, with the progress display and the metrics server if asked for."""
    display = progress_display(request, store, plan)
    if display is not None:
        records = display.reading(records)
        console = err if live_progress() else None  # log lines printed above the bar, not glued onto it
        configure_logs(checked_log_level(request.log_level), console=console, tap=request_tap(display))
    run_id = plan.resume.run_id if plan is not None and plan.resume is not None else uuid.uuid4().hex[:12]
    files = request.files(run_id)
    metrics = run_metrics(request, RunSummary(run_id=run_id, destination=sync.spec.id, action=sync.action_id))
    outcomes = open_outcomes(request.outcomes, run_id, earlier_outcomes(store, plan))  # closed however the run ends

    def progress(summary: RunSummary) -> None:
        if display is not None:
            display.progress(summary)
        if metrics is not None:
            metrics.publish(summary)

    async def go() -> Any:
        stop = StopRequest(request.stop_grace)
        if display is not None:
            stop.subscribe(display.stop_requested)
        with stopping_on_signals(stop):
            return await _demo.run_to_report(sync, records, files.report, progress=progress, state=store,
                                             plan=plan, stop=stop, run_id=run_id, workers=request.workers,
                                             on_outcome=with_outcomes(display.on_outcome if display else None, outcomes,
                                                                      kept=store is not None))

    try:
        result, _summary_file = run_with_display(go, display)
        note_files(store, result, request, files)
        outputs = RunOutputs(*finish_run_files(sync, result, files, request.html_report))
    except UnreadableRow as exc:  # no "free space" to fix, and what the store says was sent is in doubt
        fail(f"{exc}. Fix: {exc.fix}.")
    except (RunFailed, StateStoreError) as exc:
        stopped_by_failure(str(exc), request)
    except ConfigError as exc:
        fail(exc.render())
    except OSError as exc:
        stopped_by_failure(f"cannot read {request.input_path} or write {files.report}: {exc.strerror or exc}",
                           request)
    finally:
        close_outcomes(outcomes)
    if metrics is not None:
        finish_metrics(metrics, result.summary, request.quiet)
    return result, files, outputs


# --- progress -----------------------------------------------------------------------------------------

def progress_display(request: FileRun, store: StateStore | None, plan: RunPlan | None) -> RunDisplay | None:
    """The run's progress display (none with --quiet): the live bar on a terminal, else a line now and then.

    The total is the records that will get an outcome: a retry's records to send again, else the
    input's rows; a resumed run starts from the outcomes its first part recorded.
    """
    if request.quiet:
        return None
    before = store.counts(plan.resume.run_id)[0] if store is not None and plan and plan.resume else None
    total: int | None
    if plan is not None and plan.mode is RunMode.RETRY:
        total, estimated = len(plan.only_keys or ()), False
    else:
        total, estimated = input_total(request.input_path, request.fmt and request.fmt.value)
    return RunDisplay(total, estimated=estimated, done_before=before,
                      every_s=None if live_progress() else progress_interval())


def note_files(store: StateStore | None, result: RunResult, request: FileRun, files: RunFiles) -> None:
    """Record in the state store the config the run ran and where its files are (for `destkit runs show`)."""
    run_id = result.summary.run_id
    if store is not None and run_id and store.run(run_id) is not None:
        where = files.folder if files.folder is not None else files.report
        store.note_run(run_id, config_path=str(request.config.resolve()), files=str(where.resolve()))




def run_metrics(request: FileRun, first: RunSummary) -> RunMetrics | None:
    """The run's metrics, served from the start with `first` (zero counters under the run id); None if not asked for."""
    options = request.metrics
    if options is None or (options.port is None and options.pushgateway is None):
        return None
    try:
        return RunMetrics(options, first)
    except OSError as exc:
        fail(f"cannot serve metrics on {options.host}:{options.port}: {exc.strerror or exc}.")


def finish_metrics(metrics: RunMetrics, summary: RunSummary, quiet: bool) -> None:
    """The final figures: pushed (a failed push is a warning: the records were delivered), kept while lingering."""
    problem = metrics.finish(summary)
    if problem is not None:
        typer.echo(f"warning: {problem}", err=True)
    if metrics.server is not None and metrics.options.linger_s and not quiet:
        say(f"metrics: {metrics.server.url} keeps the final figures for {metrics.options.linger_s:g} s.")


def stopped_by_failure(message: str, request: FileRun) -> NoReturn:
    """A run that a failure outside the records stopped (a full disk): the cause, and how to finish it. Exit 2."""
    err.print(Text("error: ", style="bold red") + Text(f"{message}. Nothing more was sent."))
    tell_resume(request, "Once the cause is fixed (free space, a writable directory), finish the run with:")
    raise typer.Exit(EXIT_ERROR)


@dataclass(frozen=True)
class RunOutputs:
    """What a run wrote besides its report and summary: the grouped errors (printed) and the HTML reports."""

    groups: ErrorGroups
    html: list[Path]


def print_summary(result: RunResult, files: RunFiles, outputs: RunOutputs, *, quiet: bool) -> None:
    """The summary table and the grouped errors (not with --quiet), then where the run's files are (always: a
    scheduler logs it)."""
    refused_at_once = result.summary.aborted is not None and result.summary.received == 0
    if not quiet and not refused_at_once:  # a table of zeros says nothing the error line does not
        out.print(summary_table(result.summary))
        print_error_groups(outputs.groups)
    if result.summary.report_path is None:
        say(f"report:  none written; the earlier report {files.report} and its summary were kept "
            "(no record had an outcome).")
    else:
        detail = "" if quiet else "  (one line per record not delivered or delivered with warnings)"
        say(f"report:  {files.report}{detail}")
        say(f"summary: {files.summary}")
    for page in outputs.html:
        say(f"html:    {page}")


__all__ = ["FileRun", "FormatOpt", "InputFormat", "InputOpt", "load_sync", "open_input", "preview", "retry", "run_file",
           "sync_command"]
