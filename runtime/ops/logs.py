"""Structured log lines: one JSON object per event, with run id, batch, attempt, status and latency.

Only the fields we put in `extra` are emitted, never request or response bodies, so payloads and
secrets stay out of logs by construction. The HTTP libraries' own log lines (a URL with its query
string, headers) go through a `Scrubbing` filter the runtime installs (`scrub_loggers`).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import IO

import orjson

_FIELDS = ("run_id", "batch", "attempt", "status", "records", "latency_ms", "reason", "outcome")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for name in _FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = value
        return orjson.dumps(out).decode()


def configure(level: str = "WARNING", stream: IO[str] | None = None, json: bool = True) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("destkit")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
    return handler


# the loggers of the HTTP libraries: httpx logs each request's URL (a query-string API key with it) at INFO,
# httpcore each exchange's headers at DEBUG
HTTP_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks")


class Scrubbing(logging.Filter):
    """Rewrites each record's message through `scrub` (secrets → ***) before any handler sees it."""

    def __init__(self, scrub: Callable[[str], str]) -> None:
        super().__init__()
        self.scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def scrub_loggers(scrub: Callable[[str], str], names: tuple[str, ...] = HTTP_LOGGERS) -> None:
    """Put a `Scrubbing` filter on each logger, once (a second call only replaces the scrub).

    A filter on a logger applies to what that logger emits, before propagation, so it holds whatever
    handlers the application configures.
    """
    for name in names:
        logger = logging.getLogger(name)
        installed = next((f for f in logger.filters if isinstance(f, Scrubbing)), None)
        if installed is None:
            logger.addFilter(Scrubbing(scrub))
        else:
            installed.scrub = scrub
