"""Seeded, reproducible fault injection for destination emulators.

A connector that only ever meets a healthy service has not been tested for the failures it
exists to handle: rate limits, 5xx storms, slow answers, connections that die after the
service applied a write, and single records failing inside a successful batch. This module
decides *which* request gets *which* fault, from a seed, so a failing run can be replayed
exactly; each emulator decides *how* a fault looks on its own wire (envelope, error codes).

Nothing here knows about a particular destination, nor about ASGI (that is :mod:`.fault_flow`).
The pieces are:

* :class:`FaultPlan` -- what to inject and how often; built directly or parsed from a compact
  ``"429=0.1,503=0.05,drop=0.02,seed=7"`` string (a CLI flag, an environment variable).
* :class:`FaultInjector` -- the seeded decision maker plus counters of what it injected.
* :class:`FaultDraw` -- the latency and fault drawn for one request, by :meth:`FaultInjector.draw`.

Determinism: request-level decisions, latency jitter and per-record failures each draw from
their own ``random.Random`` (all derived from ``seed``), so turning on jitter or per-record
failures never shifts which requests get a 429. For a given seed, the n-th call to
:meth:`FaultInjector.decide` always returns the same answer; an emulator should therefore
call it when a request arrives (before any ``await``), so the sequence follows arrival order.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Final

__all__ = [
    "FAULT_KINDS",
    "REQUEST_FAULT_KINDS",
    "FaultDraw",
    "FaultInjector",
    "FaultPlan",
]

REQUEST_FAULT_KINDS: Final[tuple[str, ...]] = ("429", "500", "503", "timeout", "drop")
"""What :meth:`FaultInjector.decide` can return, in the order their probability bands are laid out."""

FAULT_KINDS: Final[tuple[str, ...]] = (*REQUEST_FAULT_KINDS, "record")
"""Every counter of :attr:`FaultInjector.counts` (``record`` = one failed record in a batch)."""

# parse key -> FaultPlan field. The order here is the order ``describe`` writes them.
_RATE_KEYS: Final[dict[str, str]] = {
    "429": "rate_429",
    "500": "rate_500",
    "503": "rate_503",
    "timeout": "rate_timeout",
    "drop": "rate_drop",
    "record": "rate_record_failure",
}
_NUMBER_KEYS: Final[dict[str, str]] = {
    "latency": "latency_ms",
    "jitter": "latency_jitter_ms",
    "retry_after": "retry_after",
    "timeout_s": "timeout_s",
}
_VALID_KEYS: Final[tuple[str, ...]] = (
    *_RATE_KEYS,
    *_NUMBER_KEYS,
    "retry_after_date",
    "seed",
    "path",
)
_FIELD_OF_KEY: Final[dict[str, str]] = {
    **_RATE_KEYS,
    **_NUMBER_KEYS,
    "retry_after_date": "retry_after_http_date",
    "seed": "seed",
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _fmt(value: float) -> str:
    """``1.0`` -> ``"1"``, ``0.25`` -> ``"0.25"``: whole numbers without a trailing ``.0``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _check_rate(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True)
class FaultPlan:
    """What faults to inject and how often. The default plan injects nothing.

    The request-level rates (``rate_429``, ``rate_500``, ``rate_503``, ``rate_timeout``,
    ``rate_drop``) are mutually exclusive outcomes of one draw per request, so their sum must
    not exceed 1. ``rate_record_failure`` is drawn independently for every record of a
    batch the emulator processes. ``latency_ms`` +/- a uniform ``latency_jitter_ms`` (never
    below zero) is added to every faultable request, faulted or not.

    ``paths`` are path prefixes (matched on whole segments: ``/a/b`` covers ``/a/b`` and
    ``/a/b/c`` but not ``/a/bc``) that faults apply to; empty means the emulator's default,
    its write endpoints. An emulator never faults routes outside its own faultable set.
    """

    seed: int = 0
    rate_429: float = 0.0
    retry_after: float = 1.0
    retry_after_http_date: bool = False
    rate_500: float = 0.0
    rate_503: float = 0.0
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    rate_drop: float = 0.0
    rate_timeout: float = 0.0
    timeout_s: float = 5.0
    rate_record_failure: float = 0.0
    paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        for field_name in _RATE_KEYS.values():
            _check_rate(field_name, getattr(self, field_name))
        for field_name in _NUMBER_KEYS.values():
            _check_non_negative(field_name, getattr(self, field_name))
        total = self.request_fault_rate
        if total > 1.0 + 1e-9:
            raise ValueError(
                "429 + 500 + 503 + timeout + drop rates are exclusive outcomes of one draw and "
                f"must sum to at most 1, got {_fmt(total)}"
            )
        if isinstance(self.paths, str):
            raise ValueError("paths must be a tuple of path prefixes, not a single string")
        object.__setattr__(self, "paths", tuple(self.paths))
        for prefix in self.paths:
            if not isinstance(prefix, str) or not prefix.startswith("/"):
                raise ValueError(f"paths entries must start with '/', got {prefix!r}")

    @property
    def request_fault_rate(self) -> float:
        """Probability that a faultable request gets some request-level fault."""
        return self.rate_429 + self.rate_500 + self.rate_503 + self.rate_timeout + self.rate_drop

    @property
    def active(self) -> bool:
        """Whether this plan changes anything at all (any rate or latency above zero)."""
        return (
            self.request_fault_rate > 0
            or self.rate_record_failure > 0
            or self.latency_ms > 0
            or self.latency_jitter_ms > 0
        )

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """Parse ``"429=0.1,503=0.05,drop=0.02,latency=50,jitter=10,seed=7"``.

        Items are ``key=value`` separated by commas (whitespace and empty items are
        ignored); ``""`` and ``"none"`` give the empty plan. Keys: ``429``, ``500``,
        ``503``, ``timeout``, ``drop``, ``record`` (rates, 0..1); ``latency``, ``jitter``
        (milliseconds); ``retry_after``, ``timeout_s`` (seconds); ``retry_after_date``
        (true/false: send ``Retry-After`` as an HTTP-date); ``seed`` (integer); ``path``
        (a path prefix, repeatable). Raises ``ValueError`` naming the offending item and
        listing the valid keys. ``parse(plan.describe()) == plan`` for every plan.
        """
        stripped = text.strip()
        if not stripped or stripped.lower() == "none":
            return cls()
        kwargs: dict[str, Any] = {}
        paths: list[str] = []
        for item in (raw.strip() for raw in stripped.split(",")):
            if item:
                _read_item(item, kwargs, paths)
        if paths:
            kwargs["paths"] = tuple(paths)
        try:
            return cls(**kwargs)
        except ValueError as exc:
            raise ValueError(f"fault plan {text!r}: {exc}") from None

    def describe(self) -> str:
        """This plan in :meth:`parse` syntax, defaults left out (``"none"`` for the empty plan).

        The seed is always written for a non-empty plan, so a logged description is enough
        to replay a run.
        """
        defaults = FaultPlan()
        items: list[str] = []
        for key, field_name in {**_RATE_KEYS, **_NUMBER_KEYS}.items():
            value = getattr(self, field_name)
            if value != getattr(defaults, field_name):
                items.append(f"{key}={_fmt(value)}")
        if self.retry_after_http_date:
            items.append("retry_after_date=true")
        items.extend(f"path={prefix}" for prefix in self.paths)
        if items or self.seed != defaults.seed:
            items.append(f"seed={self.seed}")
        return ",".join(items) if items else "none"

    def retry_after_header(self, now: datetime | None = None) -> str:
        """The ``Retry-After`` value for a 429: seconds (``"1"``, ``"1.5"``) or an HTTP-date.

        An HTTP-date has whole-second resolution, so the delay is rounded up: a client that
        honours it never retries earlier than ``retry_after`` seconds from ``now``.
        """
        if not self.retry_after_http_date:
            return _fmt(self.retry_after)
        target = (now or datetime.now(UTC)).astimezone(UTC) + timedelta(seconds=self.retry_after)
        if target.microsecond:
            target = target.replace(microsecond=0) + timedelta(seconds=1)
        return format_datetime(target, usegmt=True)


def _valid_keys_hint() -> str:
    return "valid keys: " + ", ".join(_VALID_KEYS)


def _split_item(item: str) -> tuple[str, str]:
    """``"429 = 0.1"`` -> ``("429", "0.1")``; the key lower-cased and checked against the known keys."""
    key, sep, value = (part.strip() for part in item.partition("="))
    if not sep or not key or not value:
        raise ValueError(f"fault item {item!r} is not key=value; {_valid_keys_hint()}")
    key = key.lower()
    if key not in _VALID_KEYS:
        raise ValueError(f"fault item {item!r}: unknown key {key!r}; {_valid_keys_hint()}")
    return key, value


def _read_item(item: str, kwargs: dict[str, Any], paths: list[str]) -> None:
    """Add one ``key=value`` item to the plan's keyword arguments (``path`` items to ``paths``)."""
    key, value = _split_item(item)
    if key == "path":
        try:
            paths.append(_path_prefix(value))
        except ValueError as exc:
            raise ValueError(f"fault item {item!r}: {exc}") from None
        return
    field_name = _FIELD_OF_KEY[key]
    if field_name in kwargs:  # every key but path is given at most once
        raise ValueError(f"fault item {item!r}: key {key!r} given more than once")
    try:
        kwargs[field_name] = _item_value(key, value)
    except ValueError as exc:
        raise ValueError(f"fault item {item!r}: {exc}") from None


def _path_prefix(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError("a path prefix must start with '/'")
    return value


def _item_value(key: str, value: str) -> int | float | bool:
    """The typed value of a non-path item, checked for its key's range."""
    if key == "seed":
        return int(value)
    if key == "retry_after_date":
        return _parse_bool(value)
    number = _parse_number(value)
    if key in _RATE_KEYS:
        _check_rate(key, number)
    else:
        _check_non_negative(key, number)
    return number


def _parse_number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _parse_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean (use true/false)")


@dataclass(frozen=True)
class FaultDraw:
    """What one faultable request gets: ``delay_s`` seconds of latency, then the fault ``kind`` (or none)."""

    delay_s: float
    kind: str | None


class FaultInjector:
    """Seeded decisions for one :class:`FaultPlan`, plus counters of what was injected.

    ``counts`` maps every kind in :data:`FAULT_KINDS` to how many times it was injected
    (``record`` counts failed records, the others requests); ``decisions`` is how many
    requests were asked about. Not thread-safe: an emulator runs on one event loop and calls
    these synchronously.
    """

    def __init__(self, plan: FaultPlan | None = None, *, default_paths: Iterable[str] = ()) -> None:
        self.plan = plan if plan is not None else FaultPlan()
        self.paths: tuple[str, ...] = self.plan.paths or tuple(default_paths)
        self.counts: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.decisions = 0
        # Separate streams, so e.g. enabling jitter does not change which requests get a 429.
        self._requests = random.Random(self.plan.seed)
        self._records = random.Random(f"{self.plan.seed}:records")
        self._latency = random.Random(f"{self.plan.seed}:latency")

    def applies_to(self, path: str) -> bool:
        """Whether ``path`` is under one of the faultable prefixes (whole segments)."""
        for prefix in self.paths:
            base = prefix.rstrip("/")
            if path in (prefix, base) or path.startswith(base + "/"):
                return True
        return False

    def decide(self) -> str | None:
        """The request-level fault for the next request (one of :data:`REQUEST_FAULT_KINDS`), or ``None``.

        Exactly one draw per call whenever any request-level rate is non-zero, so the n-th
        answer depends only on the seed, the plan and n.
        """
        self.decisions += 1
        if self.plan.request_fault_rate <= 0:
            return None
        draw = self._requests.random()
        threshold = 0.0
        for kind, rate in zip(
            REQUEST_FAULT_KINDS,
            (
                self.plan.rate_429,
                self.plan.rate_500,
                self.plan.rate_503,
                self.plan.rate_timeout,
                self.plan.rate_drop,
            ),
            strict=True,
        ):
            threshold += rate
            if rate > 0 and draw < threshold:
                self.counts[kind] += 1
                return kind
        return None

    def draw(self, path: str) -> FaultDraw | None:
        """The latency and fault for the next request to ``path``; ``None`` when ``path`` is not faultable.

        Call it when the request arrives, before any ``await`` (see the module docstring).
        """
        if not self.applies_to(path):
            return None
        delay_s = self.latency_s()
        return FaultDraw(delay_s=delay_s, kind=self.decide())

    def record_fails(self) -> bool:
        """Whether the next record of a batch should fail as temporarily unavailable."""
        rate = self.plan.rate_record_failure
        if rate <= 0:
            return False
        failed = self._records.random() < rate
        if failed:
            self.counts["record"] += 1
        return failed

    def latency_s(self) -> float:
        """Seconds of added latency for the next request: ``latency_ms`` +/- jitter, >= 0."""
        base = self.plan.latency_ms
        jitter = self.plan.latency_jitter_ms
        if jitter > 0:
            base += self._latency.uniform(-jitter, jitter)
        return max(0.0, base) / 1000.0

    def snapshot(self) -> dict[str, int]:
        """A copy of ``counts``, for JSON stats routes."""
        return dict(self.counts)
