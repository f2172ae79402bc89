"""What the conformance suite's dry-run and emulator phases share: the outcome-count check, how an
outcome reads in a report, and running a coroutine from sync code. Imports no other suite module.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import Counter
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from destkit.runtime.engine import RunResult
from destkit.runtime.outcomes import Outcome, RunSummary, Status
from destkit.testing.report import ActionReport

__all__ = [
    "MAX_DETAILS",
    "check_outcomes",
    "clip",
    "grouped",
    "limit_details",
    "outcome_text",
    "run_to_end",
]

_T = TypeVar("_T")
MAX_DETAILS = 6


def run_to_end(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to the end, also from code that is already inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def clip(value: Any, n: int = 70) -> str:
    """`repr(value)`, cut to `n` characters."""
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def _http(o: Outcome, template: str) -> str:
    code = " " + o.destination_code if o.destination_code else ""
    return template.format(status=o.destination_status or "?", code=code)


def outcome_text(o: Outcome) -> str:
    """One outcome in a line: status, reason, field, what the destination answered."""
    text = f"{o.status.value}"
    if o.reason:
        text += f" {o.reason}"
    text += f" on {o.field or '(no field)'}"
    if o.destination_status is not None or o.destination_code:
        text += _http(o, " [HTTP {status}{code}]")
    message = o.destination_message or o.message
    if message:
        text += f": {clip(message, 110)}"
    return text


def grouped(outcomes: Sequence[Outcome]) -> str:
    """Outcomes counted by status, reason and HTTP answer, most frequent first."""
    groups = Counter(
        f"{o.status.value}/{o.reason or '-'}" + (_http(o, " (HTTP {status}{code})") if o.destination_status else "")
        for o in outcomes
    )
    return ", ".join(f"{n} x {g}" for g, n in groups.most_common())


def limit_details(lines: list[str]) -> list[str]:
    """At most MAX_DETAILS lines, and a count of the rest."""
    if len(lines) <= MAX_DETAILS:
        return lines
    return [*lines[:MAX_DETAILS], f"… and {len(lines) - MAX_DETAILS} more"]


def _row_problems(outcomes: list[Outcome], n: int) -> list[str]:
    rows = Counter(o.row for o in outcomes)
    twice = sorted(r for r, k in rows.items() if k > 1)
    missing = sorted(set(range(1, n + 1)) - set(rows))
    problems = []
    if twice:
        problems.append(f"rows with more than one outcome: {twice[:10]}")
    if missing:
        problems.append(f"rows without an outcome: {missing[:10]}")
    return problems


def _count_problems(summary: RunSummary, outcomes: list[Outcome], n: int) -> list[str]:
    problems = []
    if summary.received != n:
        problems.append(f"received {summary.received}, sent {n}")
    if not summary.reconciles():
        problems.append(f"counts do not add up: received {summary.received} ≠ {dict(summary.counts)}")
    if Counter(o.status.value for o in outcomes) != +summary.counts:
        problems.append(f"the summary's counts {dict(summary.counts)} are not the outcomes'")
    return problems


def _run_problems(summary: RunSummary, outcomes: list[Outcome], *, dry: bool) -> list[str]:
    problems = []
    if dry and any(o.status not in (Status.DELIVERED, Status.INVALID) for o in outcomes):
        problems.append("a dry run gave an outcome other than delivered or invalid")
    if summary.aborted:
        problems.append(f"the run was aborted: {summary.aborted}")
    return problems


def check_outcomes(
    phase: str, result: RunResult, outcomes: list[Outcome], n: int, report: ActionReport, *, dry: bool
) -> dict[int, Outcome]:
    """Check one outcome per record and counts that add up; the outcomes by row."""
    summary = result.summary
    problems = [
        *_row_problems(outcomes, n),
        *_count_problems(summary, outcomes, n),
        *_run_problems(summary, outcomes, dry=dry),
    ]
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
    report.add(
        f"{phase}: one outcome per record, counts add up",
        not problems,
        f"{n} records: {counts}" if not problems else "; ".join(problems),
    )
    return {o.row: o for o in outcomes}
