"""A batch request's URL is its path joined to the client's base URL as httpx joins it (under the base
URL's own path), made once per path (`Deliverer.url_of`); the query parameters still go on every
request exactly once, the spec's and a client's own alike."""

from __future__ import annotations

import asyncio
import random

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from destkit.runtime import Status, load_spec
from destkit.runtime.delivery.batching import Batch
from destkit.runtime.delivery.reading import ResponseReader
from destkit.runtime.delivery.retry import RateGate, RetryPolicy
from destkit.runtime.delivery.sender import Deliverer, ErrorTable
from destkit.runtime.spec.body_template import build_envelope

PATH = "/api/v1beta/contacts/batch"


def echo_app(queries: list[str]) -> Starlette:
    """Answers every contact as created; notes each request's path and query string."""

    async def batch(request: Request) -> JSONResponse:
        queries.append(f"{request.url.path}?{request.url.query}")
        contacts = orjson.loads(await request.body())["contacts"]
        return JSONResponse({"status": 200, "data": [
            {"status": "created", "id": c["external_reference_id"], "errors": []} for c in contacts]})

    return Starlette(routes=[Route("/{path:path}", batch, methods=["PUT"])])


def sender(client: httpx.AsyncClient, params: dict[str, str] | None = None) -> Deliverer:
    spec = load_spec("hello_charles")
    action = spec.actions["send_contacts"]
    return Deliverer(client, "PUT", PATH, build_envelope(action.request.body, {}), ResponseReader(action.response),
                     ErrorTable.from_spec(spec.errors), RetryPolicy(rng=random.Random(7)), RateGate(None),
                     params=params)


def one_batch(key: str) -> Batch:
    part = orjson.dumps({"external_reference_id": key, "source_type": "t"})
    return Batch([1], [key], [part], len(part), 1)


def deliver_twice(client: httpx.AsyncClient, params: dict[str, str] | None = None) -> None:
    deliverer = sender(client, params)

    async def go() -> None:
        async with client:
            for key in ("a", "b"):
                assert [o.status for o in await deliverer.deliver(one_batch(key))] == [Status.DELIVERED]

    asyncio.run(go())


def test_the_batch_path_is_joined_under_the_base_urls_own_path_once() -> None:
    deliverer = sender(httpx.AsyncClient(base_url="https://hc.test/tenant/7"))
    url = deliverer.url_of(PATH)
    assert url == httpx.URL("https://hc.test/tenant/7/api/v1beta/contacts/batch")
    assert deliverer.url_of(PATH) is url


def test_the_specs_query_parameters_go_on_every_request_once() -> None:
    queries: list[str] = []
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=echo_app(queries)), base_url="http://hc.test/v1")
    deliver_twice(client, {"mode": "upsert"})
    assert queries == [f"/v1{PATH}?mode=upsert"] * 2


def test_a_clients_own_query_parameters_go_on_every_request_once() -> None:
    queries: list[str] = []
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=echo_app(queries)), base_url="http://hc.test",
                               params={"tenant": "7"})
    deliver_twice(client, {"mode": "upsert"})
    assert queries == [f"{PATH}?tenant=7&mode=upsert"] * 2
