"""`destkit ui`: serve the local web mapping tester (`destkit.runtime.ui`) until interrupted."""

from __future__ import annotations

import socket
from typing import Annotated

import typer
from rich.text import Text

from destkit.runtime.cli.demo import bind_socket, http_url
from destkit.runtime.cli.display import fail, out, say
from destkit.runtime.ui.app import create_app


def ui(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free one).")] = 8765,
    host: Annotated[str, typer.Option(
        "--host", help="Interface to listen on. Secrets typed into the page reach this server: keep it local.")] = "127.0.0.1",
) -> None:
    """Serve the web mapping tester: pick an action, edit a mapping, try a sample, send it to an emulator."""
    import uvicorn

    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port.")
    url = http_url(host, bound_port(sock))
    out.print(Text("destkit ui", style="bold") + Text(f": the mapping tester at {url}/  (Ctrl-C stops)"))
    say("  secrets typed into the page stay in this process's memory: nothing is written.")
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    with sock:
        server.run(sockets=[sock])


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


__all__ = ["ui"]
