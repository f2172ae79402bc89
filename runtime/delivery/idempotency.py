"""Whether a request may be sent again after its answer was lost, and the key that makes it safe.

An upsert applied twice leaves the same contact; a flow triggered twice sends two WhatsApp
messages. A spec says which kind an action is (`idempotent: false`) and, when the destination
dedupes on a header, names it (`idempotency_key: {header: ...}`). The key is derived from the
request itself (method, path and body), so every attempt carries the same one, and so does a
later `destkit retry` of the same records, which the destination then recognises.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from destkit.runtime.spec.models import ActionSpec


@dataclass(frozen=True, slots=True)
class Idempotency:
    idempotent: bool = True
    key_header: str | None = None

    @classmethod
    def of(cls, action: ActionSpec) -> Idempotency:
        return cls(action.idempotent, action.idempotency_key.header if action.idempotency_key else None)

    @property
    def may_resend(self) -> bool:
        """A request whose answer was lost may be sent again: applying it twice is harmless, or deduped."""
        return self.idempotent or self.key_header is not None

    def headers(self, method: str, path: str, content: bytes) -> dict[str, str]:
        """The key header for this request (none when the spec names none)."""
        if self.key_header is None:
            return {}
        return {self.key_header: request_key(method, path, content)}


IDEMPOTENT = Idempotency()


def request_key(method: str, path: str, content: bytes) -> str:
    """A stable key for one request: the same method, path and body give the same key, on any attempt or run."""
    digest = hashlib.sha256(f"{method} {path}\n".encode() + content).hexdigest()
    return "dk_" + digest[:32]


__all__ = ["IDEMPOTENT", "Idempotency", "request_key"]
