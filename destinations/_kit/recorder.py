"""The request recorder every emulator shares: one record per API request, built from what its handler noted.

A handler notes what it learned about a request (body size, how many contacts, the fault it got, why
auth failed, what it made of it) on the request's :class:`Exchange`; :class:`RecorderMiddleware` turns
the exchange and the answer's status into the emulator's own record type and appends it to a list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .readback import READBACK_PREFIX

__all__ = ["EXCHANGE_KEY", "Exchange", "MakeRecord", "RecorderMiddleware", "exchange_of", "request_exchange"]


@dataclass
class Exchange:
    """What a handler learned about a request, handed to the recorder through the ASGI scope.

    ``outcome`` is the emulator's own word for what it did with the request (e.g. ``stored``), for
    emulators whose records carry one.
    """

    body_bytes: int = 0
    contact_count: int | None = None
    body: bytes | None = None
    fault: str | None = None
    auth_error: str | None = None
    outcome: str | None = None


EXCHANGE_KEY = "destkit.emulator.exchange"


def exchange_of(scope: Scope) -> Exchange:
    """The exchange the recorder put in ``scope``; a throw-away one when no recorder runs."""
    found = scope.get(EXCHANGE_KEY)
    return found if isinstance(found, Exchange) else Exchange()


def request_exchange(request: Request) -> Exchange:
    """The exchange of ``request`` (see :func:`exchange_of`)."""
    return exchange_of(request.scope)


MakeRecord = Callable[[Scope, int, Exchange], Any]
"""``make_record(scope, status, exchange)``: the emulator's record of one request."""


class RecorderMiddleware:
    """Record every API request in ``requests`` (404s, 405s and unexpected 500s included).

    The record is appended before the last byte of the answer is sent, so a client that has its
    answer always finds its request recorded (tests read this list right after a call returns).
    ``/_emulator/`` read-backs are not recorded: reading the request count must not change it.
    """

    def __init__(self, app: ASGIApp, requests: list[Any], make_record: MakeRecord) -> None:
        self.app = app
        self.requests = requests
        self.make_record = make_record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(READBACK_PREFIX):
            await self.app(scope, receive, send)
            return
        exchange = Exchange()
        scope[EXCHANGE_KEY] = exchange
        status = HTTPStatus.INTERNAL_SERVER_ERROR.value
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self.requests.append(self.make_record(scope, status, exchange))

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                record()
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            record()
