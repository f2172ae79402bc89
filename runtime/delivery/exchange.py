"""One request and its answer, bounded: every HTTP exchange with a destination goes through `exchange`.

A destination may be hostile or broken: answer 500 MB, a gzip bomb, a body that never ends or one
byte every few seconds. So the answer is streamed and decoded here (not by httpx, which inflates
a compressed chunk whole) in bounded steps, reading stops once the decoded size passes
`max_bytes`, and the whole exchange (connect, send, read) runs under one deadline. What goes wrong
comes back as a `NoReply` saying whether the request may have reached the destination, which is
what decides whether it is safe to send again.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import httpx

from destkit.runtime.config.model import SyncOptions

_STEP = 64 * 1024  # the most one inflate step may produce: memory stays bounded whatever the ratio
_ACCEPT = "gzip, deflate"  # the encodings decoded here; never advertise one we would pass through raw
# failures raised before a byte of the request left: the destination cannot have acted on it
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True, slots=True)
class ResponseLimits:
    """How large an answer may be once decoded, and how long one request may take in all."""

    max_bytes: int = 32 * 1024 * 1024
    deadline: float = 120.0

    @classmethod
    def from_options(cls, options: SyncOptions) -> ResponseLimits:
        return cls(options.max_response_bytes, options.request_deadline_seconds)

    @property
    def too_large(self) -> str:
        return f"options.max_response_bytes ({self.max_bytes} bytes once decoded)"

    @property
    def too_slow(self) -> str:
        return f"no complete answer within options.request_deadline_seconds ({self.deadline:g} s)"


DEFAULT_LIMITS = ResponseLimits()


class Lost(StrEnum):
    """Why a request has no answer to classify."""

    NOT_SENT = "not_sent"  # it never reached the destination (connection refused): always safe to send again
    ANSWER_LOST = "answer_lost"  # it was sent; the answer was cut off, timed out or passed the deadline
    UNREADABLE = "unreadable"  # an answer came but was not read: over the size cap, or its encoding is corrupt


@dataclass(frozen=True, slots=True)
class NoReply:
    """A request that got no readable answer: why, a sentence for the outcome, and whether it was a timeout."""

    lost: Lost
    message: str
    timed_out: bool = False
    status: int | None = None  # the status line of an answer that was not read
    error: str | None = None  # the transport error's class name, e.g. ReadTimeout

    @property
    def cause(self) -> str:
        """What went wrong, in a few words."""
        return self.error or self.message


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete answer, its body decoded and within the cap."""

    status: int
    headers: httpx.Headers
    content: bytes


async def exchange(client: httpx.AsyncClient, method: str, url: str | httpx.URL, limits: ResponseLimits, *,
                   content: bytes | None = None, headers: Mapping[str, str] | None = None,
                   params: Mapping[str, str] | None = None) -> Reply | NoReply:
    """Send one request and read its answer within `limits`.

    A transport failure, the deadline or the size cap comes back as a `NoReply`, not as an exception.
    """
    request = client.build_request(method, url, content=content, params=params,
                                   headers={"accept-encoding": _ACCEPT, **(headers or {})})
    try:
        async with asyncio.timeout(limits.deadline):
            response = await client.send(request, stream=True)
            try:
                body = await read_capped(response, limits.max_bytes)
            finally:
                await response.aclose()
    except TimeoutError:
        return NoReply(Lost.ANSWER_LOST, limits.too_slow, timed_out=True)
    except httpx.TransportError as exc:
        return transport_failure(exc)
    except zlib.error as exc:
        return NoReply(Lost.UNREADABLE, f"the answer's {response.headers.get('content-encoding')} encoding is "
                       f"corrupt ({exc})", status=response.status_code)
    if body is None:
        return NoReply(Lost.UNREADABLE, f"the answer is over {limits.too_large}", status=response.status_code)
    return Reply(response.status_code, response.headers, body)


def tls_context() -> ssl.SSLContext:
    """The verifying TLS context httpx would build for a client (`verify=True`), made once per process.

    Building one loads the CA bundle, about 50 ms of CPU: a client per run paid that on every run. It
    follows SSL_CERT_FILE and SSL_CERT_DIR as httpx does, so a changed variable gets a context of its own.
    """
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()  # reads those variables itself: they are the cache's key


def transport_failure(exc: httpx.TransportError) -> NoReply:
    """A failed request: never sent (connect), or sent with its answer lost (read, cut connection, timeout)."""
    name = type(exc).__name__
    timed_out = isinstance(exc, httpx.TimeoutException)
    # an error that says it is written for the operator and holds no secret (oauth2's TokenUnavailable) is
    # quoted; httpx's own words may quote a header (a token), so only its class is named
    said = f"{name}: {exc}" if getattr(exc, "shown_in_outcome", False) else name
    message = f"the request timed out ({said})" if timed_out else f"the connection failed ({said})"
    lost = Lost.NOT_SENT if isinstance(exc, _NEVER_SENT) else Lost.ANSWER_LOST
    return NoReply(lost, message, timed_out=timed_out, error=name)


async def read_capped(response: httpx.Response, cap: int) -> bytes | None:
    """The decoded body, or None as soon as it passes `cap` bytes (the rest is never read)."""
    if response.is_stream_consumed:  # built whole in memory (httpx.MockTransport): already decoded, only the cap applies
        return response.content if len(response.content) <= cap else None
    inflate = Inflater(response.headers.get("content-encoding", ""))
    parts: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        for piece in inflate.feed(raw):
            size += len(piece)
            if size > cap:
                return None
            parts.append(piece)
    inflate.finish()
    return b"".join(parts)


class Inflater:
    """Decodes a Content-Encoding chain (gzip, deflate) in steps of at most 64 KiB of output each.

    Each layer keeps its unconsumed input, so even a stack of gzip bombs never produces more than one
    step at a time. Encodings other than gzip and deflate (never asked for) are passed through raw,
    as httpx does for encodings it has no decoder for.
    """

    def __init__(self, content_encoding: str) -> None:
        names = [e.strip().lower() for e in content_encoding.split(",")]
        # the last encoding applied is the first to undo
        self.layers = [_decoder(name) for name in reversed(names) if name in ("gzip", "x-gzip", "deflate")]
        self._fed = [False] * len(self.layers)

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield from self._through(data, 0)

    def finish(self) -> None:
        """Raise `zlib.error` if a layer that got input ended before its stream did.

        zlib waits for more input rather than fail on a cut stream, so a truncated (or garbage) gzip
        body would otherwise read as an empty answer, and be named as one ("no result list").
        """
        if any(fed and not layer.eof for fed, layer in zip(self._fed, self.layers, strict=True)):
            raise zlib.error("the body ends before the compressed data does")

    def _through(self, data: bytes, depth: int) -> Iterator[bytes]:
        if depth == len(self.layers):
            if data:
                yield data
            return
        self._fed[depth] = self._fed[depth] or bool(data)
        for piece in _inflate(self.layers[depth], data):
            yield from self._through(piece, depth + 1)


class Decompressor(Protocol):
    """What `zlib.decompressobj()` returns."""

    @property
    def eof(self) -> bool: ...
    @property
    def unconsumed_tail(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes: ...


def _decoder(name: str) -> Decompressor:
    # gzip: a gzip header; deflate: a zlib header (wbits + 32 accepts either, as browsers do)
    return zlib.decompressobj(16 + zlib.MAX_WBITS if name in ("gzip", "x-gzip") else 32 + zlib.MAX_WBITS)


def _inflate(decoder: Decompressor, data: bytes) -> Iterator[bytes]:
    """What `data` inflates to, in steps of at most `_STEP` bytes; input after the stream's end is ignored."""
    while not decoder.eof:
        piece = decoder.decompress(data, _STEP)
        data = decoder.unconsumed_tail
        if not piece:
            return
        yield piece


__all__ = [
    "DEFAULT_LIMITS", "Inflater", "Lost", "NoReply", "Reply", "ResponseLimits", "exchange", "read_capped",
    "tls_context", "transport_failure",
]
