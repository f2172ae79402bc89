"""Ways to break one field of a record, and the reason code and field the runtime must report.

Every way is a small builder, `(FieldUnderTest) -> breakages`, listed in `BREAKAGE_BUILDERS` in
the order their breakages are offered; a builder offers nothing where the field's schema makes
its breakage impossible (no `too_long` without `maxLength`). `breakages_of` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from destkit.runtime.outcomes import Reason
from destkit.runtime.spec.models import ActionSpec, DestinationSpec, FieldSchema
from destkit.runtime.spec.vocabulary import key_field
from destkit.testing.expectations import catalog_of, ecma_pattern, string_reason
from destkit.testing.values import SCALARS, TEXT, Catalogs, string_values, values_of

__all__ = [
    "BREAKAGE_BUILDERS",
    "Breakage",
    "BreakageBuilder",
    "BrokenRecord",
    "FieldUnderTest",
    "breakages_of",
]

_MAX_TOO_LONG = 100_000  # past this an over-long value is a too_large record, another breakage


class BrokenRecord(NamedTuple):
    """A record valid except for one breakage, and what the runtime must say about it."""

    record: dict[str, Any]
    reason: Reason
    field: str


@dataclass(frozen=True)
class Breakage:
    """One way to break one field: the value to put there (or `None`: leave the field out)."""

    kind: str
    field: str
    reason: Reason
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


@dataclass(frozen=True)
class FieldUnderTest:
    """One field of one action, with what the breakage builders ask about it."""

    name: str
    schema: FieldSchema
    spec: DestinationSpec
    action: ActionSpec
    catalogs: Catalogs

    @property
    def type(self) -> str | None:
        """The field's one type; None when it allows several."""
        types = self.schema.types
        return types[0] if len(types) == 1 else None

    def breakage(
        self, kind: str, reason: Reason, description: str, values: SearchStrategy[Any] | None
    ) -> Breakage:
        return Breakage(kind, self.name, reason, description, values)

    def catalog_reason(self, catalog: str) -> Reason:
        """The reason code of a value missing from `catalog` (the spec's catalog says which)."""
        found = self.spec.catalogs.get(catalog)
        return Reason(found.reason) if found is not None else Reason.UNKNOWN_VALUE

    def entries(self, catalog: str | None) -> Mapping[str, str | None]:
        """The given entries of `catalog` (none for no catalog)."""
        return self.catalogs.get(catalog, {}) if catalog else {}

    def looked_up(self) -> bool:
        """Whether the runtime looks this field up by the record's key when it is empty (`resolve:`)."""
        key = key_field(self.action)
        return key is not None and key != self.name and key in self.action.fields


BreakageBuilder = Callable[[FieldUnderTest], Iterator[Breakage]]

# --- values that break a field --------------------------------------------------------------------

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
# (kind, reason, description, candidate values) per string format
_FORMAT_BREAKAGES: dict[str, list[tuple[str, Reason, str, list[str]]]] = {
    "e164": [("bad_phone", Reason.INVALID_PHONE, "a phone number not in E.164", _BAD_PHONES)],
    "email": [("bad_email", Reason.INVALID_EMAIL, "a value that is not an email address", _BAD_EMAILS)],
    "date": [
        ("bad_date", Reason.INVALID_VALUE, "a value not shaped YYYY-MM-DD", _BAD_DATES),
        ("impossible_date", Reason.INVALID_VALUE, "a YYYY-MM-DD value that is no date", _IMPOSSIBLE_DATES),
    ],
    "date-time": [
        ("bad_datetime", Reason.INVALID_VALUE, "a value that is not an RFC 3339 date-time", _BAD_DATETIMES),
        (
            "impossible_datetime",
            Reason.INVALID_VALUE,
            "a date-time-shaped value that is no moment",
            _IMPOSSIBLE_DATETIMES,
        ),
    ],
}
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


def _fits(f: FieldSchema, reason: Reason) -> Callable[[Any], bool]:
    """Whether a value is a string the runtime refuses with exactly `reason`."""
    return lambda v: isinstance(v, str) and string_reason(f, v, f.required) == reason


def _display_names(entries: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """(display name, technical name) pairs where the display name is not itself a technical name."""
    out = []
    for value, label in sorted(entries.items()):
        for shown in (label, value.replace("_", " ").replace("-", " ").title()):
            if shown and shown not in entries:
                out.append((shown, value))
                break
    return out


# --- every field ------------------------------------------------------------------------------------


def missing_required(t: FieldUnderTest) -> Iterator[Breakage]:
    """A required field left out: missing_required, or unresolved_id where the runtime looks it up."""
    if not t.schema.required:
        return
    if t.schema.resolve is not None and t.looked_up():
        yield t.breakage(
            "missing_required",
            Reason.UNRESOLVED_ID,
            f"{t.name} left out: it is looked up ({t.schema.resolve}) and there is nothing to find",
            None,
        )
    else:
        yield t.breakage("missing_required", Reason.MISSING_REQUIRED, f"{t.name} left out", None)


def wrong_type_of_several(t: FieldUnderTest) -> Iterator[Breakage]:
    """A value of none of a multi-type field's types."""
    types = t.schema.types
    if t.type is not None or ("array" in types and "string" not in types):
        return  # one type; or the mapping wraps anything into a list
    allowed = _classes(types)
    wrong = [
        v
        for v in ([["a", "list"]], {"an": "object"}, True, "text", 3, 1.5)
        if type(v) not in allowed and not (isinstance(v, str) and "object" in types)
    ]
    if wrong:
        yield t.breakage(
            "wrong_type", Reason.TYPE_MISMATCH, f"a value that is not {' or '.join(types)}", st.sampled_from(wrong)
        )


def not_in_enum_of_several(t: FieldUnderTest) -> Iterator[Breakage]:
    """A value of a multi-type field's types that its enum does not list."""
    f = t.schema
    if t.type is not None or f.enum is None:
        return
    allowed = _classes(f.types)
    outside = [v for v in ("not-in-enum", -12345, 0.5) if v not in f.enum and type(v) in allowed]
    if outside:
        yield t.breakage(
            "not_in_enum", Reason.INVALID_VALUE, f"a value not among {f.enum}", st.sampled_from(outside)
        )


def wrong_type(t: FieldUnderTest) -> Iterator[Breakage]:
    """A value that is not of a single-type field's type."""
    ty = t.type
    if ty is None or (ty == "array" and catalog_of(t.schema) is None and t.schema.items is None):
        return  # several types; or any list is acceptable, and anything else is wrapped into one
    yield t.breakage(
        "wrong_type", Reason.TYPE_MISMATCH, f"a value that is not {ty}", st.sampled_from(_WRONG_TYPES[ty])
    )


# --- strings ----------------------------------------------------------------------------------------


def too_long(t: FieldUnderTest) -> Iterator[Breakage]:
    f = t.schema
    if t.type != "string" or f.maxLength is None or f.maxLength >= _MAX_TOO_LONG:
        return
    n, required = f.maxLength, f.required
    values = (
        st.integers(n + 1, n + 20)
        .flatmap(lambda k: st.text(TEXT, min_size=k, max_size=k))
        .filter(lambda v: not (required and v.isspace()))
    )
    yield t.breakage("too_long", Reason.TOO_LONG, f"a string over maxLength {n}", values)


def too_short(t: FieldUnderTest) -> Iterator[Breakage]:
    f = t.schema
    if t.type != "string" or not f.minLength or f.minLength <= 1:
        return
    values = st.text(TEXT, min_size=1, max_size=f.minLength - 1).filter(_fits(f, Reason.INVALID_VALUE))
    yield t.breakage("too_short", Reason.INVALID_VALUE, f"a string under minLength {f.minLength}", values)


def bad_format(t: FieldUnderTest) -> Iterator[Breakage]:
    """Values a string field's `format` refuses, from a list of typical mistakes."""
    f = t.schema
    if t.type != "string" or f.format is None:
        return
    for kind, reason, description, candidates in _FORMAT_BREAKAGES[f.format]:
        refused = [v for v in candidates if string_reason(f, v, f.required) == reason]
        if refused:
            yield t.breakage(kind, reason, description, st.sampled_from(refused))


def pattern_miss(t: FieldUnderTest) -> Iterator[Breakage]:
    f = t.schema
    if t.type != "string" or f.pattern is None:
        return
    valid = string_values(f, f.required)
    misses = st.one_of(
        st.sampled_from(_PATTERN_MISSES),
        valid.map(lambda v: f" {v} "),
        valid.map(lambda v: v + "!"),
        st.text(TEXT, min_size=1, max_size=12),
    ).filter(_fits(f, Reason.INVALID_VALUE))
    yield t.breakage("pattern", Reason.INVALID_VALUE, f"a string that does not match {f.pattern}", misses)


def pattern_trailing_newline(t: FieldUnderTest) -> Iterator[Breakage]:
    """A matching value plus a final newline: only a pattern with `$` can be fooled by it."""
    f = t.schema
    if t.type != "string" or f.pattern is None or ecma_pattern(f.pattern) == f.pattern:
        return
    newline = string_values(f, f.required).map(lambda v: v + "\n").filter(_fits(f, Reason.INVALID_VALUE))
    yield t.breakage(
        "pattern_trailing_newline",
        Reason.INVALID_VALUE,
        f"a value matching {f.pattern} but for a final newline (JSON Schema's $ does not match before it)",
        newline,
    )


def string_not_in_enum(t: FieldUnderTest) -> Iterator[Breakage]:
    f = t.schema
    if t.type != "string" or f.enum is None:
        return
    others = string_values(f, f.required, use_enum=False).filter(lambda v: v not in (f.enum or []))
    yield t.breakage("not_in_enum", Reason.INVALID_VALUE, f"a string not among {f.enum}", others)


# --- numbers and booleans ---------------------------------------------------------------------------


def number_not_in_enum(t: FieldUnderTest) -> Iterator[Breakage]:
    f = t.schema
    if t.type not in ("number", "integer") or f.enum is None:
        return
    nums = [v for v in f.enum if isinstance(v, int | float) and not isinstance(v, bool)]
    beyond = (max(nums) + 1) if nums else 12345
    yield t.breakage("not_in_enum", Reason.INVALID_VALUE, f"a number not among {f.enum}", st.just(beyond))


def boolean_not_in_enum(t: FieldUnderTest) -> Iterator[Breakage]:
    """The other boolean, where the enum allows only one."""
    f = t.schema
    allowed = {v for v in f.enum or [] if isinstance(v, bool)}
    if t.type != "boolean" or f.enum is None or len(allowed) != 1:
        return
    yield t.breakage(
        "not_in_enum", Reason.INVALID_VALUE, f"a boolean not among {f.enum}", st.just(not allowed.pop())
    )


# --- arrays -----------------------------------------------------------------------------------------


def unknown_catalog_value(t: FieldUnderTest) -> Iterator[Breakage]:
    """A list holding an entry its catalog does not have (after known ones, if any)."""
    catalog = catalog_of(t.schema)
    if t.type != "array" or catalog is None:
        return
    values = t.entries(catalog)
    unknown = st.sampled_from(
        [v for v in ("destkit_unknown_entry", "Destkit Unknown Entry", "ghost-value") if v not in values]
    )
    known = st.lists(st.sampled_from(sorted(values)), max_size=2) if values else st.just([])
    yield t.breakage(
        "unknown_catalog_value",
        t.catalog_reason(catalog),
        f"an entry that is not in the {catalog} catalog",
        st.tuples(known, unknown).map(lambda p: [*p[0], p[1]]),
    )


def too_many_items(t: FieldUnderTest) -> Iterator[Breakage]:
    f = t.schema
    catalog = catalog_of(f)
    values = t.entries(catalog)
    if t.type != "array" or f.maxItems is None or (catalog is not None and not values):
        return
    item: SearchStrategy[Any]
    if values:
        item = st.sampled_from(sorted(values))
    else:
        item = values_of(f.items, t.catalogs, required=False, allow_none=False) if f.items else SCALARS
    yield t.breakage(
        "too_many_items",
        Reason.INVALID_VALUE,
        f"more than maxItems {f.maxItems} items",
        st.lists(item, min_size=f.maxItems + 1, max_size=f.maxItems + 3),
    )


# --- objects ----------------------------------------------------------------------------------------


def _object_values(t: FieldUnderTest) -> SearchStrategy[Any]:
    f = t.schema
    return values_of(f.values, t.catalogs, required=False, allow_none=False) if f.values else SCALARS


def display_name_key(t: FieldUnderTest) -> Iterator[Breakage]:
    """A key that is an entry's display name where the catalog wants its technical name."""
    catalog = t.schema.keys_catalog
    if t.type != "object" or catalog is None:
        return
    labels = _display_names(t.entries(catalog))
    if labels:
        yield t.breakage(
            "display_name_key",
            t.catalog_reason(catalog),
            f"a key that is the display name of a {catalog} entry, not its technical name",
            st.tuples(st.sampled_from(labels), _object_values(t)).map(lambda p: {p[0][0]: p[1]}),
        )


def unknown_key(t: FieldUnderTest) -> Iterator[Breakage]:
    catalog = t.schema.keys_catalog
    if t.type != "object" or catalog is None:
        return
    keys = t.entries(catalog)
    yield t.breakage(
        "unknown_key",
        t.catalog_reason(catalog),
        f"a key that is not in the {catalog} catalog",
        st.tuples(
            st.sampled_from([k for k in ("destkit_unknown_key", "ghost") if k not in keys]),
            _object_values(t),
        ).map(lambda p: {p[0]: p[1]}),
    )


def wrong_value_type(t: FieldUnderTest) -> Iterator[Breakage]:
    """An entry whose value is not of the object's `values` type."""
    f = t.schema
    keys = t.entries(f.keys_catalog)
    if t.type != "object" or f.values is None or (f.keys_catalog is not None and not keys):
        return
    allowed = _classes(f.values.types)
    wrong = [v for v in (["a", "list"], {"nested": "object"}, "text", 1.5, True) if type(v) not in allowed]
    if not wrong:
        return
    key_strategy = st.sampled_from(sorted(keys)) if f.keys_catalog else st.text(TEXT, min_size=1, max_size=8)
    yield t.breakage(
        "wrong_value_type",
        Reason.TYPE_MISMATCH,
        f"a value that is not {' or '.join(f.values.types)}",
        st.tuples(key_strategy, st.sampled_from(wrong)).map(lambda p: {p[0]: p[1]}),
    )


#: Every builder, in the order their breakages are offered for a field.
BREAKAGE_BUILDERS: tuple[BreakageBuilder, ...] = (
    missing_required,
    wrong_type_of_several,
    not_in_enum_of_several,
    wrong_type,
    too_long,
    too_short,
    bad_format,
    pattern_miss,
    pattern_trailing_newline,
    string_not_in_enum,
    number_not_in_enum,
    boolean_not_in_enum,
    unknown_catalog_value,
    too_many_items,
    display_name_key,
    unknown_key,
    wrong_value_type,
)


def breakages_of(spec: DestinationSpec, action: ActionSpec, catalogs: Catalogs) -> list[Breakage]:
    """Every breakage the action's schema makes possible, field by field, one per (kind, field)."""
    return [
        breakage
        for name, f in action.fields.items()
        for build in BREAKAGE_BUILDERS
        for breakage in build(FieldUnderTest(name, f, spec, action, catalogs))
    ]
