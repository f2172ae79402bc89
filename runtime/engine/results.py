"""What a run gives back: the result with its summary, the requests a dry run would send, a preview item;
the failure thresholds a scheduler sets (`Thresholds`); and `RunFailed`, what a run raises when something
other than a record stops it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from destkit.runtime.config.secrets import Secret, redact
from destkit.runtime.engine.policy import RunPlan
from destkit.runtime.errors import DestkitError
from destkit.runtime.ops.timeline import RunTimeline
from destkit.runtime.outcomes import Outcome, Reason, RunSummary, Status

ProgressCallback = Callable[[RunSummary], None]


@dataclass
class PreparedRequest:
    """A request a dry run would have sent (headers without credentials)."""

    method: str
    url: str
    body: bytes
    records: int

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class PreviewItem:
    """One previewed record: the body it would be sent as, or the outcome that keeps it back."""

    row: int
    body: Any | None
    outcome: Outcome | None
    warnings: list[dict[str, str]] | None = None


@dataclass
class RunResult:
    """The summary of a run (counts per outcome and reason), plus what a dry run would have sent."""

    summary: RunSummary
    requests: list[PreparedRequest] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds per answered request, in order
    plan: RunPlan | None = None  # what the run policy decided (resume, retry), for runs of `arun`
    stopped: str | None = None  # why a `StopRequest` stopped the run early (e.g. "SIGTERM"); None: it was not
    timeline: RunTimeline = field(default_factory=RunTimeline)  # figures per time bucket (the HTML report's charts)

    @property
    def ok(self) -> bool:
        """Nothing aborted, every record delivered (or unchanged since it was), every removal done."""
        s = self.summary
        unchanged = s.reasons.get(Reason.UNCHANGED.value, 0)  # the destination has them already
        return s.aborted is None and s.not_delivered == unchanged and s.removals_failed == 0


@dataclass(frozen=True)
class Thresholds:
    """The share of a run's records that may be invalid or rejected before the run counts as failed.

    A scheduler sets them so that a broken export (every phone number malformed) fails loudly
    instead of quietly delivering the few records that pass. None: no threshold. Records of a
    kind within its threshold do not fail the run by themselves; dead letters always do.
    """

    max_invalid_ratio: float | None = None
    max_rejected_ratio: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_invalid_ratio", "max_rejected_ratio"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1 (a share of the records), not {value}")

    def limits(self) -> list[tuple[Status, float, str]]:
        """(outcome, its largest allowed share, the option that sets it) for each threshold set."""
        found = [(Status.INVALID, self.max_invalid_ratio, "max-invalid-ratio"),
                 (Status.REJECTED, self.max_rejected_ratio, "max-rejected-ratio")]
        return [(status, limit, option) for status, limit, option in found if limit is not None]

    def exceeded(self, summary: RunSummary) -> list[str]:
        """One sentence per threshold the run went over: `4 of 6 records (66.7%) were invalid, more than
        --max-invalid-ratio 0.05 allows`."""
        breaches = []
        for status, limit, option in self.limits():
            n = summary.count(status)
            if summary.received and n / summary.received > limit:
                breaches.append(f"{n:,} of {summary.received:,} records ({n / summary.received:.1%}) were {status.value}, "
                                f"more than --{option} {limit:g} allows")
        return breaches

    def tolerated(self, summary: RunSummary) -> bool:
        """Whether every record not delivered is of a kind within its threshold (the run then succeeds)."""
        if self.exceeded(summary) or summary.aborted:
            return False
        within = {status for status, _limit, _option in self.limits()}
        return all(summary.count(status) == 0 for status in (Status.INVALID, Status.REJECTED, Status.DEAD_LETTERED)
                   if status not in within)


class RunFailed(DestkitError):
    """A run stopped because something other than a record failed: recording its outcomes (the state
    store, the report, an outcome callback) or sending them (a bug in the HTTP shell).

    The run stops at once, every task ended; what the state store recorded before stays
    consistent, so once the cause (a full disk, a read-only directory) is fixed a resumed run
    sends the rest. `cause` names the file and the error.
    """

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(f"the run stopped: {cause}")

    @classmethod
    def of(cls, exc: BaseException, secrets: list[Secret]) -> RunFailed:
        """The `RunFailed` for an error that is not a record's: it names the file and the cause, without secrets."""
        if isinstance(exc, RunFailed):
            return exc
        if isinstance(exc, DestkitError):
            cause = str(exc)
        elif isinstance(exc, OSError) and exc.strerror:
            cause = f"cannot write {exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
        else:
            cause = f"{type(exc).__name__}: {exc}"
        return cls(redact(cause, secrets))


__all__ = ["PreparedRequest", "PreviewItem", "ProgressCallback", "RunFailed", "RunResult", "Thresholds"]
