"""Structured log lines: one JSON object per event, with run id, batch, attempt, status and latency.

Only the fields we put in `extra` are emitted, never request or response bodies, so payloads and
secrets stay out of logs by construction.
"""

from __future__ import annotations

import logging
import sys
import time
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
