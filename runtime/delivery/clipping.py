"""How much of what a destination says is kept in an outcome (its code, its message, a value we quote), and
as what text.

Each record of a batch gets its own copy in the report, the state store, the summary's error groups
and the terminal, so a hostile or broken destination's 1 MB message for a batch of 1,000 records was
1 GB on disk. Text is clipped after it is scrubbed of secrets (a secret cut in half is not found).
"""

from __future__ import annotations

from typing import Any, overload

from destkit.runtime.record.key_text import key_text

MAX_CODE_CHARS = 200  # an error code is a word; more is a message in the wrong field
MAX_TEXT_CHARS = 2_000  # a message a person reads, with room for a quoted detail


@overload
def clip(text: str, limit: int = MAX_TEXT_CHARS) -> str: ...
@overload
def clip(text: None, limit: int = MAX_TEXT_CHARS) -> None: ...
@overload
def clip(text: str | None, limit: int = MAX_TEXT_CHARS) -> str | None: ...


def clip(text: str | None, limit: int = MAX_TEXT_CHARS) -> str | None:
    """`text` up to `limit` characters, then how many more there were."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def answer_text(value: Any) -> str | None:
    """What a destination said (a code, a message, a note) as text: a string as it is, anything else as JSON
    writes it (`{"a":1}`, `["x","y"]`, `true`, `17`: `key_text`), never a Python repr (`{'a': 1}`, `True`);
    null is nothing said."""
    return value if value.__class__ is str else key_text(value)


__all__ = ["MAX_CODE_CHARS", "MAX_TEXT_CHARS", "answer_text", "clip"]
