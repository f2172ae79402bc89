"""JSON as the Hello Charles API reads it: strict first, then once more without trailing commas.

Seed 002's documented curl body has trailing commas and the real service accepts it, so the
emulator must too.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["parse_lenient_json", "strip_trailing_commas"]

_WHITESPACE = " \t\r\n"


def _closes_after_comma(text: str, comma: int) -> bool:
    """Whether only whitespace stands between the comma at ``comma`` and a ``]`` or ``}``."""
    j = comma + 1
    while j < len(text) and text[j] in _WHITESPACE:
        j += 1
    return j < len(text) and text[j] in "]}"


def _after_string_char(ch: str, escaped: bool) -> tuple[bool, bool]:
    """(still inside the string, the next character escaped) after ``ch`` inside a string literal."""
    if escaped:
        return True, False
    if ch == "\\":
        return True, True
    return ch != '"', False


def strip_trailing_commas(text: str) -> str:
    """Remove commas that directly precede ``]`` or ``}`` (whitespace allowed), outside strings.

    A regex cannot tell ``",]"`` inside a string literal from real syntax; this scanner tracks
    string state and backslash escapes instead. The whitespace after a dropped comma is kept.
    """
    out: list[str] = []
    in_string = False
    escaped = False
    for i, ch in enumerate(text):
        if in_string:
            in_string, escaped = _after_string_char(ch, escaped)
        elif ch == '"':
            in_string = True
        elif ch == "," and _closes_after_comma(text, i):
            continue
        out.append(ch)
    return "".join(out)


def parse_lenient_json(raw: bytes) -> Any:
    """Parse strict JSON first (fast path), then retry once without trailing commas.

    Raises ``ValueError`` when the body is invalid even after the retry, or not UTF-8.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return orjson.loads(strip_trailing_commas(raw.decode("utf-8")))
    except (UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from exc
