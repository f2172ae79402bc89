"""Retry timing: exponential backoff with full jitter, Retry-After, and a shared pause on 429.

A 429 with a Retry-After is not a failure of the records: it spends the time budget
(`max_seconds`), not the attempts. The clock and sleep are injectable so tests can run hours of backoff on a fake clock.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
RateHeaders = Literal["x-ratelimit", "ratelimit"]
"""A spec's `rate_limit.headers`: which family of rate-limit headers its destination sends."""


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    max_seconds: float = 600.0
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 120.0
    resume_spread: float = 1.0  # after a shared pause, senders resume spread over this long (at most the pause)
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**attempt)]."""
        return self.rng.uniform(0, min(self.cap, self.base * (2.0 ** min(attempt - 1, 64))))

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(attempt)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def budget_reset(headers: Mapping[str, str], family: RateHeaders, now: float) -> float | None:
    """Seconds until the rate budget resets when the answer says it is spent (remaining 0); None otherwise.

    `x-ratelimit` gives the reset as epoch seconds (so `now` is the wall clock), `ratelimit` (the IETF draft)
    as seconds from now. A missing or unreadable header pauses nothing: better one 429 than a guessed pause.
    """
    remaining = _number(_header(headers, f"{family}-remaining"))
    reset = _number(_header(headers, f"{family}-reset"))
    if remaining is None or remaining > 0 or reset is None:
        return None
    seconds = reset - now if family == "x-ratelimit" else reset
    return max(seconds, 0.0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number == number else None  # NaN is no number


class RateGate:
    """Spaces requests to a rate and holds every sender while the destination asks us to back off.

    One gate per sync: a 429 to one worker pauses all of them, which is what slows the sender down
    instead of each worker burning its own attempts. When the pause ends, the senders it held
    resume at random instants across the pause's `spread`, not all at once into the same limit.
    """

    def __init__(self, requests_per_second: float | None, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep,
                 *, rng: random.Random | None = None) -> None:
        self.interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._next = 0.0
        self._paused_until = 0.0
        self._spread = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float, spread: float = 0.0) -> None:
        """Hold every sender for `seconds`, then let each go at a random point in the next `spread` seconds."""
        now = self.clock()
        self._spread = max(spread, self._spread) if self._paused_until > now else spread
        self._paused_until = max(self._paused_until, now + seconds)

    def pause_for_budget(self, headers: Mapping[str, str], family: RateHeaders | None, *, now: float,
                         cap: float) -> None:
        """Hold every sender until the reset when the answer's rate-limit headers say the budget is spent,
        before the destination has to answer 429; `now` is the wall clock (epoch seconds), `cap` the longest pause."""
        if family is None:
            return
        seconds = budget_reset(headers, family, now)
        if seconds:
            self.pause(min(seconds, cap))

    async def wait(self) -> None:
        if self._paused_until > self.clock():
            await self._sit_out_pause()
        if not self.interval:
            return
        async with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await self.sleep(start - now)

    async def _sit_out_pause(self) -> None:
        """Sleep until the pause (extended meanwhile, perhaps) is over, then for this sender's share of the spread."""
        while (left := self._paused_until - self.clock()) > 0:
            await self.sleep(left)
        if self._spread > 0:
            await self.sleep(self.rng.uniform(0, self._spread))
