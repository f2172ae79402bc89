"""A blocking call into C code (a DuckDB query finding rows) still hears SIGINT and SIGTERM: the signal
interrupts the call, then does what it did before (the run's stop request, Ctrl-C's KeyboardInterrupt)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from destkit.runtime.engine.interruptible import Stop, call_interruptibly


class Blocking:
    """A call that blocks until interrupted (then fails, as an interrupted query does), signalling itself first."""

    def __init__(self, sig: signal.Signals) -> None:
        self.sig = sig
        self.released = threading.Event()

    def call(self) -> str:
        threading.Timer(0.05, os.kill, (os.getpid(), self.sig)).start()
        if not self.released.wait(30):
            return "never interrupted"
        raise RuntimeError("INTERRUPT Error: Interrupted!")


@pytest.fixture
def heard() -> Iterator[list[int]]:
    """SIGTERM handled by a handler of the test's (as a run's stop request is), restored afterwards."""
    signals: list[int] = []

    def handler(number: int, frame: FrameType | None) -> None:
        signals.append(number)

    previous = signal.signal(signal.SIGTERM, handler)
    yield signals
    signal.signal(signal.SIGTERM, previous)


def test_a_stop_signal_interrupts_the_call_then_runs_the_handler_that_was_there(heard: list[int]) -> None:
    blocking = Blocking(signal.SIGTERM)
    assert call_interruptibly(blocking.call, blocking.released.set) is Stop.INTERRUPTED
    assert heard == [signal.SIGTERM]


def test_ctrl_c_interrupts_the_call_and_raises_keyboard_interrupt() -> None:
    blocking = Blocking(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        call_interruptibly(blocking.call, blocking.released.set)
    assert blocking.released.is_set()


def test_the_handlers_that_were_there_are_back_after_the_call(heard: list[int]) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert call_interruptibly(lambda: 7, lambda: None) == 7
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_an_error_of_the_call_without_a_signal_is_raised_as_it_is() -> None:
    def failing() -> None:
        raise ValueError("bad value")
    with pytest.raises(ValueError, match="bad value"):
        call_interruptibly(failing, lambda: None)


def test_off_the_main_thread_the_call_is_simply_made() -> None:
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(call_interruptibly(threading.current_thread, lambda: None)))
    thread.start()
    thread.join()
    assert results == [thread]
