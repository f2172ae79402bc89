"""What every emulator's handlers do with a request besides their own work: read its body, answer under faults.

The limits live in a :class:`BodyLimits` the app keeps with its options; what the handler learns goes
on the request's :class:`~.recorder.Exchange`, for the recorder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .fault_flow import FaultAnswer, Process, answer_with_faults
from .faults import FaultInjector
from .recorder import request_exchange

__all__ = ["BodyLimits", "answer_faulted", "http_error_status", "read_body"]


@dataclass(frozen=True)
class BodyLimits:
    """How large a request body may be, and whether the recorder keeps bodies (off: long runs stay cheap)."""

    max_body_bytes: int
    keep_bodies: bool = False


async def read_body(request: Request, limits: BodyLimits) -> bytes | None:
    """Drain the whole body; return it, or ``None`` when it (or its declared length) is over the limit.

    The body is always drained (but not kept past the limit) so that a client still uploading
    over a real socket reads the 413 instead of a connection reset. Its size, and the body itself
    with ``keep_bodies``, go on the request's exchange.
    """
    exchange = request_exchange(request)
    declared = request.headers.get("content-length", "")
    too_large = declared.isdigit() and int(declared) > limits.max_body_bytes
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if limits.keep_bodies or total <= limits.max_body_bytes:
            chunks.append(chunk)
    exchange.body_bytes = total
    body = b"".join(chunks)
    if limits.keep_bodies:
        exchange.body = body
    if too_large or total > limits.max_body_bytes:
        return None
    return body


async def answer_faulted(
    request: Request, injector: FaultInjector, process: Process, fault_answer: FaultAnswer
) -> Response:
    """Answer ``request`` under the app's fault plan, noting the injected fault on its exchange."""
    exchange = request_exchange(request)

    def note_fault(kind: str | None) -> None:
        exchange.fault = kind

    return await answer_with_faults(
        injector, request.url.path, request.receive, note_fault, process, fault_answer
    )


def http_error_status(exc: Exception) -> tuple[int, Mapping[str, str] | None]:
    """(status, headers) of an exception reaching an app's error handler: an ``HTTPException``'s own, else 500."""
    if isinstance(exc, HTTPException):
        return exc.status_code, exc.headers
    return 500, None


