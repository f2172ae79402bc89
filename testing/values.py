"""Hypothesis strategies for values (and whole records) that an action's checks accept.

One builder per field type; `values_of` picks them for a field, `valid_record_strategy` puts a
record together. Catalogs come normalized here ({name: {value: display label or None}}).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from destkit.runtime.spec.models import ActionSpec, FieldSchema
from destkit.runtime.spec.vocabulary import E164, NORMALIZE_PRESETS
from destkit.testing.expectations import catalog_of, string_reason

__all__ = [
    "JSON_VALUES",
    "MERGE",
    "SCALARS",
    "TEXT",
    "Catalogs",
    "digests",
    "merge_named_keys",
    "string_values",
    "valid_record_strategy",
    "values_of",
]

Catalogs = dict[str, dict[str, str | None]]
"""Catalogs, normalized: {catalog name: {technical value: display label or None}}."""

_MAX_TEXT = 40  # unconstrained strings stay short: records are many, and long strings find nothing new

# Text from the whole of Unicode except surrogates (JSON cannot carry them): names in any script,
# emoji, combining marks and control characters are all things a CDP export holds.
TEXT = st.characters(codec="utf-8")
SCALARS: SearchStrategy[Any] = st.one_of(
    st.text(TEXT, max_size=12),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
JSON_VALUES: SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(TEXT, min_size=1, max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


# --- strings -----------------------------------------------------------------------------------------


def _emails() -> SearchStrategy[str]:
    local = st.from_regex(r"[a-z0-9]{1,12}(\.[a-z0-9]{1,8})?", fullmatch=True)
    domain = st.from_regex(r"[a-z][a-z0-9]{0,11}", fullmatch=True)
    tld = st.sampled_from(["com", "org", "net", "de", "io", "co"])
    return st.builds(lambda a, b, c: f"{a}@{b}.{c}", local, domain, tld)


def _dates() -> SearchStrategy[str]:
    return st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(date.isoformat)


def _datetimes() -> SearchStrategy[str]:
    moments = st.datetimes(datetime(1900, 1, 1), datetime(2100, 12, 31))  # naive; half get UTC below
    return st.tuples(moments, st.booleans()).map(lambda t: (t[0].replace(tzinfo=UTC) if t[1] else t[0]).isoformat())


_FORMATTED: dict[str, Callable[[], SearchStrategy[str]]] = {
    "e164": lambda: st.from_regex(E164, fullmatch=True),
    "email": _emails,
    "date": _dates,
    "date-time": _datetimes,
}


def _enum_strings(f: FieldSchema, required: bool) -> SearchStrategy[str]:
    allowed = [v for v in f.enum or [] if isinstance(v, str) and string_reason(f, v, required) is None]
    return st.sampled_from(allowed) if allowed else st.nothing()


# numbers every phone library takes as valid (a drawn +<digits> may not be a number anywhere)
_VALID_PHONES = ("+14155552671", "+4915112345671", "+442079460958", "+33612345678", "+61412345678")


def _normalized_strings(f: FieldSchema) -> SearchStrategy[str] | None:
    """Values a field's `normalize:` checks accept (an email step wants emails, a phone step numbers)."""
    names = [f.normalize] if isinstance(f.normalize, str) else list(f.normalize or [])
    steps = {step for name in names for step in NORMALIZE_PRESETS.get(name, (name,))}
    if "email" in steps:
        return _emails()
    if steps & {"e164", "e164_no_plus"}:
        return st.sampled_from(_VALID_PHONES)
    return None


_DIGEST_HEX = {"sha256": 64, "md5": 32}


def digests(algorithm: str) -> SearchStrategy[str]:
    """Values already hashed with `algorithm` (hex, either case): a `hash:` field sends them as they are."""
    hex_digits = st.text("0123456789abcdef", min_size=_DIGEST_HEX[algorithm], max_size=_DIGEST_HEX[algorithm])
    return st.tuples(hex_digits, st.booleans()).map(lambda t: t[0].upper() if t[1] else t[0])


def _shaped_strings(f: FieldSchema, required: bool) -> SearchStrategy[str]:
    """Strings of the field's format, else of its pattern, else any text within its lengths; for a
    `hash:` field without `normalize:`, already hashed values among them (a normalised field's values
    are drawn as what its steps want, so its checks are exercised)."""
    plain = _plain_shaped_strings(f, required)
    return plain | digests(f.hash) if f.hash is not None and not f.normalize else plain


def _plain_shaped_strings(f: FieldSchema, required: bool) -> SearchStrategy[str]:
    if (normalized := _normalized_strings(f)) is not None:
        return normalized
    if f.format is not None:
        return _FORMATTED[f.format]()
    if f.pattern is not None:
        return st.from_regex(f.pattern, fullmatch=True)
    low = max(f.minLength or 0, 1 if required else 0)
    high = max(low, min(f.maxLength or _MAX_TEXT, _MAX_TEXT))
    return st.text(TEXT, min_size=low, max_size=high)


def string_values(f: FieldSchema, required: bool, *, use_enum: bool = True) -> SearchStrategy[str]:
    """Strings the field accepts; `use_enum=False`: as if it had no enum (all else still holds)."""
    if use_enum and f.enum is not None:
        return _enum_strings(f, required)
    shape = f.model_copy(update={"enum": None}) if not use_enum else f
    return _shaped_strings(f, required).filter(
        lambda v: v != "" and string_reason(shape, v, required) is None
    )


# --- the other types ---------------------------------------------------------------------------------


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


def _booleans(f: FieldSchema) -> SearchStrategy[Any]:
    if f.enum is None:
        return st.booleans()
    allowed = [v for v in f.enum if isinstance(v, bool)]
    return st.sampled_from(allowed) if allowed else st.nothing()


def _catalog_items(name: str, catalogs: Catalogs) -> SearchStrategy[str] | None:
    """The catalog's values to sample from; None when the catalogs give it none."""
    values = sorted(catalogs.get(name, {}))
    return st.sampled_from(values) if values else None


def _arrays(f: FieldSchema, catalogs: Catalogs, required: bool) -> SearchStrategy[Any]:
    low = 1 if required else 0
    high = max(low, min(f.maxItems or 4, 4))
    catalog = catalog_of(f)
    items: SearchStrategy[Any] | None
    if catalog is not None:
        items = _catalog_items(catalog, catalogs)
        if items is None:  # no entries to list: no record at all, or an empty list
            return st.nothing() if required else st.just([])
    elif f.items is not None:
        items = values_of(f.items, catalogs, required=False, allow_none=False)
    else:
        items = SCALARS
    return st.lists(items, min_size=low, max_size=high)


def _objects(f: FieldSchema, catalogs: Catalogs, required: bool) -> SearchStrategy[Any]:
    low = 1 if required else 0
    keys: SearchStrategy[str] | None
    if f.keys_catalog is not None:
        keys = _catalog_items(f.keys_catalog, catalogs)
        if keys is None:  # no names to use: no record at all, or an empty object
            return st.nothing() if required else st.just({})
    else:
        keys = st.text(TEXT, min_size=1, max_size=12)
    entries = values_of(f.values, catalogs, required=False, allow_none=False) if f.values is not None else JSON_VALUES
    return st.dictionaries(keys, entries, min_size=low, max_size=3)


_BY_TYPE: dict[str, Callable[[FieldSchema, Catalogs, bool], SearchStrategy[Any]]] = {
    "string": lambda f, _c, required: string_values(f, required),
    "number": lambda f, _c, _r: _numbers(f, integer=False),
    "integer": lambda f, _c, _r: _numbers(f, integer=True),
    "boolean": lambda f, _c, _r: _booleans(f),
    "array": _arrays,
    "object": _objects,
}


def _single(ty: str, f: FieldSchema, catalogs: Catalogs, required: bool) -> SearchStrategy[Any]:
    build = _BY_TYPE.get(ty)
    if build is None:
        raise ValueError(f"unknown field type {ty!r}")
    return build(f, catalogs, required)


def values_of(f: FieldSchema, catalogs: Catalogs, *, required: bool, allow_none: bool) -> SearchStrategy[Any]:
    """Values of one field that the runtime accepts (None among them when `allow_none`)."""
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


# --- records -----------------------------------------------------------------------------------------


MERGE = "$merge"


def merge_named_keys(template: Any) -> dict[str, list[str]]:
    """For each object field merged in a record template (`{$merge: [$field, {KEY: ...}]}`), the keys the
    merge's other entries name: a merged object must never lose them, so values are drawn with them."""
    found: dict[str, list[str]] = {}
    if isinstance(template, dict):
        entries = template.get(MERGE)
        if isinstance(entries, list):
            named = [k for e in entries if isinstance(e, dict) for k in e if not k.startswith("$")]
            for e in entries:
                if isinstance(e, str) and e.startswith("$") and not e.startswith("$settings."):
                    found.setdefault(e[1:], []).extend(k for k in named if k not in found.get(e[1:], []))
        children: list[Any] = list(template.values())
    else:
        children = list(template) if isinstance(template, list) else []
    for child in children:
        for name, keys in merge_named_keys(child).items():
            found.setdefault(name, []).extend(k for k in keys if k not in found[name])
    return found


def _merged_objects(f: FieldSchema, named: list[str], action: ActionSpec, catalogs: Catalogs,
                    required: bool) -> SearchStrategy[Any]:
    """Objects for a merged field whose keys are often the merge's named keys (where a later entry wins).

    A named key that is also a field of the action carries a value that field accepts: when the record
    leaves that field out, the merged value is what is sent in its place, so it must be one the
    destination takes there. Other keys are technical names (letters, digits, `_`).
    """
    entries = values_of(f.values, catalogs, required=False, allow_none=False) if f.values is not None else JSON_VALUES

    def value_for(key: str) -> SearchStrategy[Any]:
        own = action.fields.get(key)
        return entries if own is None else values_of(own, catalogs, required=True, allow_none=False)

    named_pairs = st.sampled_from(named).flatmap(lambda key: st.tuples(st.just(key), value_for(key)))
    other_pairs = st.tuples(st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True), entries)
    pairs = st.lists(named_pairs | other_pairs, min_size=1 if required else 0, max_size=4)
    return pairs.map(dict).filter(lambda d: len(d) >= (1 if required else 0))


def _field_strategies(
    action: ActionSpec, catalogs: Catalogs
) -> tuple[dict[str, SearchStrategy[Any]], dict[str, SearchStrategy[Any]]]:
    """(required, optional) value strategies by field; optional catalog fields without a catalog are left out."""
    required: dict[str, SearchStrategy[Any]] = {}
    optional: dict[str, SearchStrategy[Any]] = {}
    merged = merge_named_keys(action.request.record)
    for name, f in action.fields.items():
        if merged.get(name) and f.keys_catalog is None and f.types == ("object",):
            drawn = _merged_objects(f, merged[name], action, catalogs, f.required)
            (required if f.required else optional)[name] = drawn if f.required else drawn | st.none()
            continue
        catalog = catalog_of(f) or f.keys_catalog
        if f.required:
            if catalog is not None and not catalogs.get(catalog):
                raise ValueError(
                    f"field {name} is required and takes values from the {catalog} catalog; "
                    f"pass catalogs={{'{catalog}': [...]}}"
                )
            required[name] = values_of(f, catalogs, required=True, allow_none=False)
        elif catalog is None or catalogs.get(catalog):
            optional[name] = values_of(f, catalogs, required=False, allow_none=True)
    return required, optional


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _ensure_one_of(
    record: dict[str, Any], names: list[str], action: ActionSpec, catalogs: Catalogs
) -> SearchStrategy[dict[str, Any]]:
    """The record as it is when one of `names` has a value, else with one of them filled in."""
    if any(_present(record.get(n)) for n in names):
        return st.just(record)
    return st.sampled_from(names).flatmap(
        lambda n: values_of(action.fields[n], catalogs, required=True, allow_none=False).map(
            lambda v: {**record, n: v}
        )
    )


def valid_record_strategy(action: ActionSpec, catalogs: Catalogs) -> SearchStrategy[dict[str, Any]]:
    """Records (keyed by field name) that the action's checks accept, `one_of` constraints kept."""
    required, optional = _field_strategies(action, catalogs)
    records = st.fixed_dictionaries(required, optional=optional)
    for rule in action.constraints:  # e.g. one_of: at least one identifier has a value
        names = [n for n in rule.one_of if n in optional or n in required]
        if not names:
            continue

        def ensure(r: dict[str, Any], names: list[str] = names) -> SearchStrategy[dict[str, Any]]:
            return _ensure_one_of(r, names, action, catalogs)

        records = records.flatmap(ensure)
    return records
