"""Retry timing: exponential backoff with full jitter, Retry-After, and a shared pause on 429.

The clock and sleep are injectable so tests can run hours of backoff on a fake clock.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    max_seconds: float = 600.0
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 120.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**attempt)]."""
        return self.rng.uniform(0, min(self.cap, self.base * (2 ** (attempt - 1))))

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


class RateGate:
    """Spaces requests to a rate and holds every sender while the destination asks us to back off.

    One gate per sync: a 429 to one worker pauses all of them, which is what slows the sender down
    instead of each worker burning its own attempts.
    """

    def __init__(self, requests_per_second: float | None, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    async def wait(self) -> None:
        if not self.interval and self._paused_until <= self.clock():
            return
        async with self._lock:
            now = self.clock()
            start = max(now, self._next, self._paused_until)
            self._next = start + self.interval
        if start > now:
            await self.sleep(start - now)
