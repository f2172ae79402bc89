"""The read-back routes and the JSON response class every emulator shares.

Read-back routes (``/_emulator/contacts``, ``/_emulator/stats``) let a test or a benchmark that runs
the emulator on a port see what it stored; they are unauthenticated and never recorded.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["READBACK_PREFIX", "ORJSONResponse", "readback_routes"]

READBACK_PREFIX = "/_emulator/"
"""Where the read-back routes live; the recorder and the fault plan leave these paths alone."""


class ORJSONResponse(JSONResponse):
    """JSON via orjson: record values are arbitrary JSON, and orjson is fast and strict."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def _contacts(request: Request) -> Response:
    state = request.app.state.emulator
    return ORJSONResponse(
        {"contacts": [c.to_dict() for c in state.contacts.values()], "requests": len(state.requests)}
    )


async def _stats(request: Request) -> Response:
    state = request.app.state.emulator
    return ORJSONResponse(
        {
            "contacts": len(state.contacts),
            "requests": len(state.requests),
            "faults": state.faults.snapshot(),
            "upsert_counts_over_1": sum(1 for n in state.upsert_counts.values() if n > 1),
        }
    )


def readback_routes() -> list[Route]:
    """``GET /_emulator/contacts`` and ``/_emulator/stats`` over ``app.state.emulator``.

    That state has ``contacts`` (values with ``to_dict()``), ``requests``, ``faults`` (with
    ``snapshot()``) and ``upsert_counts``.
    """
    return [
        Route(READBACK_PREFIX + "contacts", _contacts, methods=["GET"]),
        Route(READBACK_PREFIX + "stats", _stats, methods=["GET"]),
    ]
