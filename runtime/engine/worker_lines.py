"""JSON Lines through `--workers N`: the parent reads raw lines and routes each by a key read off its bytes;
each worker parses the lines it is given, so the parse (the main cost after the pipeline's) is shared out.

A line's key is read without a parse only where that is exact: the key field takes a top-level source
field as is, the line holds no backslash (every string is literal), names the field once, before any
nested object or array, with a plain string value. Any other line is parsed in the parent, as before.
Imports the engine's sources and items only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from destkit.runtime.engine.items import Malformed
from destkit.runtime.engine.sources import jsonl_item

if TYPE_CHECKING:
    from destkit.runtime.engine.sync import Sync

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_GET_EXPRESSION = re.compile(r"s\.get\(\w+\)")  # the compiled mapping of a one-part path, nothing added
NOT_READ = b"\\"  # `KeyReader.read`'s "only a parse can tell" (a key read off a line never holds a backslash)


class KeyReader:
    """Reads a raw line's key (the value of one top-level field) from its bytes, where that is exact."""

    def __init__(self, field: str) -> None:
        self.token = orjson.dumps(field)  # the field's name as a JSON string, e.g. `"user_id"`
        self.named = self.token + b":"

    @classmethod
    def for_sync(cls, sync: Sync) -> KeyReader | None:
        """The reader for the sync's key field, when the mapping takes it as is from a top-level field."""
        field = sync.key_field
        if field is None:
            return None
        spec = sync.config.mapping.get(field)
        name = spec.get("path") if isinstance(spec, dict) and set(spec) == {"path"} else spec
        key_of = sync.mapping.per_field.get(field)
        if (not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name) or key_of is None
                or not _GET_EXPRESSION.fullmatch(sync.mapping.expressions.get(field, ""))):
            return None
        if key_of({name: "probe"}) != "probe" or key_of({}) is not None:
            return None  # not the field's value as is, after all
        return cls(name)

    def read(self, raw: bytes) -> bytes | None:
        """The key's UTF-8 bytes (None: the record has no key), or NOT_READ when only a parse can tell."""
        if raw[:1] != b"{" or b"\\" in raw:
            return NOT_READ  # not an object's line as written by most tools, or escapes that could spell the name
        at = raw.find(self.token)
        if at < 0:
            return None  # with no escape, the name is spelled as is wherever it is a key: the record has none
        start = at + len(self.named)
        if (raw.count(self.token) != 1 or raw.find(b"{", 1, at) >= 0 or raw.find(b"[", 1, at) >= 0
                or raw[at:start] != self.named or raw[start:start + 1] != b'"'):
            return NOT_READ  # named twice, maybe nested, spaced out or not a string: the parse decides
        end = raw.find(b'"', start + 1)
        if end < 0:
            return NOT_READ
        return raw[start + 1:end] or None  # "" is no key, as the pipeline reads it


def parse_lines(max_line_bytes: int, linenos: list[int], entries: list[Any]) -> list[Any]:
    """A worker's side: each raw line (bytes) of a chunk parsed to its item; items the parent parsed stay."""
    try:
        items = list(map(orjson.loads, entries))  # the common chunk: every entry a raw line holding an object
        if all(item.__class__ is dict for item in items):
            return items
    except (orjson.JSONDecodeError, TypeError):
        pass
    out: list[Any] = []
    for lineno, entry in zip(linenos, entries, strict=True):
        if entry.__class__ is bytes:
            item = jsonl_item(lineno, entry, max_line_bytes)
            # the parent sends only lines opening with `{`, never blank ones: None cannot come back
            entry = item if item is not None else Malformed(lineno, f"line {lineno} is blank.")
        out.append(entry)
    return out


__all__ = ["NOT_READ", "KeyReader", "parse_lines"]
