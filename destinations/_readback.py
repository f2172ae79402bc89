"""What every emulator shares: an orjson response class, the request recorder and the read-back routes.

Read-back routes (`/_emulator/contacts`, `/_emulator/stats`) let a test or a benchmark that runs the
emulator on a port see what it stored; they are unauthenticated and never recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

READBACK_PREFIX = "/_emulator/"


class ORJSONResponse(JSONResponse):
    """JSON via orjson: record values are arbitrary JSON, and orjson is fast and strict."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def readback_routes(state: Any) -> list[Route]:
    """`state` has contacts (values with to_dict), requests, faults (with snapshot) and upsert_counts."""
    async def contacts(request: Request) -> Response:
        return ORJSONResponse({"contacts": [c.to_dict() for c in state.contacts.values()], "requests": len(state.requests)})

    async def stats(request: Request) -> Response:
        return ORJSONResponse({
            "contacts": len(state.contacts),
            "requests": len(state.requests),
            "faults": state.faults.snapshot(),
            "upsert_counts_over_1": sum(1 for n in state.upsert_counts.values() if n > 1),
        })

    return [Route(READBACK_PREFIX + "contacts", contacts, methods=["GET"]),
            Route(READBACK_PREFIX + "stats", stats, methods=["GET"])]


@dataclass
class Exchange:
    """What a handler learned about a request, handed to the recorder through the ASGI scope."""

    body_bytes: int = 0
    contact_count: int | None = None
    body: bytes | None = None
    fault: str | None = None
    auth_error: str | None = None


EXCHANGE_KEY = "destkit.emulator.exchange"


def exchange_of(scope: Scope) -> Exchange:
    found = scope.get(EXCHANGE_KEY)
    return found if isinstance(found, Exchange) else Exchange()


MakeRecord = Callable[[Scope, int, Exchange], Any]


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
