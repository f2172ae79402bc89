"""The fault plan on the wire: drawn faults turned into ASGI answers (latency, errors, dropped connections).

:mod:`.faults` decides which request gets which fault; this module makes it happen on a request:

* :func:`injector_for` -- an app's :class:`~.faults.FaultInjector` from a plan or its text.
* :func:`answer_with_faults` / :func:`answer_drawn` -- the fault flow every emulator shares; only
  the error bodies differ per destination (the ``fault_answer`` callback renders them).
* :class:`DroppedResponse` / :class:`InjectedDrop` -- send a response's head and part of its
  body, then abort so the server closes the connection mid-response.
* :func:`wait_or_disconnect` -- the "timeout" fault's wait, cut short when the client hangs up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from destkit.runtime.errors import EmulatorError

from .faults import FaultDraw, FaultInjector, FaultPlan

__all__ = [
    "DroppedResponse",
    "FaultAnswer",
    "InjectedDrop",
    "Process",
    "answer_drawn",
    "answer_with_faults",
    "injector_for",
    "silence_injected_drops",
    "wait_or_disconnect",
]

FaultAnswer = Callable[[str, FaultPlan], Response]
"""``fault_answer(kind, plan)``: the destination's own answer for an injected 429/500/503/timeout."""

Process = Callable[[bool], Response]
"""``process(faultable)``: the real work; ``faultable`` says whether per-record faults may be drawn."""


class InjectedDrop(EmulatorError):
    """Raised after a deliberately truncated response so the server closes the connection."""


class DroppedResponse(Response):
    """Send ``inner``'s status, headers (its full ``Content-Length``) and half its body, then abort.

    Raising :class:`InjectedDrop` after the response has started makes uvicorn close the
    socket, so an HTTP client sees an incomplete body (``httpx.RemoteProtocolError``)
    although the server did all its work -- the "applied but never acknowledged" case.
    In process (``httpx.ASGITransport``) the exception reaches the caller instead.
    """

    def __init__(self, inner: Response) -> None:
        self.inner = inner
        self.status_code = inner.status_code
        self.body = inner.body
        self.background = None
        self.raw_headers = list(inner.raw_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytes(self.inner.body)
        cut = len(body) // 2
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
        raise InjectedDrop(f"injected drop after {cut} of {len(body)} body bytes")


async def wait_or_disconnect(receive: Receive, seconds: float) -> bool:
    """Wait ``seconds``, ending early when the client disconnects; return whether it did.

    Call only after the request body has been read: from then on an ASGI server's
    ``receive`` blocks until the client goes away.
    """

    async def until_disconnect() -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                return

    try:
        await asyncio.wait_for(until_disconnect(), timeout=seconds)
    except TimeoutError:
        return False
    return True


class _DropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedDrop)


_DROP_FILTER = _DropFilter()


def silence_injected_drops() -> None:
    """Keep uvicorn from logging a traceback for every deliberate drop (idempotent).

    uvicorn logs "Exception in ASGI application" on ``uvicorn.error`` whenever an app
    raises; for :class:`InjectedDrop` that is the intended behaviour, not an error. Only
    records carrying an ``InjectedDrop`` are filtered.
    """
    logger = logging.getLogger("uvicorn.error")
    if _DROP_FILTER not in logger.filters:
        logger.addFilter(_DROP_FILTER)


def injector_for(faults: FaultPlan | str | None, *, default_paths: Iterable[str]) -> FaultInjector:
    """The injector for an app built with ``faults=`` (a plan, its :meth:`~.faults.FaultPlan.parse` text, or none).

    A plan that drops connections also silences uvicorn's traceback for each deliberate drop.
    """
    plan = FaultPlan.parse(faults) if isinstance(faults, str) else faults
    if plan is not None and plan.rate_drop > 0:
        silence_injected_drops()
    return FaultInjector(plan, default_paths=default_paths)


async def answer_with_faults(
    injector: FaultInjector,
    path: str,
    receive: Receive,
    note_fault: Callable[[str | None], None],
    process: Process,
    fault_answer: FaultAnswer,
) -> Response:
    """Draw this request's fault (before the first ``await``), note it, and answer under it.

    For one seed the fault sequence follows the order requests arrive in, even when jitter makes
    handlers finish out of order. ``process(faultable)`` does the real work; a path outside the
    injector's scope is processed at once with ``faultable=False``.
    """
    draw = injector.draw(path)
    if draw is None:
        return process(False)
    note_fault(draw.kind)
    return await answer_drawn(draw, injector.plan, receive, process, fault_answer)


async def answer_drawn(
    draw: FaultDraw, plan: FaultPlan, receive: Receive, process: Process, fault_answer: FaultAnswer
) -> Response:
    """Answer under a fault already drawn: latency, then the fault, if any.

    Only ``drop`` applies the work (then cuts the answer short); 429/500/503 and ``timeout``
    answer with ``fault_answer(kind, plan)`` without touching state.
    """
    if draw.delay_s > 0:
        await asyncio.sleep(draw.delay_s)
    if draw.kind is None:
        return process(True)
    if draw.kind == "drop":
        return DroppedResponse(process(True))
    if draw.kind == "timeout":
        # the client's read timeout fires first: it has given up, so nothing is applied, and the late
        # answer is an error, never a success for a write that did not happen
        await wait_or_disconnect(receive, plan.timeout_s)
    return fault_answer(draw.kind, plan)
