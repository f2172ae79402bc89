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
from rich.console import Console

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


def configure(level: str = "WARNING", stream: IO[str] | None = None, json: bool = True, *,
              console: Console | None = None, tap: Callable[[logging.LogRecord], None] | None = None) -> logging.Handler:
    """Log lines of `level` and above to `stream` (stderr), or through `console` while a live progress bar
    is drawn on it; `tap` also sees every request's INFO line whatever the level (it drives the bar's
    retries and throttling counts; only the handler prints, at `level`)."""
    handler: logging.Handler = ConsoleHandler(console) if console is not None else logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    threshold = logging.getLevelName(level.upper())
    handler.setLevel(threshold)
    logger = logging.getLogger("destkit")
    logger.handlers[:] = [handler] if tap is None else [handler, Tap(tap)]
    logger.setLevel(threshold if tap is None else min(threshold, logging.INFO))
    logger.propagate = False
    return handler


class ConsoleHandler(logging.Handler):
    """Prints each log line through a rich `Console`: while a live progress bar is on that console, rich
    puts the line above the bar instead of gluing it onto the bar's line.

    Not `rich.logging.RichHandler`: that one lays lines out in columns wrapped to the terminal's
    width, which would split a JSON line; this keeps each one whole, as the stream handler does.
    """

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            self.console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)
        except Exception:  # a log line never breaks a run
            self.handleError(record)


class Tap(logging.Handler):
    """Hands every record to a function (the progress display's counters); prints nothing."""

    def __init__(self, see: Callable[[logging.LogRecord], None]) -> None:
        super().__init__(logging.DEBUG)
        self.see = see

    def emit(self, record: logging.LogRecord) -> None:
        self.see(record)


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
