"""A user's URL is connected to only at an address that passed the URL guard, pinned for the run (SSRF).

The guard (`config/urls.py`) checks a webhook's host when the sync is built. Left to itself, httpx
would resolve the name again for every new connection, so a name that answers a public address for
the check and 127.0.0.1 afterwards (DNS rebinding) would reach inside the network. `PinnedTransport`
resolves each host once per run, checks every address it gets, and sends each request to a checked
address; the request keeps the name for its Host header and for TLS (SNI, and the certificate is
checked against the name). The pins are dropped when the run's client closes it, so the next run
resolves and checks again. Every request of the sync's client goes through it, whatever its path.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from destkit.runtime.config.urls import IPAddress, checked_addresses
from destkit.runtime.delivery.exchange import tls_context
from destkit.runtime.delivery.lanes import LanePool
from destkit.runtime.errors import ConfigError, Issue

log = logging.getLogger("destkit.deliver")


class AddressRefused(ConfigError, httpx.ConnectError):
    """The URL guard refused the address a host resolves to when a run connects: nothing was sent.

    A transport error, so a delivery sees a connection that failed (its records are retried and then
    dead-lettered, never sent elsewhere); a config error, since the fix is the URL or its DNS.
    """

    def __init__(self, problem: str) -> None:
        super().__init__([Issue("settings", f"{problem}.", "point the URL at a public address.")])


class PinnedTransport(httpx.AsyncBaseTransport):
    """Connects to the checked addresses of each host, resolved once until `aclose` (the end of a run)."""

    def __init__(self, *, allow_loopback: bool, limits: httpx.Limits | None = None) -> None:
        self.allow_loopback = allow_loopback  # the explicit local-emulator case (allow_http)
        self.limits = limits or httpx.Limits()
        self.pins: dict[str, list[IPAddress]] = {}
        # one connection pool per name: a connection made for one name (its SNI and certificate) serves only it
        self.pools: dict[str, LanePool] = {}
        self.lock: asyncio.Lock | None = None  # made in the run's event loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        addresses = await self.addresses_of(host)
        pool = self.pool_for(host)
        for address in addresses[:-1]:
            try:
                return await pool.handle_async_request(to_address(request, address))
            except httpx.ConnectError:  # never sent: the next checked address of the name may answer
                continue
        return await pool.handle_async_request(to_address(request, addresses[-1]))

    async def addresses_of(self, host: str) -> list[IPAddress]:
        """The host's checked addresses: resolved on first use in this run, then pinned."""
        pinned = self.pins.get(host)
        if pinned is not None:
            return pinned
        if self.lock is None:
            self.lock = asyncio.Lock()
        async with self.lock:  # concurrent first requests resolve once
            if host not in self.pins:
                found = await asyncio.to_thread(checked_addresses, host, self.allow_loopback)
                if isinstance(found, str):  # not pinned: a later attempt asks DNS again
                    log.warning(f"connection refused by the URL guard: {found}")
                    raise AddressRefused(found)
                self.pins[host] = found
        return self.pins[host]

    def pool_for(self, host: str) -> LanePool:
        pool = self.pools.get(host)
        if pool is None:  # the process's TLS context: building one per name and run costs ~50 ms of CPU
            pool = self.pools[host] = LanePool(limits=self.limits, verify=tls_context())
        return pool

    async def aclose(self) -> None:
        """End of a run: close the connections and forget the pins (the next run resolves and checks again)."""
        pools, self.pools = self.pools, {}
        self.pins = {}
        self.lock = None
        for pool in pools.values():
            await pool.aclose()


def to_address(request: httpx.Request, address: IPAddress) -> httpx.Request:
    """`request` sent to `address`, with the Host header and TLS (SNI, certificate check) still on the name.

    httpx gives the caller's response the original request back, so logs and reports show the name.
    """
    url = request.url
    if url.host == str(address):
        return request
    return httpx.Request(request.method, url.copy_with(host=str(address)), headers=request.headers,
                         stream=request.stream, extensions={**request.extensions, "sni_hostname": url.host})


__all__ = ["AddressRefused", "PinnedTransport", "to_address"]
