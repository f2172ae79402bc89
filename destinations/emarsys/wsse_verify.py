"""The emulator's side of Emarsys' X-WSSE auth: verify a UsernameToken header exactly.

The digest is recomputed as ``base64(hex(sha1(nonce + created + secret)))`` [sdk]; a ``Created``
more than five minutes old (or ahead) and a nonce seen before are refused [ours: the window is
unpublished]. Written apart from :mod:`.auth` (the signing side), so a test that passes proves the
two agree rather than that one function equals itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

__all__ = ["CREATED_WINDOW", "verify_wsse"]

CREATED_WINDOW = timedelta(minutes=5)
"""How far a WSSE ``Created`` may be from the emulator's clock, either way [ours]."""

_WSSE_PARAM = re.compile(r'\s*([A-Za-z]+)="([^"]*)"\s*')
_WSSE_KEYS = ("Username", "PasswordDigest", "Nonce", "Created")


def _parse_wsse(header: str) -> dict[str, str] | str:
    """The four UsernameToken parameters, or why the header is malformed."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme != "UsernameToken" or not rest:
        return "the X-WSSE header is not a UsernameToken"
    params: dict[str, str] = {}
    for part in rest.split(","):
        m = _WSSE_PARAM.fullmatch(part)
        if m is None:
            return f"malformed X-WSSE parameter {part.strip()!r}"
        if m.group(1) in params:
            return f"X-WSSE parameter {m.group(1)} given twice"
        params[m.group(1)] = m.group(2)
    missing = [k for k in _WSSE_KEYS if k not in params]
    if missing:
        return f"X-WSSE lacks {', '.join(missing)}"
    return params


def _created_problem(text: str, now: datetime) -> str | None:
    """Why a ``Created`` value is refused: not an aware ISO 8601 time, or outside the window."""
    try:
        created = datetime.fromisoformat(text)
    except ValueError:
        created = None
    if created is None or created.tzinfo is None:
        return "Created is not an ISO 8601 time with a UTC offset"
    if now - created > CREATED_WINDOW:
        return "Created is more than 5 minutes old"
    if created - now > CREATED_WINDOW:
        return "Created is more than 5 minutes ahead"
    return None


def _digest_matches(params: Mapping[str, str], secret: str) -> bool:
    """``PasswordDigest == base64(hex(sha1(nonce + created + secret)))`` [sdk], compared in constant time."""
    hex_digest = hashlib.sha1((params["Nonce"] + params["Created"] + secret).encode("utf-8")).hexdigest()
    expected = base64.b64encode(hex_digest.encode("ascii")).decode("ascii")
    return hmac.compare_digest(expected.encode(), params["PasswordDigest"].encode())


def verify_wsse(
    header: str | None, *, username: str, secret: str, now: datetime, seen_nonces: Mapping[str, datetime]
) -> tuple[str | None, str | None]:
    """(None, nonce) when ``header`` is a valid, fresh X-WSSE token; else (why not, None).

    The nonce is returned for the caller to remember; this function does not mutate anything.
    """
    if not header:
        return "no X-WSSE header", None
    params = _parse_wsse(header)
    if isinstance(params, str):
        return params, None
    if not hmac.compare_digest(params["Username"].encode(), username.encode()):
        return "unknown username", None
    if (problem := _created_problem(params["Created"], now)) is not None:
        return problem, None
    if not params["Nonce"]:
        return "empty nonce", None
    if not _digest_matches(params, secret):
        return "wrong PasswordDigest", None
    if params["Nonce"] in seen_nonces:
        return "nonce already used", None
    return None, params["Nonce"]
