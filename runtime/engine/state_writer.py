"""The state store's writer thread: a batch's write runs there while the event loop goes on sending.
Imports the standard library only; `engine/state.py` owns one per store and waits for it before any other use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for


class StateWriter:
    """Runs the store's writes on one thread of its own, one at a time.

    SQLite releases the GIL inside each row's B-tree work and the commit, so a write done here runs on the
    machine's other core while the loop sends. `submit` first waits for the write before it (so at most one
    batch is ever in the writer's hands: memory stays bounded); `wait_idle` is what every other use of the
    connection calls first, so one thread uses it at a time. A write's failure stays with its future, for
    whoever submitted it to take (`Recorder.settle`).
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None
        self._thread: int | None = None  # the writer thread's id: its own uses of the connection never wait

    def submit(self, write: Callable[[], None]) -> Future[None]:
        """Hand `write` to the writer thread, once the write before it has ended."""
        self.wait_idle()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, "destkit-state-writer", initializer=self._note_thread)
        self._pending = self._pool.submit(write)
        return self._pending

    def _note_thread(self) -> None:
        self._thread = threading.get_ident()

    @property
    def busy(self) -> bool:
        """Whether a write was handed over and has not ended yet."""
        return self._pending is not None and not self._pending.done()

    def wait_idle(self) -> None:
        """Return once no write runs (on the writer thread itself, at once: it is the one using the connection)."""
        pending = self._pending
        if pending is None or threading.get_ident() == self._thread:
            return
        if not pending.done():
            wait_for([pending])
        self._pending = None

    def stop(self) -> None:
        """Wait for the write in hand, then end the thread (a later `submit` starts another)."""
        self.wait_idle()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


__all__ = ["StateWriter"]
