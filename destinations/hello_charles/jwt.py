"""HS256 JWT verification for the flow-event webhook (seed 001; [ours] ``Authorization: Bearer <JWT>``).

Written with hmac/base64 only: no JWT library, so the emulator checks tokens independently of
whatever the runtime signs them with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from typing import Any

import orjson

from .store import JSONObject

__all__ = ["verify_hs256_jwt"]

INVALID = "invalid_token"
EXPIRED = "token_expired"
_TIME_CLAIMS = ("exp", "nbf", "iat")


def _b64url_decode(text: str) -> bytes:
    """Base64url without padding (RFC 7515); raises ``ValueError`` on anything else."""
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def _signed_payload(token: str, secret: str) -> bytes | None:
    """The raw payload of a well-formed HS256 token whose signature matches ``secret``; else ``None``."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = orjson.loads(_b64url_decode(parts[0]))
        payload = _b64url_decode(parts[1])
        signature = _b64url_decode(parts[2])
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256":  # "none" and every other alg refused
        return None
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    return payload if hmac.compare_digest(expected, signature) else None


def _claims_of(payload: bytes) -> JSONObject | None:
    """The payload as a claims object whose time claims are numbers and ``jti`` a string; ``None`` otherwise."""
    try:
        claims = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(claims, dict) or not all(_is_time(claims.get(name)) for name in _TIME_CLAIMS):
        return None
    if not isinstance(claims.get("jti", ""), str):  # RFC 7519 4.1.7: a case-sensitive string
        return None
    return claims


def _is_time(value: Any) -> bool:
    """Absent, or a number of seconds (a bool is not one)."""
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _out_of_time(claims: JSONObject, moment: float, leeway_s: float) -> bool:
    """``exp`` is past, or ``nbf`` or ``iat`` is still ahead (more than ``leeway_s``), as PyJWT judges them."""
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    return (
        (exp is not None and exp <= moment - leeway_s)
        or (nbf is not None and nbf > moment + leeway_s)
        or (iat is not None and iat > moment + leeway_s)
    )


def verify_hs256_jwt(
    token: str, secret: str, *, now: float | None = None, leeway_s: float = 0
) -> tuple[JSONObject | None, str | None]:
    """Check a compact HS256 JWT; return ``(claims, None)`` or ``(None, error code)``.

    The error code is ``invalid_token`` for anything malformed, another algorithm (``none``
    included: the header's ``alg`` must be ``HS256``), a wrong signature or a non-numeric
    ``exp``/``nbf``/``iat`` or a ``jti`` that is not a string, and ``token_expired`` when ``exp``
    is in the past (or ``nbf`` or ``iat`` in the future: a sender whose clock runs ahead), each
    by more than ``leeway_s``, as PyJWT's ``jwt.decode`` judges them. The signature is checked
    before any claim, so an expired token signed with the wrong secret is ``invalid_token``.
    No claim is required: destkit sends ``iat`` (back-dated a little), ``exp``, a unique ``jti``
    and the spec's static claims.
    """
    payload = _signed_payload(token, secret)
    claims = None if payload is None else _claims_of(payload)
    if claims is None:
        return None, INVALID
    if _out_of_time(claims, time.time() if now is None else now, leeway_s):
        return None, EXPIRED
    return claims, None
