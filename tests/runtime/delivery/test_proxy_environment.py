"""A sync's client sends through `LanePool` unless the environment names a proxy: httpx honours HTTPS_PROXY,
ALL_PROXY and the rest only with its own transport, and a sync behind a proxy must still reach the destination."""

from __future__ import annotations

import asyncio

import httpcore
import httpx
import pytest

from destkit.runtime import build_sync
from destkit.runtime.delivery.lanes import LanePool
from tests.conftest import hc_config

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def transport_for(url: str) -> httpx.AsyncBaseTransport:
    """The transport the sync's client picks for `url` (httpx's proxy mounts first, else its transport)."""
    client = build_sync(hc_config())._client()
    try:
        return client._transport_for_url(httpx.URL(url))
    finally:
        asyncio.run(client.aclose())


def test_without_a_proxy_the_client_sends_through_lanes(no_proxy_environment: pytest.MonkeyPatch) -> None:
    assert isinstance(transport_for("https://acme.hellocharles.com/api"), LanePool)


def test_with_https_proxy_set_the_client_sends_through_that_proxy(no_proxy_environment: pytest.MonkeyPatch) -> None:
    no_proxy_environment.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    transport = transport_for("https://acme.hellocharles.com/api")
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    pool = transport._pool
    assert isinstance(pool, httpcore.AsyncHTTPProxy)
    assert pool._proxy_url.host == b"proxy.internal" and pool._proxy_url.port == 3128
