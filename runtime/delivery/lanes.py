"""Connections lent one request at a time (`LanePool`): what the sync's client sends through.

httpcore's connection pool walks every connection it holds on each request and on each answer's close,
asking each idle one whether its socket is readable (a `getpeername` and a `poll` through anyio each
time): at concurrency 16 that walk was ~2 µs of CPU per record, more than reading the answer. Here
each connection lives in a pool of its own (a lane, httpx's own transport limited to one connection),
lent to one request until its answer is closed, so httpcore only ever walks that one connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

LaneKey = tuple[str, str, int | None, object]  # scheme, host, port, the TLS name (`sni_hostname`) if any


def lane_key(request: httpx.Request) -> LaneKey:
    """The connections `request` may reuse: same scheme, address and TLS name (a connection made for one
    name, its SNI and certificate, never serves another)."""
    url = request.url
    return url.scheme, url.host, url.port, request.extensions.get("sni_hostname")


class LanePool(httpx.AsyncBaseTransport):
    """At most `limits.max_connections` connections (lent or idle), at most `limits.max_keepalive_connections`
    idle ones; a request takes an idle connection to its origin (the one used last), else a new one, and
    waits (up to the request's pool timeout, then `httpx.PoolTimeout`) only when every connection is lent."""

    def __init__(self, *, limits: httpx.Limits | None = None, verify: ssl.SSLContext | bool = True) -> None:
        limits = limits or httpx.Limits()
        self.max_connections = limits.max_connections
        self.max_idle = limits.max_keepalive_connections
        self.verify = verify
        # a lane: httpx's own transport (its TLS, timeouts, errors) holding one connection, kept alive between uses
        self.one = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=limits.keepalive_expiry)
        self.idle: dict[LaneKey, list[httpx.AsyncBaseTransport]] = {}  # per origin, the last one returned last
        self.idle_count = 0
        self.lent = 0
        self.waiting: list[asyncio.Future[None]] = []  # requests waiting for a connection to be returned
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = lane_key(request)
        lane = await self._borrow(key, request)
        try:
            response = await lane.handle_async_request(request)
        except BaseException:
            await self._give_back(key, lane)  # its pool has dropped a connection that failed
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Returned(response.stream, lambda: self._give_back(key, lane))
        return response

    async def _borrow(self, key: LaneKey, request: httpx.Request) -> httpx.AsyncBaseTransport:
        while True:
            if self.closed:
                raise httpx.ConnectError("the connection pool is closed", request=request)
            idle = self.idle.get(key)
            if idle:
                self.idle_count -= 1
                self.lent += 1
                return idle.pop()
            if self.max_connections is None or self.lent + self.idle_count < self.max_connections:
                self.lent += 1
                return httpx.AsyncHTTPTransport(verify=self.verify, limits=self.one)
            if self.idle_count:  # full, but with an idle connection to another origin: it makes room
                await self._close_one_idle()
                continue
            await self._wait(request)

    async def _wait(self, request: httpx.Request) -> None:
        """Until a lent connection is returned, or `httpx.PoolTimeout` after the request's pool timeout."""
        waiter = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        timeout = request.extensions.get("timeout", {}).get("pool")
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():  # woken, but leaving: the next in line takes the turn
                self._wake_one()
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout("no connection became free within the pool timeout", request=request) from None
            raise
        finally:
            if waiter in self.waiting:
                self.waiting.remove(waiter)

    async def _give_back(self, key: LaneKey, lane: httpx.AsyncBaseTransport) -> None:
        self.lent -= 1
        if self.closed or (self.max_idle is not None and self.idle_count >= self.max_idle):
            await lane.aclose()
        else:
            self.idle.setdefault(key, []).append(lane)
            self.idle_count += 1
        self._wake_one()

    def _wake_one(self) -> None:
        for waiter in self.waiting:
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _close_one_idle(self) -> None:
        """Close the idle connection unused longest of any origin (the first of the fullest origin's list)."""
        key = max(self.idle, key=lambda k: len(self.idle[k]))
        lane = self.idle[key].pop(0)
        if not self.idle[key]:
            del self.idle[key]
        self.idle_count -= 1
        await lane.aclose()

    async def aclose(self) -> None:
        """Close every idle connection now, and every lent one as its answer is closed."""
        self.closed = True
        lanes = [lane for idle in self.idle.values() for lane in idle]
        self.idle, self.idle_count = {}, 0
        for lane in lanes:
            await lane.aclose()
        for waiter in self.waiting:
            if not waiter.done():
                waiter.set_result(None)  # it finds the pool closed


class _Returned(httpx.AsyncByteStream):
    """An answer's stream that returns its connection to the pool once closed (read whole or not)."""

    def __init__(self, stream: httpx.AsyncByteStream, give_back: Callable[[], Awaitable[None]]) -> None:
        self.stream = stream
        self.give_back: Callable[[], Awaitable[None]] | None = give_back

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self.stream:
            yield part

    async def aclose(self) -> None:
        give_back, self.give_back = self.give_back, None
        try:
            await self.stream.aclose()
        finally:
            if give_back is not None:
                await give_back()


__all__ = ["LanePool", "lane_key"]
