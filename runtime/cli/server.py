"""Run any ASGI application on a real local port for the duration of a ``with`` block.

In-process transports (``httpx.ASGITransport``) are enough for most tests, but they skip
the parts of HTTP that only exist on a socket: connection handling, ``Content-Length``
framing, real concurrency between client and server, and clients that insist on a URL
(a CLI, a subprocess, a synchronous ``httpx.Client``). This module starts uvicorn in a
background thread so such code can be exercised against an emulator exactly as it would
talk to the real service. Nothing here knows about any particular destination.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

__all__ = ["running_server"]

_POLL_SECONDS = 0.01
_SHUTDOWN_SECONDS = 10.0


@contextmanager
def running_server(
    app: Callable[..., Any],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    startup_timeout: float = 10.0,
) -> Iterator[str]:
    """Serve ``app`` with uvicorn on ``host``:``port`` and yield its base URL.

    ``port=0`` asks the OS for a free port, which keeps parallel test runs from
    colliding; the port actually bound is read back from the listening socket so the
    yielded URL is always usable. Lifespan is off because the apps served here are test
    doubles with no startup work, and uvicorn's lifespan probing would only add noise.

    Raises ``RuntimeError`` when the server dies during startup (for example the port is
    taken) and ``TimeoutError`` when it does not report ``started`` within
    ``startup_timeout`` seconds, so a broken fixture fails loudly instead of hanging.
    """
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    # A daemon thread cannot keep the interpreter alive if a test forgets to exit the block.
    thread = threading.Thread(target=server.run, name=f"uvicorn-{host}:{port}", daemon=True)
    thread.start()
    try:
        _wait_until_started(server, thread, host, port, startup_timeout)
        bound_port = _bound_port(server, port)
        url_host = f"[{host}]" if ":" in host else host
        yield f"http://{url_host}:{bound_port}"
    finally:
        _stop(server, thread)


def _wait_until_started(
    server: uvicorn.Server, thread: threading.Thread, host: str, port: int, timeout: float
) -> None:
    """Block until uvicorn is accepting connections, failing fast if it cannot start."""
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            # uvicorn logs the cause (e.g. "address already in use") and exits the thread.
            raise RuntimeError(f"uvicorn failed to start on {host}:{port}; see the log above for the cause")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"uvicorn did not start on {host}:{port} within {timeout:.1f}s")
        time.sleep(_POLL_SECONDS)


def _bound_port(server: uvicorn.Server, requested: int) -> int:
    """Return the port the listening socket really got (differs from ``requested`` when 0)."""
    if requested != 0:
        return requested
    sockname = server.servers[0].sockets[0].getsockname()
    return int(sockname[1])


def _stop(server: uvicorn.Server, thread: threading.Thread) -> None:
    """Ask uvicorn to exit gracefully, escalating to a forced exit if it lingers."""
    server.should_exit = True
    thread.join(_SHUTDOWN_SECONDS)
    if thread.is_alive():
        # Open keep-alive connections or a stuck handler can stall a graceful shutdown.
        server.force_exit = True
        thread.join(_SHUTDOWN_SECONDS)
