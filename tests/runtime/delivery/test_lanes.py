"""`LanePool` lends each connection to one request at a time, in a pool of its own (httpcore then walks
one connection per request, not all of them), and keeps httpx's limits: at most `max_connections`
connections, at most `max_keepalive_connections` idle ones, a request waiting for a connection up to
its pool timeout. The server is real (uvicorn on a loopback port); it tells each request which
client port (so which connection) it came on, and how many requests it was serving at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.lanes import LanePool, lane_key


class Counter:
    def __init__(self) -> None:
        self.now = 0
        self.most = 0


def port_app(counter: Counter) -> Starlette:
    """`/port`: the client port; `/hold/<s>`: the same after `s` seconds; `/together/<n>`: the same once `n`
    requests are being served at once (so each surely has a connection of its own). Both count the requests
    served at once."""

    async def port(request: Request) -> JSONResponse:
        assert request.client is not None
        return JSONResponse({"port": request.client.port})

    async def hold(request: Request) -> JSONResponse:
        counter.now += 1
        counter.most = max(counter.most, counter.now)
        await asyncio.sleep(float(request.path_params["seconds"]))
        counter.now -= 1
        return await port(request)

    async def together(request: Request) -> JSONResponse:
        counter.now += 1
        counter.most = max(counter.most, counter.now)
        for _ in range(1000):  # at most 5 s: a broken pool fails the test rather than hanging it
            if counter.most >= int(request.path_params["n"]):
                break
            await asyncio.sleep(0.005)
        counter.now -= 1
        return await port(request)

    return Starlette(routes=[Route("/port", port), Route("/hold/{seconds}", hold), Route("/together/{n}", together)])


@pytest.fixture
def counter() -> Counter:
    return Counter()


@pytest.fixture
def url(counter: Counter) -> Iterator[str]:
    with running_server(port_app(counter)) as base:
        yield base


async def ports(client: httpx.AsyncClient, paths: list[str]) -> list[int]:
    """The client port each of `paths` was answered on, requested all at once."""
    answers = await asyncio.gather(*(client.get(path) for path in paths))
    return [answer.json()["port"] for answer in answers]


def client_of(pool: LanePool, url: str, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, transport=pool, **kwargs)


def test_sequential_requests_reuse_one_connection(url: str) -> None:
    pool = LanePool(limits=httpx.Limits(max_connections=4))

    async def go() -> list[int]:
        async with client_of(pool, url) as client:
            return [(await client.get("/port")).json()["port"] for _ in range(5)]

    seen = asyncio.run(go())
    assert len(set(seen)) == 1


def test_concurrent_requests_each_take_a_connection_then_reuse_them(url: str, counter: Counter) -> None:
    pool = LanePool(limits=httpx.Limits(max_connections=8))

    async def go() -> tuple[list[int], list[int], int]:
        async with client_of(pool, url) as client:
            first = await ports(client, ["/together/4"] * 4)
            second = await ports(client, ["/port"] * 4)
            return first, second, pool.idle_count

    first, second, idle = asyncio.run(go())
    assert counter.most == 4
    assert len(set(first)) == 4
    assert set(second) <= set(first)
    assert idle == 4


def test_a_request_waits_while_every_connection_is_lent(url: str, counter: Counter) -> None:
    pool = LanePool(limits=httpx.Limits(max_connections=1))

    async def go() -> list[int]:
        async with client_of(pool, url) as client:
            return await ports(client, ["/hold/0.05"] * 3)

    seen = asyncio.run(go())
    assert len(set(seen)) == 1
    assert counter.most == 1


def test_a_request_gives_up_after_its_pool_timeout(url: str) -> None:
    pool = LanePool(limits=httpx.Limits(max_connections=1))

    async def go() -> None:
        async with client_of(pool, url, timeout=httpx.Timeout(5.0, pool=0.01)) as client:
            held = asyncio.create_task(client.get("/hold/0.5"))
            await asyncio.sleep(0.1)  # the held request has the only connection
            try:
                with pytest.raises(httpx.PoolTimeout):
                    await client.get("/port")
            finally:
                await held

    asyncio.run(go())


def test_an_answer_closed_unread_returns_its_connection(url: str) -> None:
    pool = LanePool(limits=httpx.Limits(max_connections=1))

    async def go() -> tuple[int, int]:
        async with client_of(pool, url) as client:
            async with client.stream("GET", "/port"):
                pass  # closed without reading its body
            lent = pool.lent
            answer = await client.get("/port")  # would wait forever were the only connection still lent
            return lent, answer.status_code

    assert asyncio.run(go()) == (0, 200)


def test_idle_connections_above_the_keepalive_limit_are_closed(url: str) -> None:
    pool = LanePool(limits=httpx.Limits(max_connections=8, max_keepalive_connections=2))

    async def go() -> tuple[int, int]:
        async with client_of(pool, url) as client:
            await ports(client, ["/together/4"] * 4)
            return pool.idle_count, pool.lent

    assert asyncio.run(go()) == (2, 0)


def test_a_full_pool_closes_an_idle_connection_to_another_origin_to_make_room(url: str) -> None:
    pool = LanePool(limits=httpx.Limits(max_connections=1))
    other = url.replace("127.0.0.1", "localhost")

    async def go() -> tuple[int, int, list[tuple[str, str, int | None, object]]]:
        async with client_of(pool, url) as client:
            first = await client.get("/port")
            second = await client.get(f"{other}/port")
            return first.status_code, second.status_code, list(pool.idle)

    first, second, idle = asyncio.run(go())
    assert (first, second) == (200, 200)
    assert [key[1] for key in idle] == ["localhost"]


def test_closing_the_pool_closes_its_idle_connections(url: str) -> None:
    pool = LanePool()

    async def go() -> None:
        async with client_of(pool, url) as client:
            await client.get("/port")

    asyncio.run(go())
    assert (pool.closed, pool.idle, pool.idle_count, pool.lent) == (True, {}, 0, 0)


def test_requests_for_different_tls_names_never_share_a_connection() -> None:
    one = httpx.Request("GET", "https://10.0.0.1/x", extensions={"sni_hostname": "a.example"})
    two = httpx.Request("GET", "https://10.0.0.1/x", extensions={"sni_hostname": "b.example"})
    assert lane_key(one) == ("https", "10.0.0.1", None, "a.example")
    assert lane_key(two) == ("https", "10.0.0.1", None, "b.example")
