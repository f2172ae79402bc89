"""The request body template of the spec language: `$field`, `$settings.name`, `$records`/`$record`,
`$operation` (`add`, or `remove` in an action's removal request), `$session.name` (per-request counters),
the `$$` escape and positional records (`{$columns: ...}`, see models.PositionalRecord); and the
envelope (`{contacts: $records}`) rendered once into a prefix and a suffix so a batch body is
`prefix + b",".join(parts) + suffix`, its size known before it is built.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

import orjson

from destkit.runtime.spec.models import PositionalRecord

_SENTINEL = "\x00destkit-records\x00"
OPERATION = "operation"
ADD, REMOVE = "add", "remove"  # what `$operation` stands for in an action's request, and in its removal request

# The per-request values a body may name as `$session.<name>`: the run's session id (an integer, the same
# on every request of one invocation), the request's number in build order (1, 2, 3 ...) and whether it is
# the invocation's final request. Each renders in at most 20 bytes, less than its placeholder, so an
# envelope's size stays an upper bound of every body built from it.
SESSION_VALUES = ("id", "batch_seq", "last_batch")


def _session_placeholder(name: str) -> str:
    """What a `$session.<name>` stands as while the envelope is rendered (no template can write it)."""
    return f"\x00destkit-session:{name}\x00"


def _session_token(name: str) -> bytes:
    """The placeholder as it reads in the rendered envelope: a JSON string the value replaces."""
    return orjson.dumps(_session_placeholder(name))


def unknown_session_message(name: str) -> str:
    """Why `$session.<name>` is refused, with the name probably meant."""
    close = get_close_matches(name, SESSION_VALUES, n=1)
    hint = f"did you mean $session.{close[0]}? " if close else ""
    return (f"$session.{name} is not a session value; {hint}the body may use "
            + ", ".join(f"$session.{n}" for n in SESSION_VALUES))


MERGE = "$merge"
"""`{$merge: [$object_field, {key: $field}]}` in a record template: the objects merged, a later key winning."""


def is_key_template(key: object) -> bool:
    """An object key written as a template over settings (`"{{ settings.list_id }}"`), rendered per sync."""
    return isinstance(key, str) and "{{" in key


@dataclass(frozen=True)
class Ref:
    kind: str  # "field" | "setting" | "session" | "records" | "record" | "operation"
    name: str


def parse_ref(value: Any) -> Ref | None:
    """`$external_reference_id` → Ref('field', ...); `$settings.x` → Ref('setting', 'x'); else None."""
    if not isinstance(value, str) or not value.startswith("$") or value.startswith("$$"):
        return None
    name = value[1:]
    if name == "records":
        return Ref("records", "")
    if name == "record":
        return Ref("record", "")
    if name == OPERATION:
        return Ref(OPERATION, "")
    if name.startswith("settings."):
        return Ref("setting", name[len("settings."):])
    if name.startswith("session."):
        return Ref("session", name[len("session."):])
    return Ref("field", name)


def literal(value: Any) -> Any:
    """Undo the `$$` escape in constants."""
    if isinstance(value, str) and value.startswith("$$"):
        return value[1:]
    if isinstance(value, dict):
        return {k: literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [literal(v) for v in value]
    return value


def refs_in(template: Any) -> list[Ref]:
    """Every reference in a template, in order (for the spec checker)."""
    out: list[Ref] = []
    ref = parse_ref(template)
    if ref is not None:
        out.append(ref)
    elif isinstance(template, PositionalRecord):
        out += refs_in(list(template.columns.values()))
    elif isinstance(template, dict) and "$map" in template:
        out += refs_in(template["$map"])
    elif isinstance(template, dict):
        for v in template.values():
            out += refs_in(v)
    elif isinstance(template, list):
        for v in template:
            out += refs_in(v)
    return out


def _objects_in(template: Any) -> Iterator[dict[str, Any]]:
    """Every object in a template, each before the objects inside it."""
    if isinstance(template, dict):
        yield template
        for v in template.values():
            yield from _objects_in(v)
    elif isinstance(template, list):
        for v in template:
            yield from _objects_in(v)


def merges_in(template: Any) -> list[Any]:
    """The value under every `$merge` in a template (for the loader's checks)."""
    return [obj[MERGE] for obj in _objects_in(template) if MERGE in obj]


def key_templates_in(template: Any) -> list[str]:
    """Every object key written as a template over settings (for the loader's and checker's checks)."""
    return [k for obj in _objects_in(template) for k in obj if is_key_template(k)]


def field_path(template: Any, name: str) -> list[str | int] | None:
    """Where a plain `$name` sits in a record body built from `template` (keys and list positions), or None.

    Only where the body holds the value as is: not under a key template, a `$merge` or a value map, and in a
    list only before any entry that may be absent (an absent entry would shift the positions after it).
    """
    if isinstance(template, PositionalRecord):
        columns = list(template.columns.values())
        return [columns.index("$" + name)] if "$" + name in columns else None
    if template == "$" + name:
        return []
    if isinstance(template, dict) and "$map" not in template and MERGE not in template:
        for key, value in template.items():
            inner = None if is_key_template(key) else field_path(value, name)
            if inner is not None:
                return [key, *inner]
    if isinstance(template, list):
        for i, value in enumerate(template):
            inner = field_path(value, name)
            if inner is not None:
                return [i, *inner]
            if refs_in(value):
                return None  # a later position depends on whether this entry is present
    return None


@dataclass(frozen=True)
class Envelope:
    """The request body around the records: `prefix + parts joined by ',' + suffix`."""

    prefix: bytes
    suffix: bytes
    single: bool  # $record: exactly one record body, not a list
    empty: bool = False  # body: null — the request carries no body at all
    session: tuple[str, ...] = ()  # the `$session.<name>` values the body holds, each filled per request

    def size(self, parts_bytes: int, count: int) -> int:
        """The body's size (an upper bound when it holds session values: each counts as its placeholder)."""
        return len(self.prefix) + len(self.suffix) + parts_bytes + max(count - 1, 0)

    def join(self, parts: list[bytes], session: Mapping[str, Any] | None = None) -> bytes:
        """The body of a request carrying `parts`; `session` holds the request's counters (see SESSION_VALUES)."""
        if self.empty:
            return b""
        if not self.session:
            return framed(self.prefix, parts, self.suffix)
        prefix, suffix = self.prefix, self.suffix
        for name in self.session:
            value = orjson.dumps(None if session is None else session.get(name))
            prefix = prefix.replace(_session_token(name), value)
            suffix = suffix.replace(_session_token(name), value)
        return framed(prefix, parts, suffix)


def framed(prefix: bytes, parts: list[bytes], suffix: bytes) -> bytes:
    """`prefix + b",".join(parts) + suffix`, the body copied once: each `+` copies all of it into a fresh
    buffer that large (~250 KB for 1,000 W1 records), page-faulted in anew (0.33-0.49 ms a body in a run, 0.24-0.26 now)."""
    if len(parts) < 2:
        return prefix + b"".join(parts) + suffix
    return b",".join([prefix + parts[0], *parts[1:-1], parts[-1] + suffix])


def _substitute(node: Any, settings: Mapping[str, Any], found: list[str], operation: str) -> Any:
    ref = parse_ref(node)
    if ref is not None:
        if ref.kind in ("records", "record"):
            found.append(ref.kind)
            return _SENTINEL
        if ref.kind == "setting":
            return settings.get(ref.name)
        if ref.kind == OPERATION:
            return operation
        if ref.kind == "session":
            if ref.name not in SESSION_VALUES:
                raise ValueError(unknown_session_message(ref.name))
            found.append("session." + ref.name)
            return _session_placeholder(ref.name)
        raise ValueError(f"${ref.name} cannot stand in the request body; use it in `record:`")
    if isinstance(node, dict):
        return {k: _substitute(v, settings, found, operation) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, settings, found, operation) for v in node]
    return literal(node)


def build_envelope(body: Any, settings: Mapping[str, Any], operation: str = ADD) -> Envelope:
    """The envelope of `body` with its settings and `$operation` (`add`, or `remove` for a removal) filled in."""
    if body is None:
        return Envelope(b"", b"", True, empty=True)
    found: list[str] = []
    rendered = _substitute(body, settings, found, operation)
    records = [kind for kind in found if kind in ("records", "record")]
    session = tuple(dict.fromkeys(kind[len("session."):] for kind in found if kind.startswith("session.")))
    if len(records) != 1:
        raise ValueError("the request body must contain $records (or $record) exactly once")
    single = records[0] == "record"
    text = orjson.dumps(rendered)
    token = orjson.dumps(_SENTINEL)
    prefix, _, suffix = text.partition(token)
    if single:
        return Envelope(prefix, suffix, True, session=session)
    return Envelope(prefix + b"[", b"]" + suffix, False, session=session)
