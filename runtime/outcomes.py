"""The outcome contract: exactly one terminal outcome per input record, and counts that add up.

`received = delivered + invalid + rejected + dead_lettered + skipped`, always. Outcomes identify a
record by its row (1-based position in the input), its key and (with `options.primary_key`) the input's
own primary key; they never carry the payload.
A mirror sync also removes the members who left the audience: each removal has an outcome of its own
(`operation: remove`, row 0: it is no input row), counted apart (`removed` + failed removals).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    DELIVERED = "delivered"
    INVALID = "invalid"
    REJECTED = "rejected"
    DEAD_LETTERED = "dead_lettered"
    SKIPPED = "skipped"


class Reason(StrEnum):
    """The closed set of reason codes; every non-delivered outcome and every warning has one."""

    MISSING_REQUIRED = "missing_required"
    INVALID_PHONE = "invalid_phone"
    INVALID_EMAIL = "invalid_email"
    INVALID_VALUE = "invalid_value"
    UNKNOWN_TAG = "unknown_tag"
    UNKNOWN_CUSTOM_PROPERTY = "unknown_custom_property"
    UNKNOWN_VALUE = "unknown_value"
    TYPE_MISMATCH = "type_mismatch"
    TOO_LONG = "too_long"
    TOO_LARGE = "too_large"
    DUPLICATE_KEY = "duplicate_key"
    MAPPING_ERROR = "mapping_error"
    UNRESOLVED_ID = "unresolved_id"
    MALFORMED_INPUT = "malformed_input"
    DESTINATION_REJECTED = "destination_rejected"
    AUTH_FAILED = "auth_failed"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    UNEXPECTED_RESPONSE = "unexpected_response"
    UNKNOWN_DELIVERY = "unknown_delivery"  # sent, answer lost, and not safe to resend blindly
    REDIRECT = "redirect"
    RUN_ABORTED = "run_aborted"
    UNCHANGED = "unchanged"
    JOB_UNFINISHED = "job_unfinished"  # the destination's job failed, or did not end within the spec's timeout


REASONS = frozenset(r.value for r in Reason)


class Operation(StrEnum):
    """What an outcome's request did to the destination's audience; only removals are marked."""

    REMOVE = "remove"


@dataclass(slots=True, kw_only=True)
class Outcome:
    """One record's terminal outcome. `destination_*` hold what the destination said, verbatim.

    Built with keyword arguments only, so a new field can never shift another's value.
    """

    row: int
    status: Status
    key: str | None = None
    reason: Reason | None = None
    field: str | None = None
    message: str | None = None
    destination_status: int | None = None
    destination_code: str | None = None
    destination_message: str | None = None
    destination_id: str | None = None
    warnings: list[dict[str, str]] | None = None
    attempts: int = 0
    payload: Any = None  # only with options.include_payloads: what was (or would have been) sent
    operation: Operation | None = None  # remove: a member's removal (options.mirror), not an input record's outcome
    value: Any = None  # an invalid record's offending value of `field`, masked ("***") where the spec hashes it
    primary_key: str | None = None  # options.primary_key: the input record's own key, as text, to join back to the source

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "key": self.key, "outcome": self.status.value}
        if self.primary_key is not None:
            out["primary_key"] = self.primary_key
        for name in ("operation", "reason", "field", "value", "message", "destination_status", "destination_code",
                     "destination_message", "destination_id", "warnings", "payload"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.attempts:
            out["attempts"] = self.attempts
        return out


OutcomeCallback = Callable[[Outcome], None]


def skipping_delivered(callback: OutcomeCallback) -> OutcomeCallback:
    """Mark `callback` as one that ignores delivered outcomes without warnings (a report of problems).

    A run whose callbacks are all marked counts its plainly delivered records instead of building an
    `Outcome` for each: the same summary, a third less CPU for a dry run from the CLI. A callable that
    takes no attribute (a bound built-in such as `list.append`) is wrapped.
    """
    try:
        callback.skips_delivered = True  # type: ignore[attr-defined]
    except AttributeError:
        return _SkippingDelivered(callback)
    return callback


class _SkippingDelivered:
    skips_delivered = True

    def __init__(self, callback: OutcomeCallback) -> None:
        self.callback = callback

    def __call__(self, outcome: Outcome) -> None:
        self.callback(outcome)


def watches_delivered(callback: OutcomeCallback) -> bool:
    """Whether `callback` must see an outcome for every delivered record (unless marked by `skipping_delivered`)."""
    return not getattr(callback, "skips_delivered", False)


@dataclass
class RunSummary:
    """Counts per outcome and per reason, plus request figures; `reconciles()` is the contract."""

    run_id: str = ""
    destination: str = ""
    action: str = ""
    received: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    requests: int = 0
    retries: int = 0
    bytes_sent: int = 0
    started_at: float = field(default_factory=time.time)
    duration_s: float = 0.0
    aborted: str | None = None
    report_path: str | None = None
    dry_run: bool = False
    mirror: bool = False  # options.mirror: the members who left the audience were (to be) removed
    removals: Counter[str] = field(default_factory=Counter)  # removal outcomes, per status (apart from `counts`)
    removal_reasons: Counter[str] = field(default_factory=Counter)
    removals_skipped: str | None = None  # why this run removed no one though it mirrors (a cut-short input)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.status.value] += 1
        if outcome.reason:
            self.reasons[str(outcome.reason)] += 1  # plain str keys: Reason members would break JSON keys
        if outcome.warnings:
            for w in outcome.warnings:
                self.warnings[str(w["reason"])] += 1

    def add_removal(self, outcome: Outcome) -> None:
        """A removal's outcome: counted apart, since it is no input record (`received` does not include it)."""
        self.removals[outcome.status.value] += 1
        if outcome.reason:
            self.removal_reasons[str(outcome.reason)] += 1

    @property
    def removed(self) -> int:
        """Members the destination confirmed it removed."""
        return self.removals.get(Status.DELIVERED.value, 0)

    @property
    def removals_failed(self) -> int:
        return sum(self.removals.values()) - self.removed

    def count(self, status: Status | str) -> int:
        return self.counts.get(str(status), 0)

    @property
    def delivered(self) -> int:
        return self.count(Status.DELIVERED)

    @property
    def not_delivered(self) -> int:
        return self.received - self.delivered

    def reconciles(self) -> bool:
        return self.received == sum(self.count(s) for s in Status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "destination": self.destination,
            "action": self.action,
            "dry_run": self.dry_run,
            "received": self.received,
            **{s.value: self.count(s) for s in Status},
            "reasons": dict(sorted(self.reasons.items())),
            "warnings": dict(sorted(self.warnings.items())),
            "batches": self.batches,
            "requests": self.requests,
            "retries": self.retries,
            "bytes_sent": self.bytes_sent,
            "duration_s": round(self.duration_s, 3),
            "records_per_s": round(self.received / self.duration_s) if self.duration_s else None,
            "aborted": self.aborted,
            "report": self.report_path,
            **(self._mirror_dict() if self.mirror else {}),
        }

    def _mirror_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "removals_failed": self.removals_failed,
                "removal_reasons": dict(sorted(self.removal_reasons.items())),
                "removals_skipped": self.removals_skipped}
