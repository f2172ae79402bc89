"""What every emulator shares: an orjson response class and the test read-back routes.

Read-back routes (`/_emulator/contacts`, `/_emulator/stats`) let a test or a benchmark that runs the
emulator on a port see what it stored; they are unauthenticated and never recorded.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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
