"""What the `destkit` commands print: the consoles, exit codes, the run summary table, the live run display,
the preview of a record and the table of bundled destinations.

Paths and messages may hold brackets, so plain text goes through `say` (no markup, no highlighting).
Nothing printed here carries a secret: messages come from errors and outcomes, which redact them.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from destkit.runtime.engine import PreviewItem, RunResult
from destkit.runtime.engine.error_groups import ErrorGroups
from destkit.runtime.engine.sources import JsonLines
from destkit.runtime.outcomes import Outcome, OutcomeCallback, RunSummary, Status, skipping_delivered
from destkit.runtime.spec.models import ActionSpec, DestinationSpec

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

# 2: a usage, config or environment error (nothing or not all was tried); 3: a bug in destkit
EXIT_OK, EXIT_NOT_DELIVERED, EXIT_ERROR, EXIT_INTERNAL = 0, 1, 2, 3

T = TypeVar("T")

STATUS_STYLES = {
    Status.DELIVERED: "green",
    Status.INVALID: "yellow",
    Status.REJECTED: "red",
    Status.DEAD_LETTERED: "magenta",
    Status.SKIPPED: "dim",
}


# what a value from the input must not send to a terminal raw: C0 and C1 control characters (ESC starts the
# sequences that clear the screen, set the title or rewrite what was printed) and the bidi overrides that
# reorder a line; newlines and tabs stay (messages span lines)
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """`text` safe to print to a terminal: each control character written as its escape (ESC as `\\x1b`)."""
    return TERMINAL_CONTROLS.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print `error: message` to stderr and exit (an expected failure: no traceback)."""
    err.print(Text("error: ", style="bold red") + Text(shown(message)))
    raise typer.Exit(code)


def say(text: str) -> None:
    """Print plain text (no markup, no highlighting: paths and messages may hold brackets)."""
    out.print(shown(text), markup=False, highlight=False)


def plural(n: int, noun: str) -> str:
    """`1 record`, `2 records`, `1,000 records`."""
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def abort_message(reason: str) -> str:
    """The error line of a run that ended early (`RunSummary.aborted`): a worker process that died (SIGKILL,
    OOM), or an auth failure."""
    if reason.startswith("worker process "):  # not the key's fault: its records' outcomes are in the report
        return (f"the run was aborted: {reason}. Its records that may have been delivered are dead-lettered "
                "(unknown_delivery: retry --include-unknown sends them again); run the same command with --resume to "
                "finish the rest.")
    return auth_message(reason)


def auth_message(reason: str) -> str:
    """The error line of a refused credential."""
    reason = reason.removeprefix("auth_failed: ")
    return f"authentication failed: {reason} Nothing more was sent; fix the credentials under `secrets:` and run again."


def exit_code(result: RunResult) -> int:
    if result.summary.aborted:
        return EXIT_ERROR
    return EXIT_OK if result.ok else EXIT_NOT_DELIVERED


# --- a run ----------------------------------------------------------------------------------------


def summary_table(summary: RunSummary) -> Table:
    """Records per outcome and per reason, with the request figures as the caption."""
    table = Table(
        title=f"{summary.destination} · {summary.action}" + (" (dry run)" if summary.dry_run else ""),
        title_justify="left",
    )
    table.add_column("outcome", no_wrap=True)
    table.add_column("records", justify="right", no_wrap=True)
    for status in Status:
        table.add_row(Text(status.value, style=STATUS_STYLES[status]), f"{summary.count(status):,}")
    table.add_section()
    table.add_row(Text("received", style="bold"), f"{summary.received:,}")
    for reason, n in sorted(summary.reasons.items()):
        table.add_row(Text(f"  reason: {reason}"), f"{n:,}")
    for reason, n in sorted(summary.warnings.items()):
        table.add_row(Text(f"  warning: {reason}"), f"{n:,}")
    if summary.mirror:
        add_removal_rows(table, summary)
    table.add_section()
    rate = f" · {summary.received / summary.duration_s:,.0f} records/s" if summary.duration_s else ""
    table.caption = (
        f"{summary.batches:,} batches · {summary.requests:,} requests · {summary.retries:,} retries"
        f" · {summary.duration_s:.2f} s{rate}"
    )
    return table


def add_removal_rows(table: Table, summary: RunSummary) -> None:
    """A mirror run's removals: members removed, removals that failed (per reason), or why none was tried."""
    table.add_section()
    table.add_row(Text("removed", style=STATUS_STYLES[Status.DELIVERED]), f"{summary.removed:,}")
    table.add_row(Text("removal failed", style=STATUS_STYLES[Status.REJECTED]), f"{summary.removals_failed:,}")
    for reason, n in sorted(summary.removal_reasons.items()):
        table.add_row(Text(f"  reason: {reason}"), f"{n:,}")
    if summary.removals_skipped:
        table.add_row(Text(f"  {summary.removals_skipped}"), "")


class RunDisplay:
    """The live progress of a run: records done of the total, percentage, rate, ETA, outcomes so far by
    status, retries and throttled answers (an outcome callback, a `progress` callback and a log tap).

    "Done" is records with an outcome, not records read: reading runs ahead of delivery by the
    batches queued. `total` is the records the run will give an outcome (None: unknown, no
    percentage); `estimated` marks a total guessed from the file's size. Once the whole input was
    read and the run was not stopped, the total becomes what was done, so a finished run shows 100%
    even when the up-front count was off (a quoted newline in a CSV, blank lines). `done_before`:
    the outcomes of the run being resumed.
    """

    def __init__(self, total: int | None = None, *, estimated: bool = False,
                 done_before: Counter[str] | None = None, every_s: float | None = None) -> None:
        self.read = 0
        self.batches = 0
        self.counts: Counter[str] = Counter(done_before or {})
        self.done_before = sum(self.counts.values())
        self.delivered_before = self.counts[Status.DELIVERED.value]
        self.total = total
        self.estimated = estimated
        self.retries = 0
        self.later_attempts = 0  # requests the log tap saw with attempt > 1 (live, before their batch ends)
        self.throttled = 0
        self.read_all = False
        self.stopping: str | None = None
        self.every_s = every_s  # not on a terminal: a plain progress line this often (None: none)
        self.spinner = Spinner("dots")
        self.started = time.monotonic()
        self.last_line = self.started
        # the outcome callback a run gets: delivered records are counted from the summary, so the run need not
        # build an outcome for each of them
        self.on_outcome: OutcomeCallback = skipping_delivered(self.outcome)

    # the callbacks
    def tick(self) -> None:
        self.read += 1

    def reading(self, records: Iterable[Any]) -> Iterator[Any]:
        """Pass `records` through, noting when the input was read to its end (a C iterator: no Python frame per
        record). A JSON Lines file stays a `JsonLines`, which a run over workers routes raw."""
        if isinstance(records, JsonLines):
            return records.when_read(self._note_read_all)
        return itertools.chain(records, self._read_to_end())

    def _note_read_all(self) -> None:
        self.read_all = True

    def _read_to_end(self) -> Iterator[Any]:
        self.read_all = True
        yield from ()

    def outcome(self, outcome: Outcome) -> None:
        """An outcome of the run; a delivered one is counted by `progress`, from the summary, whether or not the
        run built its outcome (it builds one only for a delivered record with warnings, or a callback that
        watches every record)."""
        if outcome.status is not Status.DELIVERED:
            self.counts[outcome.status.value] += 1

    def progress(self, summary: RunSummary) -> None:
        self.batches = summary.batches
        self.counts[Status.DELIVERED.value] = self.delivered_before + summary.counts[Status.DELIVERED.value]
        self.retries = max(self.retries, summary.retries)
        if self.every_s is not None and time.monotonic() - self.last_line >= self.every_s:
            self.last_line = time.monotonic()
            err.print("progress: " + self.line().plain, markup=False, highlight=False, soft_wrap=True)

    def request_seen(self, status: int | None, attempt: int | None) -> None:
        """A request the log tap saw: a later attempt is a retry, a 429 a throttling wait."""
        if attempt is not None and attempt > 1:
            self.later_attempts += 1
            self.retries = max(self.retries, self.later_attempts)
        if status == HTTP_TOO_MANY_REQUESTS:
            self.throttled += 1

    def stop_requested(self, forced: bool) -> None:
        self.stopping = "stopping at once" if forced else "stopping: finishing the batches in flight"

    def finish(self) -> None:
        """The run ended: when it read its whole input and was not stopped, every record is done (100%)."""
        if self.read_all and self.stopping is None:
            self.total = self.done

    # the figures
    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def rate(self) -> float:
        """Records done per second in this run (the resumed run's earlier outcomes are not this run's work)."""
        elapsed = time.monotonic() - self.started
        return (self.done - self.done_before) / elapsed if elapsed > 0 else 0.0

    def eta_s(self) -> float | None:
        rate = self.rate()
        if self.total is None or rate <= 0 or self.stopping is not None or self.done >= self.total:
            return None
        return max(self.total - self.done, 0) / rate

    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, self.done * 100 // self.total)

    def line(self) -> Text:
        """The progress as one line of text (the bar beside it on a terminal)."""
        c = self.counts
        pct = self.percent()
        about = "~" if self.estimated else ""
        of = f"/{about}{self.total:,}" if self.total is not None else ""
        eta = self.eta_s()
        text = Text.assemble(
            f"{pct}% · " if pct is not None else "",
            f"{self.done:,}{of} records · {self.rate():,.0f} records/s",
            f" · ETA {clock(eta)}" if eta is not None else "",
            " · ",
            (f"delivered {c['delivered']:,}", "green"), " · ",
            (f"invalid {c['invalid']:,}", "yellow"), " · ",
            (f"rejected {c['rejected']:,}", "red"), " · ",
            (f"dead-lettered {c['dead_lettered']:,}", "magenta"),
            (f" · skipped {c['skipped']:,}" if c["skipped"] else "", "dim"),
            f" · retries {self.retries:,} · throttled {self.throttled:,}",
            f" · {clock(time.monotonic() - self.started)} elapsed",
        )
        if self.stopping:
            text.append(f" · {self.stopping}", style="bold yellow")
        return text

    def __rich__(self) -> Any:
        grid = Table.grid(padding=(0, 1))
        bar = ProgressBar(total=float(self.total) if self.total else None, completed=float(self.done), width=24)
        grid.add_row(self.spinner, bar, self.line())
        return grid


HTTP_TOO_MANY_REQUESTS = 429


def clock(seconds: float) -> str:
    """`42 s`, `3:07`, `1:02:03`."""
    s = int(seconds + 0.5)
    if s < 60:
        return f"{s} s"
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def live_progress() -> bool:
    """Whether a live bar can be drawn: progress goes to stderr, so stdout stays for what a script reads."""
    return err.is_terminal


def run_with_display(coro_factory: Callable[[], Coroutine[Any, Any, T]], display: RunDisplay | None) -> T:
    """Run the coroutine, with the live bar on a terminal (on stderr, log lines printed above it)."""
    if display is None or not live_progress():
        result = asyncio.run(coro_factory())
        if display is not None:
            display.finish()
        return result
    with Live(display, console=err, refresh_per_second=8) as live:
        result = asyncio.run(coro_factory())
        display.finish()
        live.refresh()
        return result


PRINTED_GROUPS = 10
"""Groups of not-delivered records printed after a run; the summary file and the HTML report have them all."""


def print_error_groups(groups: ErrorGroups) -> None:
    """The records not delivered, grouped by outcome, reason and field: a count, the usual message, sample rows."""
    ordered = groups.ordered()
    if not ordered:
        return
    out.print(Text("Not delivered, by outcome · reason · field:", style="bold"))
    for group in ordered[:PRINTED_GROUPS]:
        style = STATUS_STYLES.get(Status(group.outcome), "") if group.outcome in {s.value for s in Status} else ""
        head = " · ".join(x for x in (group.outcome, group.reason, group.field) if x)
        out.print(Text(f"  {plural(group.count, 'record')}  ") + Text(head, style=style))
        if group.message:
            out.print(Text(f"      {shown(group.message)}"))
        for sample in group.samples:
            out.print(Text(f"      e.g. {shown(sample_text(sample))}", style="dim"))
    more = len(ordered) - PRINTED_GROUPS
    if more > 0 or groups.other:
        out.print(Text(f"  ... and {plural(max(more, 0), 'more group')}"
                       + (f" and {plural(groups.other, 'record')} beyond them" if groups.other else "")
                       + " (the summary file and the HTML report list them)", style="dim"))


def sample_text(sample: dict[str, Any]) -> str:
    """`row 2 · primary key c2 · key u00002 · value "415-555-0101"` (the value as JSON: masked where the field is
    hashed; the primary key with options.primary_key)."""
    parts = [f"row {sample.get('row')}"]
    if sample.get("primary_key") is not None:
        parts.append(f"primary key {sample['primary_key']}")
    if sample.get("key") is not None:
        parts.append(f"key {sample['key']}")
    if "value" in sample:
        parts.append(f"value {orjson.dumps(sample['value']).decode()}")
    return " · ".join(parts)


# --- a preview ------------------------------------------------------------------------------------


def print_preview_item(item: PreviewItem) -> None:
    """One previewed record: why it would not be sent, or the body it would be sent as."""
    if item.outcome is not None:
        print_held_back(item.row, item.outcome)
        return
    out.print(Text(f"row {item.row}", style="bold") + Text(" · would be sent as", style="green"))
    body = shown(orjson.dumps(item.body, option=orjson.OPT_INDENT_2).decode())  # JSON leaves C1 controls raw
    out.print(Syntax(body, "json", theme="ansi_dark", background_color="default", word_wrap=True))
    for w in item.warnings or []:
        out.print(Text(shown(f"  warning {w['reason']} on {w['field']}: {w['message']}"), style="yellow"))


def print_held_back(row: int, outcome: Outcome) -> None:
    head = Text(f"row {row}", style="bold") + Text(f" · {outcome.status.value}", style="yellow")
    out.print(head + (Text(f" · {shown(outcome.key)}") if outcome.key else Text("")))
    out.print(Text(f"  reason: {outcome.reason}"))
    if outcome.field:
        out.print(Text(f"  field: {shown(outcome.field)}"))
    if outcome.message:
        out.print(Text(f"  message: {shown(outcome.message)}"))


# --- the bundled destinations -----------------------------------------------------------------------


def specs_table() -> Table:
    """Every bundled destination with its actions, batch limits and fields (required ones starred)."""
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
    return table


def add_spec_rows(table: Table, spec: DestinationSpec) -> None:
    """One row per action; the destination's id and name on the first."""
    for i, (action_id, action) in enumerate(spec.actions.items()):
        dest = Text(f"{spec.id}\n{spec.name}") if i == 0 else Text("")
        table.add_row(
            dest,
            Text(action_id, style="bold") + Text(f"\n{action.title}"),
            batch_limits(action),
            action_fields(action),
        )


def batch_limits(action: ActionSpec) -> str:
    b = action.batch
    size = f"{b.max_bytes / 1_000_000:g} MB" if b.max_bytes >= 100_000 else f"{b.max_bytes:,} bytes"
    return f"{b.max_records:,} records\n{size}"


def action_fields(action: ActionSpec) -> Text:
    """One line per field: its name (bold and starred when required), types and format."""
    fields = Text()
    for j, (field_name, f) in enumerate(action.fields.items()):
        fields.append(("\n" if j else "") + field_name, style="bold" if f.required else "")
        fields.append(" *" if f.required else "", style="bold red")
        fields.append(f" {'|'.join(f.types)}" + (f" ({f.format})" if f.format else ""), style="dim")
    return fields


__all__ = [
    "EXIT_ERROR",
    "EXIT_NOT_DELIVERED",
    "EXIT_OK",
    "RunDisplay",
    "abort_message",
    "add_spec_rows",
    "auth_message",
    "clock",
    "err",
    "exit_code",
    "fail",
    "live_progress",
    "out",
    "plural",
    "print_error_groups",
    "print_preview_item",
    "run_with_display",
    "say",
    "shown",
    "specs_table",
    "summary_table",
]
