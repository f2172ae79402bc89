"""Serve the Hello Charles emulator on a local port, in its own process, for the memory benchmark.

    python -m bench.emulator_server --port 0        # run from the repository root

Prints one line, ``listening http://HOST:PORT``, once the socket is bound (``--port 0`` lets
the OS choose), then serves until interrupted. The emulator keeps every contact it is sent;
that memory lives in this process, not in the sync process being measured. With
``--forget-contacts`` it stores none (every upsert is then a "create"), which keeps this
process small on long runs without changing what the sync process sees on the wire.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or with -m
import uvicorn

from bench._workload import DEFAULT_WORKLOAD, load_workload
from destkit.destinations.hello_charles.emulator import EmulatorState, create_app


class _Forget(MutableMapping[str, Any]):
    """A contacts store that stores nothing: every lookup misses, every write is dropped."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        pass

    def __delitem__(self, key: str) -> None:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def lean_app(latency_ms: float, tags: list[str], properties: list[str]) -> Any:
    """A sink that answers like the batch API but does no validation or storage.

    For measuring the *sender*: the full emulator spends ~25 ms of CPU on a batch of 1,000, which on
    a 2-core machine caps any sender at its pace. This one parses the body and answers per record.
    """
    import asyncio

    import orjson

    tag_body = orjson.dumps({"data": [{"label": t, "object": "person", "deleted": False} for t in tags]})
    prop_body = orjson.dumps({"data": [{"name": p, "label": p, "object": "person", "disabled": False} for p in properties]})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        path = scope["path"]
        if path.endswith("/tags"):
            body = tag_body
        elif path.endswith("/custom_properties"):
            body = prop_body
        else:
            await asyncio.sleep(latency_ms / 1000)
            contacts = orjson.loads(b"".join(chunks))["contacts"]
            body = orjson.dumps({"status": 200, "data": [
                {"status": "created", "id": c["external_reference_id"], "errors": []} for c in contacts]})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (printed on stdout)")
    parser.add_argument("--api-key", default="bench-key")
    parser.add_argument("--workload", default=str(DEFAULT_WORKLOAD), help="workload.py, for the tag and property catalogs")
    parser.add_argument("--forget-contacts", action="store_true", help="do not keep contacts in memory")
    parser.add_argument("--faults", default=None, help="a fault plan, e.g. latency=20 (see `destkit emulate --faults`)")
    parser.add_argument("--lean", type=float, default=None, metavar="LATENCY_MS",
                        help="serve a validation-free sink with this added latency instead (sender benchmarks)")
    args = parser.parse_args(argv)

    workload = load_workload(args.workload)
    state = EmulatorState()
    if args.forget_contacts:
        state.contacts = _Forget()  # type: ignore[assignment]
    app = create_app(api_key=args.api_key, tags=workload.TAGS, custom_properties=workload.CUSTOM_PROPERTIES,
                     state=state, faults=args.faults)
    if args.lean is not None:
        app = lean_app(args.lean, workload.TAGS, workload.CUSTOM_PROPERTIES)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted sockets inherit this on Linux: without it, a response written as head + body waits
    # out the client's delayed ACK (~40 ms per request), which would swamp any latency we add
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)
    print(f"listening http://{args.host}:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
