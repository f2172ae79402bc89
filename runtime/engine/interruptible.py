"""Blocking calls into a library's C code (a DuckDB query finding its next rows) that SIGINT and SIGTERM still stop.

Python runs a signal handler only between bytecodes of the main thread, so while the main thread sits in
such a call (an hour-long query), Ctrl-C and SIGTERM go unheard. Here the call runs in a helper thread
while the main thread waits, and a stop signal interrupts it. Imports nothing of destkit's.
"""

from __future__ import annotations

import enum
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop(enum.Enum):
    """What `call_interruptibly` returns when a stop signal made the call give up."""

    INTERRUPTED = "interrupted"


def call_interruptibly(call: Callable[[], T], interrupt: Callable[[], None]) -> T | Stop:
    """`call()`, run in a helper thread while the main thread waits, so that a stop signal is heard during it.

    On SIGINT or SIGTERM: `interrupt()` (which makes `call` give up, as `duckdb.interrupt()` does), then the
    handler that was there before (a run's stop request, or Ctrl-C's KeyboardInterrupt, which is raised
    once the call has given up); under the default handler (SIGTERM before a run sets its own) the signal
    then ends the process as it would have. A call that gives up after a signal returns `Stop.INTERRUPTED`.
    Off the main thread, where no signal handler can be set, `call()` is simply made.
    """
    if threading.current_thread() is not threading.main_thread():
        return call()
    waiter = _Waiter(call)
    heard: list[signal.Signals] = []
    previous: dict[signal.Signals, Any] = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def on_signal(number: int, frame: FrameType | None) -> None:
        heard.append(signal.Signals(number))
        interrupt()
        handler = previous[signal.Signals(number)]
        if callable(handler):
            handler(number, frame)

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)
    try:
        waiter.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if not waiter.done.is_set():  # the previous handler raised (KeyboardInterrupt): let the call give up first
            interrupt()
            waiter.done.wait()
    return _result(waiter, heard, previous)


def _result(waiter: _Waiter[T], heard: list[signal.Signals], previous: dict[signal.Signals, Any]) -> T | Stop:
    for sig in heard:
        if previous[sig] == signal.SIG_DFL:  # what the signal would have done had it come a moment later
            signal.raise_signal(sig)
    if waiter.error is not None:
        if heard:
            return Stop.INTERRUPTED
        raise waiter.error
    return waiter.value  # type: ignore[return-value]  # set when no error was


class _Waiter(Generic[V]):
    """`call` run in a daemon thread; `wait()` returns when it has (its value or its error kept)."""

    def __init__(self, call: Callable[[], V]) -> None:
        self.call = call
        self.value: V | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.value = self.call()
        except BaseException as exc:  # handed to the waiting thread, raised there
            self.error = exc
        finally:
            self.done.set()

    def wait(self) -> None:
        threading.Thread(target=self.run, name="destkit-interruptible", daemon=True).start()
        self.done.wait()


__all__ = ["STOP_SIGNALS", "Stop", "call_interruptibly"]
