"""Hypothesis strategies derived from an action's field schema.

`valid_records` draws records the runtime must accept; `broken_records` draws records that are
valid except for exactly one named breakage, together with the reason code and field the runtime
must report for it. Records are keyed by the action's field names, so they go through
`identity_mapping(spec, action_id)` (every field mapped from the same-named source field).

The expectations follow destkit's checks (`destkit.runtime.record.checks`) where those are the contract
(reason codes, check order, what counts as empty) and JSON Schema where the runtime must agree
with it: a `pattern` is matched the ECMA-262 way, so ``$`` does not match before a final newline.
A breakage is only offered when the schema makes it possible (no `too_long` without `maxLength`).

    from hypothesis import given
    from destkit.testing import broken_records, identity_mapping, valid_records

    @given(valid_records("hello_charles", "send_contacts", catalogs={"tags": ["vip"]}))
    def test_accepted(record): ...
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from destkit.runtime.record.checks import is_date, is_datetime, strict_email
from destkit.runtime.spec.loader import load_spec
from destkit.runtime.spec.models import ActionSpec, DestinationSpec, FieldSchema
from destkit.runtime.spec.vocabulary import E164

__all__ = [
    "Breakage",
    "BrokenRecord",
    "CatalogsArg",
    "breakages",
    "broken_records",
    "field_values",
    "identity_mapping",
    "normalize_catalogs",
    "pattern_matches",
    "resolve_spec",
    "valid_records",
]

CatalogsArg = Mapping[str, Sequence[str] | Mapping[str, str]] | None
"""Catalog values by catalog name, as in a sync config: a list, or a mapping value → display label."""

_LENIENT_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_MAX_TEXT = 40  # unconstrained strings stay short: records are many, and long strings find nothing new
_MAX_TOO_LONG = 100_000  # past this an over-long value is a too_large record, another breakage

# Text from the whole of Unicode except surrogates (JSON cannot carry them): names in any script,
# emoji, combining marks and control characters are all things a CDP export holds.
_TEXT = st.characters(codec="utf-8")
_SCALARS: SearchStrategy[Any] = st.one_of(
    st.text(_TEXT, max_size=12),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
_JSON: SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(_TEXT, min_size=1, max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


class BrokenRecord(NamedTuple):
    """A record valid except for one breakage, and what the runtime must say about it."""

    record: dict[str, Any]
    reason: str
    field: str


@dataclass(frozen=True)
class Breakage:
    """One way to break one field: the value to put there (or `None`: leave the field out)."""

    kind: str
    field: str
    reason: str
    description: str
    values: SearchStrategy[Any] | None

    def records(self, base: SearchStrategy[dict[str, Any]]) -> SearchStrategy[BrokenRecord]:
        """Records from `base` with this breakage applied."""
        if self.values is None:
            return base.map(self._drop)
        return st.tuples(base, self.values).map(self._put)

    def _drop(self, record: dict[str, Any]) -> BrokenRecord:
        out = dict(record)
        out.pop(self.field, None)
        return BrokenRecord(out, self.reason, self.field)

    def _put(self, pair: tuple[dict[str, Any], Any]) -> BrokenRecord:
        record, value = pair
        return BrokenRecord({**record, self.field: value}, self.reason, self.field)

    @property
    def label(self) -> str:
        return f"{self.kind}({self.field})"


# --- inputs ----------------------------------------------------------------------------------------


def resolve_spec(spec: str | Path | DestinationSpec) -> DestinationSpec:
    """A DestinationSpec from itself, a bundled id or a spec file path."""
    return spec if isinstance(spec, DestinationSpec) else load_spec(spec)


def _action(spec: str | Path | DestinationSpec, action_id: str) -> tuple[DestinationSpec, ActionSpec]:
    loaded = resolve_spec(spec)
    if action_id not in loaded.actions:
        raise KeyError(
            f"'{action_id}' is not an action of {loaded.name}; use one of {', '.join(loaded.actions)}"
        )
    return loaded, loaded.actions[action_id]


def normalize_catalogs(catalogs: CatalogsArg) -> dict[str, dict[str, str | None]]:
    """Catalogs as {name: {value: display label or None}}."""
    out: dict[str, dict[str, str | None]] = {}
    for name, given in (catalogs or {}).items():
        if isinstance(given, Mapping):
            out[name] = {str(v): (None if label is None else str(label)) for v, label in given.items()}
        else:
            out[name] = {str(v): None for v in given}
    return out


def identity_mapping(spec: str | Path | DestinationSpec, action_id: str) -> dict[str, str]:
    """Each field of the action mapped from the source field of the same name."""
    _, action = _action(spec, action_id)
    return {name: name for name in action.fields}


def _catalog_of(f: FieldSchema) -> str | None:
    return f.catalog or (f.items.catalog if f.items else None)


# --- what the runtime says about a string (mirrors destkit.runtime.record.checks, in its order) -------------


def _ecma(pattern: str) -> str:
    """`pattern` with every bare ``$`` made an end-of-input anchor, as in ECMA-262 (JSON Schema)."""
    out: list[str] = []
    in_class = escaped = False
    for ch in pattern:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif in_class:
            out.append(ch)
            in_class = ch != "]"
        elif ch == "[":
            out.append(ch)
            in_class = True
        elif ch == "$":
            out.append(r"(?!\n)$")
        else:
            out.append(ch)
    return "".join(out)


def pattern_matches(pattern: str, value: str) -> bool:
    """JSON Schema's `pattern`: a search, with ``$`` matching only at the very end."""
    return re.search(_ecma(pattern), value) is not None


def _format_ok(f: FieldSchema, value: str) -> bool:
    if f.format == "e164":
        return E164.fullmatch(value) is not None
    if f.format == "email":
        return (
            strict_email(value) if f.strictness == "strict" else _LENIENT_EMAIL.fullmatch(value) is not None
        )
    if f.format == "date":
        return is_date(value)
    if f.format == "date-time":
        return is_datetime(value)
    return True


_FORMAT_REASON = {
    "e164": "invalid_phone",
    "email": "invalid_email",
    "date": "invalid_value",
    "date-time": "invalid_value",
}


def _string_reason(f: FieldSchema, value: str, required: bool) -> str | None:
    """The reason code a string in this single-type string field gets (None: accepted or absent)."""
    if value == "" or (required and value.isspace()):
        return "missing_required" if required else None
    if f.maxLength is not None and len(value) > f.maxLength:
        return "too_long"
    if f.minLength and len(value) < f.minLength:
        return "invalid_value"
    if f.format is not None and not _format_ok(f, value):
        return _FORMAT_REASON[f.format]
    if f.pattern is not None and not pattern_matches(f.pattern, value):
        return "invalid_value"
    if f.enum is not None and value not in f.enum:
        return "invalid_value"
    return None


# --- valid values -------------------------------------------------------------------------------------


def _emails(strict: bool) -> SearchStrategy[str]:
    local = st.from_regex(r"[a-z0-9]{1,12}(\.[a-z0-9]{1,8})?", fullmatch=True)
    domain = st.from_regex(r"[a-z][a-z0-9]{0,11}", fullmatch=True)
    tld = st.sampled_from(["com", "org", "net", "de", "io", "co"])
    return st.builds(lambda a, b, c: f"{a}@{b}.{c}", local, domain, tld)


def _dates() -> SearchStrategy[str]:
    return st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(date.isoformat)


def _datetimes() -> SearchStrategy[str]:
    moments = st.datetimes(datetime(1900, 1, 1), datetime(2100, 12, 31))  # naive; half get UTC below
    return st.tuples(moments, st.booleans()).map(lambda t: (t[0].replace(tzinfo=UTC) if t[1] else t[0]).isoformat())


def _strings(f: FieldSchema, required: bool, *, use_enum: bool = True) -> SearchStrategy[str]:
    if use_enum and f.enum is not None:
        allowed = [v for v in f.enum if isinstance(v, str) and _string_reason(f, v, required) is None]
        if not allowed:
            return st.nothing()
        return st.sampled_from(allowed)
    if f.format == "e164":
        base: SearchStrategy[str] = st.from_regex(E164, fullmatch=True)
    elif f.format == "email":
        base = _emails(f.strictness == "strict")
    elif f.format == "date":
        base = _dates()
    elif f.format == "date-time":
        base = _datetimes()
    elif f.pattern is not None:
        base = st.from_regex(f.pattern, fullmatch=True)
    else:
        low = max(f.minLength or 0, 1 if required else 0)
        high = max(low, min(f.maxLength or _MAX_TEXT, _MAX_TEXT))
        base = st.text(_TEXT, min_size=low, max_size=high)
    shape = f.model_copy(update={"enum": None}) if not use_enum else f
    return base.filter(lambda v: v != "" and _string_reason(shape, v, required) is None)


def _numbers(f: FieldSchema, integer: bool) -> SearchStrategy[Any]:
    if f.enum is not None:
        allowed = [
            v
            for v in f.enum
            if isinstance(v, int | float)
            and not isinstance(v, bool)
            and (not integer or float(v).is_integer())
        ]
        return st.sampled_from(allowed) if allowed else st.nothing()
    ints = st.integers(-(2**53), 2**53)
    if integer:
        return ints
    return ints | st.floats(allow_nan=False, allow_infinity=False)


def _single(
    ty: str, f: FieldSchema, catalogs: dict[str, dict[str, str | None]], required: bool
) -> SearchStrategy[Any]:
    if ty == "string":
        return _strings(f, required)
    if ty in ("number", "integer"):
        return _numbers(f, ty == "integer")
    if ty == "boolean":
        if f.enum is not None:
            allowed = [v for v in f.enum if isinstance(v, bool)]
            return st.sampled_from(allowed) if allowed else st.nothing()
        return st.booleans()
    if ty == "array":
        low = 1 if required else 0
        high = max(low, min(f.maxItems or 4, 4))
        catalog = _catalog_of(f)
        if catalog is not None:
            values = sorted(catalogs.get(catalog, {}))
            if not values:
                return st.nothing() if required else st.just([])
            items: SearchStrategy[Any] = st.sampled_from(values)
        elif f.items is not None:
            items = _value(f.items, catalogs, required=False, allow_none=False)
        else:
            items = _SCALARS
        return st.lists(items, min_size=low, max_size=high)
    if ty == "object":
        low = 1 if required else 0
        if f.keys_catalog is not None:
            names = sorted(catalogs.get(f.keys_catalog, {}))
            if not names:
                return st.nothing() if required else st.just({})
            keys: SearchStrategy[str] = st.sampled_from(names)
        else:
            keys = st.text(_TEXT, min_size=1, max_size=12)
        entries = (
            _value(f.values, catalogs, required=False, allow_none=False) if f.values is not None else _JSON
        )
        return st.dictionaries(keys, entries, min_size=low, max_size=3)
    raise ValueError(f"unknown field type {ty!r}")


def _value(
    f: FieldSchema, catalogs: dict[str, dict[str, str | None]], *, required: bool, allow_none: bool
) -> SearchStrategy[Any]:
    types = f.types
    if len(types) == 1:
        strategy = _single(types[0], f, catalogs, required)
    else:
        # the runtime checks only the class of a multi-type value (and its enum)
        plain = f.model_copy(update={"maxLength": None, "minLength": None, "pattern": None, "format": None})
        strategy = st.one_of([_single(t, plain, catalogs, required) for t in types])
        if f.enum is not None:
            strategy = st.sampled_from(list(f.enum))
    if allow_none:
        strategy = st.one_of(strategy, strategy, strategy, st.none())
    return strategy


def field_values(
    f: FieldSchema, catalogs: CatalogsArg = None, *, required: bool | None = None
) -> SearchStrategy[Any]:
    """Values of one field that the runtime accepts and sends (never empty when required)."""
    req = f.required if required is None else required
    return _value(f, normalize_catalogs(catalogs), required=req, allow_none=False)


def _valid(action: ActionSpec, catalogs: dict[str, dict[str, str | None]]) -> SearchStrategy[dict[str, Any]]:
    required: dict[str, SearchStrategy[Any]] = {}
    optional: dict[str, SearchStrategy[Any]] = {}
    for name, f in action.fields.items():
        catalog = _catalog_of(f) or f.keys_catalog
        if f.required:
            if catalog is not None and not catalogs.get(catalog):
                raise ValueError(
                    f"field {name} is required and takes values from the {catalog} catalog; "
                    f"pass catalogs={{'{catalog}': [...]}}"
                )
            required[name] = _value(f, catalogs, required=True, allow_none=False)
        elif catalog is None or catalogs.get(catalog):
            optional[name] = _value(f, catalogs, required=False, allow_none=True)
    records = st.fixed_dictionaries(required, optional=optional)
    for rule in action.constraints:  # e.g. one_of: at least one identifier has a value
        names = [n for n in rule.one_of if n in optional or n in required]
        if not names:
            continue
        def ensure(r: dict[str, Any], names: list[str] = names) -> SearchStrategy[dict[str, Any]]:
            return _ensure_one_of(r, names, action, catalogs)

        records = records.flatmap(ensure)
    return records


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _ensure_one_of(record: dict[str, Any], names: list[str], action: ActionSpec,
                   catalogs: dict[str, dict[str, str | None]]) -> SearchStrategy[dict[str, Any]]:
    if any(_present(record.get(n)) for n in names):
        return st.just(record)
    return st.sampled_from(names).flatmap(
        lambda n: _value(action.fields[n], catalogs, required=True, allow_none=False).map(lambda v: {**record, n: v}))


def valid_records(
    spec: str | Path | DestinationSpec, action_id: str, catalogs: CatalogsArg = None
) -> SearchStrategy[dict[str, Any]]:
    """Records (keyed by field name) that the action's checks accept: every one is sent.

    Required fields are always present and non-empty; optional ones may be absent or None.
    Catalog fields take values from `catalogs`; without a catalog an optional catalog field is
    left out (a required one raises ValueError).
    """
    _, action = _action(spec, action_id)
    return _valid(action, normalize_catalogs(catalogs))


# --- breakages -------------------------------------------------------------------------------------

_BAD_PHONES = [
    "+1 555 0100",
    "0151 1234567",
    "(555) 123-4567",
    "15551234567",
    "+0123456789",
    "+1555",
    "+15551234567\n",
    "+49-151-1234567",
    "phone",
]
_BAD_EMAILS = ["not-an-email", "a@b@c", "two words@example.com", "@example.com", "user@", "user example.com"]
_BAD_DATES = ["not a date", "31/12/2024", "2024/01/01", "20240101", "2024-1-1"]
_IMPOSSIBLE_DATES = ["2023-02-30", "2024-13-01", "2024-00-10", "2024-04-31"]
_BAD_DATETIMES = ["not a time", "2024-01-01", "01/02/2024 10:00", "2024-01-01T25"]
_IMPOSSIBLE_DATETIMES = ["2024-13-01T10:00:00Z", "2024-01-01T25:00:00Z", "2023-02-30T10:00:00Z"]
_PATTERN_MISSES = ["has space", "-", "!", "+1 555 0100", "a\tb", "ünïcödé", "x" * 64, "a/b", "0", "Z"]
_WRONG_TYPES: dict[str, list[Any]] = {
    "string": [{"not": "a string"}, ["not a string"], True],
    "number": ["not a number", True, {"n": 1}],
    "integer": ["not a number", True, 1.5],
    "boolean": ["maybe", 2, [True]],
    "object": [["not", "an", "object"], 42, "not json"],
    "array": [{"not": "a list"}],
}


def _fits(f: FieldSchema, required: bool, reason: str) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and _string_reason(f, v, required) == reason


def _string_breakages(name: str, f: FieldSchema, valid: SearchStrategy[str]) -> list[Breakage]:
    out: list[Breakage] = []
    req = f.required

    def add(kind: str, reason: str, description: str, values: SearchStrategy[Any]) -> None:
        out.append(Breakage(kind, name, reason, description, values))

    if f.maxLength is not None and f.maxLength < _MAX_TOO_LONG:
        n = f.maxLength
        add(
            "too_long",
            "too_long",
            f"a string over maxLength {n}",
            st.integers(n + 1, n + 20)
            .flatmap(lambda k: st.text(_TEXT, min_size=k, max_size=k))
            .filter(lambda v: not (req and v.isspace())),
        )
    if f.minLength and f.minLength > 1:
        add(
            "too_short",
            "invalid_value",
            f"a string under minLength {f.minLength}",
            st.text(_TEXT, min_size=1, max_size=f.minLength - 1).filter(_fits(f, req, "invalid_value")),
        )
    plain_valid = valid

    def candidates(kind: str, reason: str, description: str, values: list[str]) -> None:
        ok = [v for v in values if _string_reason(f, v, req) == reason]
        if ok:
            add(kind, reason, description, st.sampled_from(ok))

    if f.format == "e164":
        candidates("bad_phone", "invalid_phone", "a phone number not in E.164", _BAD_PHONES)
    elif f.format == "email":
        candidates("bad_email", "invalid_email", "a value that is not an email address", _BAD_EMAILS)
    elif f.format == "date":
        candidates("bad_date", "invalid_value", "a value not shaped YYYY-MM-DD", _BAD_DATES)
        candidates(
            "impossible_date", "invalid_value", "a YYYY-MM-DD value that is no date", _IMPOSSIBLE_DATES
        )
    elif f.format == "date-time":
        candidates(
            "bad_datetime", "invalid_value", "a value that is not an RFC 3339 date-time", _BAD_DATETIMES
        )
        candidates(
            "impossible_datetime",
            "invalid_value",
            "a date-time-shaped value that is no moment",
            _IMPOSSIBLE_DATETIMES,
        )
    if f.pattern is not None:
        misses = st.one_of(
            st.sampled_from(_PATTERN_MISSES),
            plain_valid.map(lambda v: f" {v} "),
            plain_valid.map(lambda v: v + "!"),
            st.text(_TEXT, min_size=1, max_size=12),
        ).filter(_fits(f, req, "invalid_value"))
        add("pattern", "invalid_value", f"a string that does not match {f.pattern}", misses)
        newline = plain_valid.map(lambda v: v + "\n").filter(_fits(f, req, "invalid_value"))
        if _ecma(f.pattern) != f.pattern:  # only a pattern with `$` can be fooled by a final newline
            add(
                "pattern_trailing_newline",
                "invalid_value",
                f"a value matching {f.pattern} but for a final newline (JSON Schema's $ does not match before it)",
                newline,
            )
    if f.enum is not None:
        others = _strings(f, req, use_enum=False).filter(lambda v: v not in (f.enum or []))
        add("not_in_enum", "invalid_value", f"a string not among {f.enum}", others)
    return out


def _looked_up(action: ActionSpec, name: str) -> bool:
    """Whether the runtime looks `name` up by the record's key when it is empty (`resolve:`)."""
    key = action.batch.key or next((n for n, f in action.fields.items() if f.required), None)
    return key is not None and key != name and key in action.fields


_CLASSES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _classes(types: Sequence[str]) -> set[type]:
    return {c for t in types for c in _CLASSES[t]}


def _breakages(
    spec: DestinationSpec, action: ActionSpec, catalogs: dict[str, dict[str, str | None]]
) -> list[Breakage]:
    def catalog_reason(name: str) -> str:
        found = spec.catalogs.get(name)
        return found.reason if found is not None else "unknown_value"

    out: list[Breakage] = []
    for name, f in action.fields.items():
        types = f.types
        if f.required:
            if f.resolve is not None and _looked_up(action, name):
                out.append(
                    Breakage(
                        "missing_required",
                        name,
                        "unresolved_id",
                        f"{name} left out: it is looked up ({f.resolve}) and there is nothing to find",
                        None,
                    )
                )
            else:
                out.append(Breakage("missing_required", name, "missing_required", f"{name} left out", None))
        if len(types) > 1:
            allowed = _classes(types)
            if "array" in types and "string" not in types:
                wrong: list[Any] = []  # the mapping wraps anything into a list
            else:
                wrong = [
                    v
                    for v in ([["a", "list"]], {"an": "object"}, True, "text", 3, 1.5)
                    if type(v) not in allowed and not (isinstance(v, str) and "object" in types)
                ]
            if wrong:
                out.append(
                    Breakage(
                        "wrong_type",
                        name,
                        "type_mismatch",
                        f"a value that is not {' or '.join(types)}",
                        st.sampled_from(wrong),
                    )
                )
            if f.enum is not None:
                outside = [v for v in ("not-in-enum", -12345, 0.5) if v not in f.enum and type(v) in allowed]
                if outside:
                    out.append(
                        Breakage(
                            "not_in_enum",
                            name,
                            "invalid_value",
                            f"a value not among {f.enum}",
                            st.sampled_from(outside),
                        )
                    )
            continue
        ty = types[0]
        catalog = _catalog_of(f)
        if ty == "array" and catalog is None and f.items is None:
            pass  # any list is acceptable, and anything else is wrapped into one
        else:
            out.append(
                Breakage(
                    "wrong_type",
                    name,
                    "type_mismatch",
                    f"a value that is not {ty}",
                    st.sampled_from(_WRONG_TYPES[ty]),
                )
            )
        if ty == "string":
            out += _string_breakages(name, f, _strings(f, f.required))
        elif ty in ("number", "integer") and f.enum is not None:
            nums = [v for v in f.enum if isinstance(v, int | float) and not isinstance(v, bool)]
            beyond = (max(nums) + 1) if nums else 12345
            out.append(
                Breakage(
                    "not_in_enum", name, "invalid_value", f"a number not among {f.enum}", st.just(beyond)
                )
            )
        elif ty == "boolean" and f.enum is not None and len({v for v in f.enum if isinstance(v, bool)}) == 1:
            out.append(
                Breakage(
                    "not_in_enum",
                    name,
                    "invalid_value",
                    f"a boolean not among {f.enum}",
                    st.just(not next(v for v in f.enum if isinstance(v, bool))),
                )
            )
        elif ty == "array":
            values = catalogs.get(catalog, {}) if catalog else {}
            if catalog is not None:
                reason = catalog_reason(catalog)
                unknown = st.sampled_from(
                    [
                        v
                        for v in ("destkit_unknown_entry", "Destkit Unknown Entry", "ghost-value")
                        if v not in values
                    ]
                )
                known = st.lists(st.sampled_from(sorted(values)), max_size=2) if values else st.just([])
                out.append(
                    Breakage(
                        "unknown_catalog_value",
                        name,
                        reason,
                        f"an entry that is not in the {catalog} catalog",
                        st.tuples(known, unknown).map(lambda p: [*p[0], p[1]]),
                    )
                )
            if f.maxItems is not None:
                item = (
                    st.sampled_from(sorted(values))
                    if values
                    else (
                        _value(f.items, catalogs, required=False, allow_none=False) if f.items else _SCALARS
                    )
                )
                if catalog is None or values:
                    out.append(
                        Breakage(
                            "too_many_items",
                            name,
                            "invalid_value",
                            f"more than maxItems {f.maxItems} items",
                            st.lists(item, min_size=f.maxItems + 1, max_size=f.maxItems + 3),
                        )
                    )
        elif ty == "object":
            keys = catalogs.get(f.keys_catalog, {}) if f.keys_catalog else {}
            value_strategy = (
                _value(f.values, catalogs, required=False, allow_none=False) if f.values else _SCALARS
            )
            if f.keys_catalog is not None:
                reason = catalog_reason(f.keys_catalog)
                labels = _display_names(keys)
                if labels:
                    out.append(
                        Breakage(
                            "display_name_key",
                            name,
                            reason,
                            f"a key that is the display name of a {f.keys_catalog} entry, not its technical name",
                            st.tuples(st.sampled_from(labels), value_strategy).map(lambda p: {p[0][0]: p[1]}),
                        )
                    )
                out.append(
                    Breakage(
                        "unknown_key",
                        name,
                        reason,
                        f"a key that is not in the {f.keys_catalog} catalog",
                        st.tuples(
                            st.sampled_from([k for k in ("destkit_unknown_key", "ghost") if k not in keys]),
                            value_strategy,
                        ).map(lambda p: {p[0]: p[1]}),
                    )
                )
            if f.values is not None and (f.keys_catalog is None or keys):
                allowed = _classes(f.values.types)
                wrong = [
                    v
                    for v in (["a", "list"], {"nested": "object"}, "text", 1.5, True)
                    if type(v) not in allowed
                ]
                key_strategy = (
                    st.sampled_from(sorted(keys))
                    if f.keys_catalog
                    else st.text(_TEXT, min_size=1, max_size=8)
                )
                if wrong:
                    out.append(
                        Breakage(
                            "wrong_value_type",
                            name,
                            "type_mismatch",
                            f"a value that is not {' or '.join(f.values.types)}",
                            st.tuples(key_strategy, st.sampled_from(wrong)).map(lambda p: {p[0]: p[1]}),
                        )
                    )
    return out


def _display_names(entries: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """(display name, technical name) pairs where the display name is not itself a technical name."""
    out = []
    for value, label in sorted(entries.items()):
        for shown in (label, value.replace("_", " ").replace("-", " ").title()):
            if shown and shown not in entries:
                out.append((shown, value))
                break
    return out


def breakages(
    spec: str | Path | DestinationSpec, action_id: str, catalogs: CatalogsArg = None
) -> list[Breakage]:
    """Every breakage the action's schema makes possible, one per (kind, field)."""
    loaded, action = _action(spec, action_id)
    return _breakages(loaded, action, normalize_catalogs(catalogs))


def broken_records(
    spec: str | Path | DestinationSpec, action_id: str, catalogs: CatalogsArg = None
) -> SearchStrategy[BrokenRecord]:
    """`(record, expected_reason, field)`: a valid record but for one breakage of one field."""
    loaded, action = _action(spec, action_id)
    cats = normalize_catalogs(catalogs)
    found = _breakages(loaded, action, cats)
    if not found:
        return st.nothing()
    base = _valid(action, cats)
    return st.sampled_from(found).flatmap(lambda b: b.records(base))
