"""The sync's client reads an answer's cookies only when the answer sets one (`AnswerCookies`): a cookie a
destination sets still goes with the next requests, and an answer without one leaves the jar as it was.
The server is real (uvicorn on a loopback port)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.cookies import AnswerCookies, reading_cookies_when_set
from tests.conftest import in_process_sync


def cookie_app() -> Starlette:
    """`/set/<value>` sets the cookie `session`; `/plain` sets none; both answer the cookies they were sent."""

    async def set_cookie(request: Request) -> JSONResponse:
        response = JSONResponse({"sent": dict(request.cookies)})
        response.set_cookie("session", request.path_params["value"])
        return response

    async def plain(request: Request) -> JSONResponse:
        return JSONResponse({"sent": dict(request.cookies)})

    return Starlette(routes=[Route("/set/{value}", set_cookie), Route("/plain", plain)])


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running_server(cookie_app()) as base:
        yield base


async def cookies_sent(url: str, paths: list[str]) -> list[dict[str, str]]:
    """The cookies the server was sent with each request, in order, from one client that reads cookies when set."""
    async with reading_cookies_when_set(httpx.AsyncClient(base_url=url)) as client:
        return [(await client.get(path)).json()["sent"] for path in paths]


def test_a_cookie_an_answer_sets_goes_with_the_next_requests(url: str) -> None:
    assert asyncio.run(cookies_sent(url, ["/set/a", "/plain", "/plain"])) == [{}, {"session": "a"}, {"session": "a"}]


def test_an_answer_setting_a_cookie_again_replaces_it(url: str) -> None:
    assert asyncio.run(cookies_sent(url, ["/set/a", "/set/b", "/plain"])) == [{}, {"session": "a"}, {"session": "b"}]


def test_an_answer_without_cookies_leaves_the_jar_as_it_was() -> None:
    jar = AnswerCookies({"session": "a"})
    jar.extract_cookies(httpx.Response(200, request=httpx.Request("GET", "http://example.test/")))
    assert dict(jar) == {"session": "a"}


def test_the_cookies_a_client_held_are_kept_when_its_jar_is_replaced() -> None:
    client = reading_cookies_when_set(httpx.AsyncClient(cookies={"session": "a"}))
    assert isinstance(client.cookies, AnswerCookies) and dict(client.cookies) == {"session": "a"}
    asyncio.run(client.aclose())


def test_the_sync_client_reads_cookies_only_when_set() -> None:
    client = in_process_sync(create_app(api_key="k"))._client()
    assert isinstance(client.cookies, AnswerCookies)
    asyncio.run(client.aclose())
