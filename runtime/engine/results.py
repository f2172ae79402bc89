"""What a run gives back: the result with its summary, the requests a dry run would send, a preview item;
and `RunFailed`, what it raises when something other than a record stops it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from destkit.runtime.engine.policy import RunPlan
from destkit.runtime.errors import DestkitError
from destkit.runtime.outcomes import Outcome, Reason, RunSummary

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

    @property
    def ok(self) -> bool:
        """Nothing aborted, every record delivered (or unchanged since it was), every removal done."""
        s = self.summary
        unchanged = s.reasons.get(Reason.UNCHANGED.value, 0)  # the destination has them already
        return s.aborted is None and s.not_delivered == unchanged and s.removals_failed == 0


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


__all__ = ["PreparedRequest", "PreviewItem", "ProgressCallback", "RunFailed", "RunResult"]
