"""The sync's client reads an answer's cookies only when it sets one (`AnswerCookies`).

httpx hands every answer to `http.cookiejar`, through a urllib request and response it builds for it
(the URL turned to text and parsed again): ~20 µs of CPU a request, although a destination's batch API
almost never sets a cookie. An answer with no Set-Cookie (or Set-Cookie2) header, the only headers the
cookie jar reads, leaves the jar as it was, so skipping it changes nothing: one that sets a cookie is read
as before, and the cookie goes with the next requests as before.
"""

from __future__ import annotations

import httpx

_SETS_COOKIE = frozenset({b"set-cookie", b"set-cookie2"})  # what `http.cookiejar` reads from an answer


class AnswerCookies(httpx.Cookies):
    """httpx's cookie jar, skipping answers that set no cookie."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if any(name.lower() in _SETS_COOKIE for name, _ in response.headers.raw):
            super().extract_cookies(response)


def reading_cookies_when_set(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """`client`, its cookie jar (with the cookies it holds) made an `AnswerCookies`.

    httpx's `cookies` setter would wrap it back in a plain `httpx.Cookies`, so the client's own attribute is
    set; were httpx to stop reading that attribute, its own jar would read every answer, as before."""
    client._cookies = AnswerCookies(client.cookies)
    return client


__all__ = ["AnswerCookies", "reading_cookies_when_set"]
