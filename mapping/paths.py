"""Source paths (`a.b.0.c`) compiled to getters.

A path that runs into a missing key, a None, or a value of the wrong kind yields None rather
than raising: a CDP profile is sparse, and "absent" is the meaning the user expects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Getter = Callable[[Any], Any]

_SEGMENT = re.compile(r"[^.\[\]]+")
# a whole path: segments joined by dots or in brackets. `a..b`, `a.`, `.a` or `a[0` would otherwise read as
# `a.b`, `a`, `a` and `a.0`: a typo silently reading another field than the one written
_PATH = re.compile(r"[^.\[\]]+(?:\.[^.\[\]]+|\[[^.\[\]]+\])*")


def split_path(path: str) -> list[str]:
    """`a.b[0].c` and `a.b.0.c` both give ['a', 'b', '0', 'c']; the empty path, or one with an empty
    segment or an unclosed bracket, is an error."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("a source path must be a non-empty string such as 'email' or 'attributes.tier'")
    text = path.strip()
    if _PATH.fullmatch(text) is None:
        raise ValueError(f"'{_clipped(text)}' is not a source path: {_malformation(text)}")
    return _SEGMENT.findall(text)


def _malformation(text: str) -> str:
    """What is wrong with a path the grammar refused, in words."""
    if text.startswith((".", "[")) or text.endswith("."):
        return "it starts with a dot or a bracket, or ends with a dot (write 'attributes.tier')"
    if ".." in text or "[]" in text or ".[" in text:
        return "a segment between dots or brackets is empty (write 'attributes.tier' or 'items.0')"
    return "its brackets do not pair up, or hold a dot (write 'items[0]' or 'items.0')"


def _clipped(text: str, limit: int = 120) -> str:
    """`text` cut to `limit` characters: a 100 kB path must not flood the terminal."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _step(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part)
    if isinstance(value, list | tuple) and part.lstrip("-").isdigit():
        index = int(part)
        return value[index] if -len(value) <= index < len(value) else None
    return None


def compile_path(path: str) -> Getter:
    """A getter for `path`; one-segment paths get the cheapest possible form."""
    parts = split_path(path)
    if len(parts) == 1:
        key = parts[0]

        def get_top(record: Any) -> Any:
            return record.get(key) if isinstance(record, dict) else None

        return get_top

    def get_nested(record: Any) -> Any:
        value = record
        for part in parts:
            value = _step(value, part)
            if value is None:
                return None
        return value

    return get_nested
