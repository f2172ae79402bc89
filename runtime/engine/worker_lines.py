"""JSON Lines through `--workers N`: the parent reads raw lines and routes each by a key read off its bytes;
each worker parses the lines it is given, so the parse (the main cost after the pipeline's) is shared out.

A line's key is read without a parse only where that is exact: the key field takes a top-level source
field as is, the line holds no backslash (every string is literal), names the field once, before any
nested object or array, with a plain string value. Any other line is parsed in the parent, as before.
Imports the engine's sources and items only.
"""

from __future__ import annotations

import operator
import re
import zlib
from collections.abc import Iterator
from itertools import compress
from typing import TYPE_CHECKING, Any

import orjson

from destkit.mapping.json_exact import exact_value, may_hold_long_integer
from destkit.runtime.engine.items import Malformed
from destkit.runtime.engine.sources import jsonl_item

if TYPE_CHECKING:
    from destkit.runtime.engine.sync import Sync

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_GET_EXPRESSION = re.compile(r"s\.get\(\w+\)")  # the compiled mapping of a one-part path, nothing added
NOT_READ = b"\\"  # `KeyReader.read`'s "only a parse can tell" (a key read off a line never holds a backslash)
BLOCK_BYTES = 1 << 20  # read at a time; a line may span blocks


def plain_key_name(sync: Sync) -> str | None:
    """The top-level source field whose value, as is, is a record's key (`record.get(name)`), or None when the
    key field's mapping does anything else (or there is no key field)."""
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
    return name


class KeyReader:
    """Reads a raw line's key (the value of one top-level field) from its bytes, where that is exact."""

    def __init__(self, field: str) -> None:
        self.token = orjson.dumps(field)  # the field's name as a JSON string, e.g. `"user_id"`
        self.named = self.token + b":"
        self.lead = b"{" + self.named + b'"'  # the line opening with the key's field: its key read at once
        # the value of each line of a block that opens with the key's field, in one C call (over the block after a
        # newline: a literal prefix, which `re` searches for fast, where `^` would be tried at every byte)
        self.leads = re.compile(re.escape(b"\n" + self.lead) + b'([^"\n]*)"')

    @classmethod
    def for_sync(cls, sync: Sync) -> KeyReader | None:
        """The reader for the sync's key field, when the mapping takes it as is from a top-level field."""
        name = plain_key_name(sync)
        return None if name is None else cls(name)

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


    def block_keys(self, text: bytes | None, lines: list[bytes | None]) -> list[bytes | None]:
        """`read` of each line of a block: at once when every line opens with the key's field, names it once
        and the block holds no escape (3 C calls a block); else line by line (`keys`)."""
        found = self.leading_keys(text, len(lines))
        if found is not None:
            return [key or None for key in found]
        return self.keys(lines)

    def leading_keys(self, text: bytes | None, count: int) -> list[bytes] | None:
        """Every line's key (b"" for no key) when each of the block's `count` lines opens with the key's field, names
        it once and the block holds no escape, read in 3 C calls; else None (the lines are read one by one)."""
        if text is None or b"\\" in text or text.count(self.token) != count:
            return None
        found: list[bytes] = self.leads.findall(b"\n" + text)
        return found if len(found) == count else None  # one a line, each at its start (after a newline)

    def keys(self, lines: list[bytes | None]) -> list[bytes | None]:
        """`read` of each line (NOT_READ for None, a line over the limit); the common line, which opens with the
        key's field and holds no escape, in one expression of C calls."""
        lead, start, token, read = self.lead, len(self.lead), self.token, self.read
        return [raw[start:end] or None
                if raw is not None and raw.startswith(lead) and (end := raw.find(b'"', start)) > 0 and b"\\" not in raw
                and raw.count(token) == 1
                else NOT_READ if raw is None else read(raw) for raw in lines]


def split_by_key(keys: list[bytes], workers: int, row: int) -> list[bytes]:
    """For each worker, which of a block's lines go to it (a byte a line, 1 or 0: a `compress` selector); the
    lines are rows `row + 1`... and their keys were all read off their bytes (b"": no key). As the parent routes
    one line: worker `crc32(key) % workers`, a line without a key by its row. C loops, but for lines without a key."""
    owners = bytearray(map(workers.__rmod__, map(zlib.crc32, keys)))
    for at in compress(range(len(keys)), map(operator.not_, keys)):
        owners[at] = (row + at + 1) % workers
    owned = bytes(owners)
    return [owned.translate(_owned_by(index)) for index in range(workers)]


def _owned_by(index: int) -> bytes:
    """The table `bytes.translate` turns a block's owner bytes with into 1 for worker `index`'s lines, else 0."""
    table = bytearray(256)
    table[index] = 1
    return bytes(table)


def parse_lines(max_line_bytes: int, linenos: list[int], entries: list[Any]) -> Iterator[Any]:
    """A worker's side: each raw line (bytes) of a chunk parsed to its item as the pipeline takes it (a chunk
    parsed at once would keep a thousand young records alive for the collector to scan); items the parent
    parsed pass as they are."""
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    for lineno, entry in zip(linenos, entries, strict=True):
        if entry.__class__ is bytes:
            try:
                value = loads(entry)
            except decode_error:
                value = None
            if value.__class__ is not dict:
                # the parent sends only lines opening with `{`, never blank ones: None cannot come back
                value = jsonl_item(lineno, entry, max_line_bytes) or Malformed(lineno, f"line {lineno} is blank.")
            elif may_hold_long_integer(entry):
                value = exact_value(entry, value)
            yield value
        else:
            yield entry


__all__ = ["BLOCK_BYTES", "NOT_READ", "KeyReader", "parse_lines", "plain_key_name", "split_by_key"]
