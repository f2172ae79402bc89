"""The Starlette app of `destkit ui`: the page (`static/`) and the JSON endpoints it calls.

Meant for 127.0.0.1: secrets posted to `/api/secrets` stay in this process's `Vault` and no endpoint
answers with them; the downloaded config names `{env: ...}` references.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from destkit.runtime.errors import ConfigError, Issue
from destkit.runtime.ui import workbench
from destkit.runtime.ui.workbench import Trial, Vault

STATIC_TYPES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
                "style.css": "text/css; charset=utf-8"}
MAX_BODY_BYTES = 5_000_000


def static_file(name: str) -> bytes:
    return resources.files("destkit.runtime.ui").joinpath("static", name).read_bytes()


async def page(request: Request) -> Response:
    name = request.path_params.get("name", "index.html")
    if name not in STATIC_TYPES:
        return Response("not found", status_code=404)
    return Response(static_file(name), media_type=STATIC_TYPES[name], headers={"cache-control": "no-store"})


class BodyTooLarge(ConfigError):
    """A request (a sample) over MAX_BODY_BYTES."""


def _too_large() -> BodyTooLarge:
    return BodyTooLarge([Issue("sample", "the sample is over 5 MB.", "try a smaller sample: the first rows show the mapping.")])


async def json_body(request: Request) -> dict[str, Any]:
    """The JSON object posted, read up to MAX_BODY_BYTES and no further (a declared or sent excess: BodyTooLarge)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        parts.append(chunk)
    body = orjson.loads(b"".join(parts) or b"{}")
    return body if isinstance(body, dict) else {}


def answer(value: Any, status: int = 200) -> Response:
    return Response(workbench.json_bytes(value), status_code=status, media_type="application/json")


async def list_destinations(request: Request) -> Response:
    return answer(workbench.destinations())


async def describe_action(request: Request) -> Response:
    try:
        described = workbench.describe(request.path_params["destination"], request.path_params["action"])
    except ConfigError as exc:
        return answer({"issues": workbench.issue_rows(exc, [])}, 404)
    described["secrets_set"] = vault_of(request).names(described["destination"])
    return answer(described)


def vault_of(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


async def set_secrets(request: Request) -> Response:
    """Keep the entered secrets in memory; answer only with the names that are set."""
    body = await json_body(request)
    destination = str(body.get("destination", ""))
    for name, value in workbench.mapping_of(body, "secrets", '{"secrets": {"api_key": "..."}}').items():
        vault_of(request).put(destination, str(name), str(value))
    return answer({"secrets_set": vault_of(request).names(destination)})


async def preview(request: Request) -> Response:
    return answer(await workbench.preview(Trial.of(await json_body(request)), vault_of(request)))


async def send(request: Request) -> Response:
    return answer(await workbench.send(Trial.of(await json_body(request)), vault_of(request)))


async def download_config(request: Request) -> Response:
    trial = Trial.of(await json_body(request))
    try:
        text = workbench.config_yaml(trial, vault_of(request))
    except ConfigError as exc:
        return answer({"issues": workbench.issue_rows(exc, vault_of(request).all())}, 400)
    return Response(text, media_type="application/yaml",
                    headers={"content-disposition": f'attachment; filename="{trial.destination}.sync.yaml"'})


async def refuse_foreign_origin(request: Request) -> Response | None:
    """A page of another site must not drive this server from the user's browser (it holds secrets): neither
    by posting to it (its Origin differs) nor by a name of its own resolved to this address (DNS rebinding:
    the page is addressed by an IP address or `localhost`, never by another name)."""
    if not is_address_or_localhost(request.url.hostname or ""):
        return Response("this tester answers only at an IP address or localhost", status_code=403)
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") not in (f"http://{request.url.netloc}", f"https://{request.url.netloc}"):
        return Response("cross-origin requests are refused", status_code=403)
    return None


Handler = Callable[[Request], Awaitable[Response]]


def is_address_or_localhost(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host == "localhost"
    return True


def guarded(handler: Handler) -> Handler:
    """`handler` for this site's page only, answering a body it cannot read with what is wrong (no traceback)."""
    async def run(request: Request) -> Response:
        refused = await refuse_foreign_origin(request)
        if refused is not None:
            return refused
        try:
            return await handler(request)
        except BodyTooLarge as exc:
            return answer({"issues": workbench.issue_rows(exc, [])}, 413)
        except workbench.BadRequest as exc:
            return answer({"issues": workbench.issue_rows(exc, [])}, 400)
        except orjson.JSONDecodeError:
            return answer({"issues": [{"key": "request", "message": "the request body is not JSON.", "fix": ""}]}, 400)
    return run


def create_app() -> Starlette:
    """The tester app; its secrets live in `app.state.vault`."""
    app = Starlette(routes=[
        Route("/", page),
        Route("/static/{name}", page),
        Route("/api/destinations", list_destinations),
        Route("/api/destinations/{destination}/actions/{action}", describe_action),
        Route("/api/secrets", guarded(set_secrets), methods=["POST"]),
        Route("/api/preview", guarded(preview), methods=["POST"]),
        Route("/api/send", guarded(send), methods=["POST"]),
        Route("/api/config", guarded(download_config), methods=["POST"]),
    ])
    app.state.vault = Vault()
    return app


__all__ = ["create_app"]
