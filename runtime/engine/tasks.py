"""Running a run's tasks together: one failure stops them all, and nothing outlives the run.

A run is a producer task feeding worker tasks through a bounded queue. If a worker died alone,
the producer would wait forever on the full queue (a full disk once hung runs that way), and if
the run were cancelled with its workers still sending, the HTTP client would be closed under them.
`run_together` waits for every task, cancels the others as soon as one fails, and cancels all of
them when the caller is cancelled, so no task is left behind either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def run_together(tasks: list[asyncio.Task[Any]]) -> None:
    """Wait for `tasks`; when one raises, cancel the rest and raise its exception.

    Tasks cancelled from outside (a stop's cut-off) are not failures. When the caller is
    cancelled, every task is cancelled and waited for before the cancellation goes on.
    """
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        await cancel_all(tasks)
        raise
    failed = next((t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None), None)
    await cancel_all(t for t in tasks if not t.done())
    if failed is not None:
        error = failed.exception()
        assert error is not None
        raise error


async def cancel_all(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel `tasks` and wait until each has ended (their exceptions are the caller's to read)."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)


__all__ = ["cancel_all", "run_together"]
