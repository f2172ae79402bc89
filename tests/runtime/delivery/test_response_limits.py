"""A hostile destination cannot exhaust memory or stall a run: every answer is bounded.

Each answer's decoded body is capped (`options.max_response_bytes`) and each request has a total
deadline (`options.request_deadline_seconds`, send and read together). A breach becomes outcomes
for the records of that request (or a config error for a catalog), never a crash or a hang. The
destinations here are real HTTP servers on loopback, so chunking, gzip and slow sockets are real.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from destkit.runtime import ConfigError, Outcome, Status, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.config.model import SyncOptions
from destkit.runtime.delivery.exchange import Inflater
from destkit.runtime.delivery.retry import RetryPolicy
from tests.conftest import TAGS, hc_config
from tests.runtime.engine.test_send_contacts import audience

CAP = 1 << 20  # 1 MiB: the tests' max_response_bytes
FAST_RETRY = RetryPolicy(max_attempts=2, base=0.01, cap=0.01)
CATALOGS = {"tags": TAGS, "custom_properties": ["plan", "loyalty_tier", "zeotap_audience_name"]}
BOUND_S = 60  # no run here may take longer; each ends in a few seconds

Chunks = Callable[[], AsyncIterator[bytes]]
ASGI = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def answering(chunks: Chunks, headers: list[tuple[bytes, bytes]] | None = None, status: int = 200) -> ASGI:
    """An app that answers every request `status` with the body `chunks()` yields, until the client hangs up."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), *(headers or [])]})
        async for chunk in chunks():
            if gone.is_set():
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        watcher.cancel()

    return app


def once(body: bytes) -> Chunks:
    async def chunks() -> AsyncIterator[bytes]:
        yield body
    return chunks


def endless() -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        block = b" " * 65536
        while True:
            yield block
            await asyncio.sleep(0)
    return chunks()


async def drip() -> AsyncIterator[bytes]:
    yield b"{"
    while True:
        await asyncio.sleep(0.5)
        yield b" "


def bomb(decoded_bytes: int, layers: int = 1) -> bytes:
    body = bytes(decoded_bytes)
    for _ in range(layers):
        body = gzip.compress(body, compresslevel=9)
    return body


@contextmanager
def serving(app: ASGI) -> Iterator[str]:
    with running_server(app) as url:
        yield url


def deliver(url: str, n: int = 3, **options: Any) -> list[tuple[Status, str | None, int]]:
    outcomes = deliver_outcomes(url, n, **options)
    return [(o.status, o.reason, o.attempts) for o in outcomes]


def deliver_outcomes(url: str, n: int = 3, **options: Any) -> list[Outcome]:
    config = hc_config(catalogs=CATALOGS, options={"max_response_bytes": CAP, **options})
    sync = build_sync(config, base_url=url, allow_http=True, retry=FAST_RETRY)
    outcomes: list[Outcome] = []
    asyncio.run(asyncio.wait_for(sync.arun(audience(n), on_outcome=outcomes.append), BOUND_S))
    return sorted(outcomes, key=lambda o: o.row)


def catalog_error(url: str, **options: Any) -> str:
    config = hc_config(options={"max_response_bytes": CAP, **options})
    sync = build_sync(config, base_url=url, allow_http=True, retry=FAST_RETRY)
    with pytest.raises(ConfigError) as caught:
        asyncio.run(asyncio.wait_for(sync.arun(audience(1)), BOUND_S))
    [issue] = caught.value.issues
    assert issue.key == "catalogs.tags"
    return issue.message


UNREAD = [(Status.DEAD_LETTERED, "unexpected_response", 1)] * 3


# --- the options --------------------------------------------------------------------------------


def test_the_limits_are_generous_by_default() -> None:
    options = SyncOptions()
    assert (options.max_response_bytes, options.request_deadline_seconds) == (32 * 1024 * 1024, 120.0)


def test_a_compressed_answer_is_inflated_in_steps_of_at_most_64_kib() -> None:
    for encoding, body in (("gzip", bomb(8 * CAP)), ("deflate", zlib.compress(bytes(8 * CAP), 9)),
                           ("gzip, gzip", bomb(8 * CAP, layers=2))):
        pieces = list(Inflater(encoding).feed(body))
        assert (encoding, sum(map(len, pieces)), max(map(len, pieces))) == (encoding, 8 * CAP, 65536)


# --- deliveries ---------------------------------------------------------------------------------


def test_a_body_over_the_cap_dead_letters_the_batch_as_unexpected_response() -> None:
    body = b"[" + b"0," * (4 * CAP) + b"0]"
    with serving(answering(once(body), [(b"content-length", str(len(body)).encode())])) as url:
        outcomes = deliver_outcomes(url)
    assert [(o.status, o.reason, o.attempts, o.destination_status) for o in outcomes] == [
        (Status.DEAD_LETTERED, "unexpected_response", 1, 200)] * 3
    assert outcomes[0].message is not None
    assert outcomes[0].message == (
        "the destination answered HTTP 200 but the answer is over options.max_response_bytes (1048576 bytes once "
        "decoded), so it was not read; the records may or may not have been applied and are dead-lettered, to be "
        "sent again by the next run.")


def test_a_gzip_bomb_is_cut_at_the_decoded_cap() -> None:
    with serving(answering(once(bomb(64 * CAP)), [(b"content-encoding", b"gzip")])) as url:
        assert deliver(url) == UNREAD


def test_a_twice_gzipped_bomb_is_cut_at_the_decoded_cap() -> None:
    with serving(answering(once(bomb(64 * CAP, layers=2)), [(b"content-encoding", b"gzip, gzip")])) as url:
        assert deliver(url) == UNREAD


def test_an_endless_chunked_body_is_cut_at_the_cap_and_the_run_ends() -> None:
    with serving(answering(endless)) as url:
        assert deliver(url) == UNREAD


def test_a_body_dripping_a_byte_every_half_second_hits_the_deadline_and_is_retried() -> None:
    with serving(answering(drip)) as url:
        outcomes = deliver_outcomes(url, request_deadline_seconds=1)
    assert [(o.status, o.reason, o.attempts) for o in outcomes] == [(Status.DEAD_LETTERED, "timeout", 2)] * 3
    assert (outcomes[0].message or "").startswith(
        "no complete answer within options.request_deadline_seconds (1 s); gave up after 2 attempts.")


def test_json_nested_200000_deep_is_an_unexpected_response_for_the_batch() -> None:
    with serving(answering(once(b"[" * 200_000 + b"]" * 200_000))) as url:
        outcomes = deliver_outcomes(url)
    assert [(o.status, o.reason, o.attempts) for o in outcomes] == UNREAD
    assert outcomes[0].message == (
        "the destination answered 200 but its answer is not JSON (or is nested over 1,024 levels deep); the "
        "records may or may not have been applied and are dead-lettered, to be sent again by the next run.")


def test_an_answer_within_the_cap_is_read_as_usual() -> None:
    data = b'{"data": [' + b",".join(b'{"status": "created", "id": "x"}' for _ in range(3)) + b"]}"
    with serving(answering(once(gzip.compress(data)), [(b"content-encoding", b"gzip")])) as url:
        assert deliver(url) == [(Status.DELIVERED, None, 1)] * 3


# --- catalogs -----------------------------------------------------------------------------------


def test_a_catalog_over_the_cap_is_a_config_error() -> None:
    with serving(answering(endless)) as url:
        message = catalog_error(url)
    assert message == ("could not read the tags catalog (GET /api/v0/tags): the answer is over "
                       "options.max_response_bytes (1048576 bytes once decoded).")


def test_a_catalog_that_drips_is_a_config_error_at_the_deadline() -> None:
    with serving(answering(drip)) as url:
        message = catalog_error(url, request_deadline_seconds=1)
    assert message == ("could not read the tags catalog (GET /api/v0/tags): no complete answer within "
                       "options.request_deadline_seconds (1 s).")


def test_a_catalog_nested_200000_deep_is_a_config_error() -> None:
    with serving(answering(once(b"[" * 200_000 + b"]" * 200_000))) as url:
        message = catalog_error(url)
    assert message == "the tags catalog (GET /api/v0/tags) did not answer JSON."
