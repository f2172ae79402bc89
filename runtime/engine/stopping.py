"""Stopping a run early and cleanly: what SIGTERM (Kubernetes, systemd, Airflow) and Ctrl-C ask for.

A `StopRequest` handed to `Sync.arun(..., stop=...)` is the run's off switch. On the first
`request()` the run reads no more records and sends no new batch; the batches already sent are
answered and recorded within `grace_s` seconds, then the run ends as stopped (`RunResult.stopped`,
summary `aborted`), unfinished in the state store, so a resumed run sends exactly the rest. A
second `request()`, or the end of the grace period, abandons the batches still in flight: they
are not recorded, so the resumed run sends them again.

`request` must be called on the run's event loop (a signal handler installed with
`loop.add_signal_handler` is; from another thread use `loop.call_soon_threadsafe(stop.request, why)`).
"""

from __future__ import annotations

from collections.abc import Callable

DEFAULT_GRACE_S = 20.0  # below the 30 s Kubernetes and systemd wait before they kill

StopListener = Callable[[bool], None]  # called with `forced`: False on the first request, True after


class StopRequest:
    """Asks a run to stop: no new batch is sent, batches in flight finish within `grace_s` seconds."""

    def __init__(self, grace_s: float = DEFAULT_GRACE_S) -> None:
        self.grace_s = grace_s
        self.reason: str | None = None
        self.forced = False
        self._listeners: list[StopListener] = []

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def request(self, reason: str = "a stop request") -> None:
        """Stop the run (`reason` says why, e.g. "SIGTERM"); asked a second time, stop without waiting."""
        if self.reason is None:
            self.reason = reason
        else:
            self.forced = True
        for listener in list(self._listeners):
            listener(self.forced)

    def subscribe(self, listener: StopListener) -> Callable[[], None]:
        """Call `listener` on each request from now on; returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


__all__ = ["DEFAULT_GRACE_S", "StopListener", "StopRequest"]
