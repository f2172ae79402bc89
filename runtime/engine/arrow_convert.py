"""Arrow arrays as lists of record values (see `arrow_records`' docstring for what each type becomes).

Imports pyarrow only through the `pa`/`pc` modules its caller passes; of destkit's, only the base `errors`."""

from __future__ import annotations

import functools
import gc
import itertools
import operator
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from destkit.runtime.errors import first_line

Fix = Callable[[Any], Any]  # the Python step a converted value still needs (a map's pairs → dict), None-safe


# --- whole arrays made Python values by C loops (structs and lists, the common nested shapes) -------------


def column_values(pa: Any, pc: Any, array: Any) -> list[Any]:
    """`array`'s values as record values, one per row. Raises pyarrow's error when a value cannot be
    converted (bytes that are not UTF-8).

    A struct or a list is built from its children's values (each converted as a whole), with C loops: no
    Python frame per row, and none of the per-row dicts that pyarrow's `to_pylist` builds and we would drop."""
    shape = _shape(pa, array.type)
    if shape is _PLAIN:
        return array.to_pylist()  # type: ignore[no-any-return]
    if shape is _STRUCT:
        return _struct_values(pa, pc, array)
    if shape is _LIST:
        return _list_values(pa, pc, array)
    converted, fix = convert(pa, pc, array)
    values: list[Any] = converted.to_pylist()
    return values if fix is None else [fix(v) for v in values]


@functools.lru_cache(maxsize=256)
def dict_maker(names: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    """A function of one value per name that returns the dict of them. Its keys are constants of its code, so a
    dict is built presized, by one instruction: `map(maker, *columns)` makes records about twice as fast as
    `map(dict, map(zip, repeat(names), zip(*columns)))` (measured), with no tuple per row."""
    params = ", ".join(f"v{i}" for i in range(len(names)))
    pairs = ", ".join(f"{name!r}: v{i}" for i, name in enumerate(names))  # repr: any name is a safe literal
    return eval(f"lambda {params}: {{{pairs}}}", {})  # type: ignore[no-any-return]


def dicts_of(names: Sequence[str], columns: list[list[Any]], rows: int) -> list[Any]:
    """A dict per row from one column of values per name (a later duplicate name wins, as in `dict(zip(...))`)."""
    if not names:
        return [{} for _ in range(rows)]
    return list(map(dict_maker(tuple(names)), *columns))


_PLAIN, _STRUCT, _LIST, _CONVERTED = "plain", "struct", "list", "converted"


@functools.lru_cache(maxsize=1024)
def _shape(pa: Any, t: Any) -> str:
    """How `column_values` makes values of type `t` (told once per type, not once per batch): as `to_pylist`
    gives them, from a struct's fields, from a list's items, or converted first."""
    types = pa.types
    if types.is_struct(t):
        return _STRUCT if len(set(field_names(t))) == t.num_fields else _CONVERTED  # pyarrow refuses the others
    if types.is_list(t) or types.is_large_list(t):
        return _LIST
    return _CONVERTED if _needs_conversion(pa, t) else _PLAIN


@functools.lru_cache(maxsize=1024)
def field_names(t: Any) -> tuple[str, ...]:
    """The names of a struct type's fields."""
    return tuple(t.field(i).name for i in range(t.num_fields))


def _null_mask(array: Any) -> list[bool]:
    """For each value of `array`, whether it is null (empty if none is)."""
    mask: list[bool] = array.is_null().to_pylist() if array.null_count else []
    return mask


def _set_nulls(values: list[Any], array: Any) -> list[Any]:
    """`values` with None where `array` is null (a null struct or list, whatever its children hold)."""
    for i in itertools.compress(range(len(values)), _null_mask(array)):
        values[i] = None
    return values


def _struct_values(pa: Any, pc: Any, array: Any) -> list[Any]:
    """A dict per row, without the fields that are null in that row (they read as absent, as a sparse JSON
    object's missing key does); None for a null struct."""
    names = field_names(array.type)
    children = array.flatten()  # a null struct's fields are null
    columns = [column_values(pa, pc, child) for child in children]
    dicts = dicts_of(names, columns, len(array))
    for name, child, values in zip(names, children, columns, strict=True):
        if _may_hold_none(pa, child) and None in values:
            absent = map(operator.is_, values, itertools.repeat(None))
            deque(map(dict.__delitem__, itertools.compress(dicts, absent), itertools.repeat(name)), maxlen=0)
    return _set_nulls(dicts, array)


def _may_hold_none(pa: Any, array: Any) -> bool:
    """Whether `array`'s values may hold None: it has nulls, or it is converted first (a dictionary's or a
    union's value can be null where the array itself is not). Told without looking at every value."""
    return bool(array.null_count) or _shape(pa, array.type) is _CONVERTED


def _list_values(pa: Any, pc: Any, array: Any) -> list[Any]:
    """A list per row, its items converted together; None for a null list (its items, if any, skipped)."""
    offsets: list[int] = array.offsets.to_pylist()  # the slice's own: len(array) + 1 of them
    start = offsets[0]
    items = column_values(pa, pc, array.values.slice(start, offsets[-1] - start))
    if start:
        offsets = [o - start for o in offsets]
    lists: list[Any] = list(map(items.__getitem__, map(slice, offsets, itertools.islice(offsets, 1, None))))
    return _set_nulls(lists, array)


def values_by_row(pa: Any, pc: Any, array: Any) -> tuple[list[Any], dict[int, str]]:
    """A column converted value by value (after the whole column could not be): its values, and why each
    failing one failed, by index."""
    values: list[Any] = []
    failed: dict[int, str] = {}
    for i in range(len(array)):
        try:
            values.append(column_values(pa, pc, array.slice(i, 1))[0])
        except Exception as exc:  # pyarrow's own error classes vary by type; each is this row's problem
            values.append(None)
            failed[i] = first_line(exc)
    return values, failed


# --- how many rows to make records at once -----------------------------------------------------------------

MIN_ROWS, MAX_ROWS = 128, 1024


def containers_per_value(pa: Any, t: Any) -> int:
    """The dicts and lists a value of type `t` becomes (a list counted as holding one item)."""
    types = pa.types
    if types.is_dictionary(t):
        return containers_per_value(pa, t.value_type)
    if types.is_struct(t):
        return 1 + sum(containers_per_value(pa, t.field(i).type) for i in range(t.num_fields))
    if types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t):
        return 1 + containers_per_value(pa, t.value_type)
    if types.is_map(t):
        return 1 + containers_per_value(pa, t.item_type)
    return 0


def rows_per_conversion(pa: Any, schema: Any) -> int:
    """How many rows of `schema` to make records at once: as many as keep the containers made (a dict per
    record, and its nested dicts and lists) within the collector's youngest generation (700 by default).

    The records of a conversion live until the run has taken them all. Past that threshold, each young
    collection moves them to an older generation, and the full collections that follow walk every object
    of the process: at 1,024 W1 rows (3 containers each) they took 0.4-0.7 CPU s of a 200k-row CLI dry
    run; at 256, none ran (measured). Fewer rows cost more per row in calls into pyarrow, hence the floor."""
    per_row = 1 + sum(containers_per_value(pa, field.type) for field in schema)
    young = gc.get_threshold()[0] or MAX_ROWS * per_row
    return max(MIN_ROWS, min(MAX_ROWS, young // per_row))


# --- arrays converted by pyarrow.compute, with a Python step where one is still needed ---------------------


def _needs_conversion(pa: Any, t: Any) -> bool:
    """Whether values of type `t` come out of `to_pylist` as something the checks do not take."""
    types = pa.types
    if types.is_struct(t):  # its null fields are left out (`_struct_of`)
        return True
    if types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t):
        return _needs_conversion(pa, t.value_type)
    simple = (types.is_boolean, types.is_integer, types.is_floating, types.is_string, types.is_large_string,
              types.is_null)
    return not any(check(t) for check in simple)


# 0001-01-01 and 9999-12-31 (its last second), from 1970-01-01: the years ISO 8601 text (and the APIs) hold
_FIRST_DAY, _LAST_DAY = -719_162, 2_932_896
_FIRST_SECOND, _LAST_SECOND = _FIRST_DAY * 86_400, (_LAST_DAY + 1) * 86_400 - 1
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _check_years(pa: Any, pc: Any, array: Any, first: int, last: int) -> None:
    """Raise if a value of the date or timestamp `array` (as a count from 1970) is outside `first`..`last`: beyond
    the years 1-9999 strftime writes text no API reads ("25115-11-07", "-13586-08-27T-309237645289:46:40")."""
    bounds = pc.min_max(array.view(pa.int32() if pa.types.is_date32(array.type) else pa.int64()))
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low is not None and (low < first or high > last):
        raise ValueError("a date outside the years 1-9999")


def _date_text(pa: Any, pc: Any, array: Any) -> Any:
    """Dates as "YYYY-MM-DD", in the years 1-9999."""
    per_day = 1 if pa.types.is_date32(array.type) else 86_400_000
    _check_years(pa, pc, array, _FIRST_DAY * per_day, (_LAST_DAY + 1) * per_day - 1)
    return array.cast(pa.string())


def _iso_text(pa: Any, pc: Any, array: Any) -> Any:
    """Timestamps as ISO 8601: UTC with "+00:00" when the type has a zone, no offset when naive."""
    per_second = _PER_SECOND[array.type.unit]
    if per_second < _PER_SECOND["ns"]:  # nanoseconds in an int64 span 1677-2262 only
        _check_years(pa, pc, array, _FIRST_SECOND * per_second, (_LAST_SECOND + 1) * per_second - 1)
    zoned = array.type.tz is not None
    if zoned:  # the values are UTC instants: dropping the zone keeps them, and no zone database is loaded (35 MiB)
        array = array.cast(pa.timestamp(array.type.unit))
    text = pc.strftime(array, format="%Y-%m-%dT%H:%M:%S+00:00" if zoned else "%Y-%m-%dT%H:%M:%S")
    # whole seconds read as such: "12:00:00.000000" → "12:00:00"
    return pc.replace_substring_regex(text, pattern=r"\.0+\+" if zoned else r"\.0+$", replacement="+" if zoned else "")


def _list_of(pa: Any, pc: Any, array: Any) -> tuple[Any, Fix | None]:
    """A list column with its items converted (one conversion over all the items)."""
    items, fix = convert(pa, pc, pc.list_flatten(array))
    large = pa.types.is_large_list(array.type)
    lengths = pc.fill_null(pc.list_value_length(array), 0).cast(pa.int64() if large else pa.int32())
    offsets = pa.concat_arrays([pa.array([0], lengths.type), pc.cumulative_sum(lengths)])
    kind = pa.LargeListArray if large else pa.ListArray
    rebuilt = kind.from_arrays(offsets, items, mask=array.is_null())
    return rebuilt, None if fix is None else (lambda v: None if v is None else [fix(x) for x in v])


def _struct_of(pa: Any, pc: Any, array: Any, names: list[str]) -> tuple[Any, Fix | None]:
    """A struct column with its fields converted; a dict per value, without its null fields.

    A struct has the same fields in every row, so a null field is one the row does not have (as an
    empty CSV cell is): left out, it reads as absent, as a sparse JSON object's missing key does."""
    converted = [convert(pa, pc, child) for child in array.flatten()]
    rebuilt = pa.StructArray.from_arrays([a for a, _ in converted], names=names, mask=array.is_null())
    fixes = {name: fix for name, (_, fix) in zip(names, converted, strict=True) if fix is not None}
    if not fixes:
        return rebuilt, lambda v: None if v is None else {k: x for k, x in v.items() if x is not None}
    return rebuilt, lambda v: None if v is None else {
        k: (fixes[k](x) if k in fixes else x) for k, x in v.items() if x is not None}


def _map_of(pa: Any, pc: Any, array: Any) -> tuple[Any, Fix | None]:
    """A map column: its entries converted as a list of {key, value}, then made a dict (keys as text, as in JSON;
    a null value left out)."""
    start, end = array.offsets[0].as_py(), array.offsets[-1].as_py()  # in a slice, the entries of its maps only
    offsets = pc.subtract(array.offsets, start)
    entries = pa.StructArray.from_arrays(array.values.slice(start, end - start).flatten(), names=["key", "value"])
    converted, fix = _list_of(pa, pc, pa.ListArray.from_arrays(offsets, entries, mask=array.is_null()))

    def to_dict(v: Any) -> Any:
        if v is None:
            return None
        # an entry whose value is null has no "value" (`_struct_of`): left out, as a struct's null field is
        return {str(e["key"]): e["value"] for e in (fix(v) if fix is not None else v) if "value" in e}
    return converted, to_dict


def _decimal_of(pa: Any, pc: Any, array: Any) -> tuple[Any, Fix | None]:
    """Decimals: a whole number (scale 0) as int, any other as float (raising if a float would change it)."""
    t = array.type
    if t.scale != 0:  # through its text: a direct cast is not correctly rounded (19.99 → 19.990000000000002)
        floats = array.cast(pa.string()).cast(pa.float64())
        if t.precision > FLOAT_EXACT_DIGITS:
            _check_floats_keep(pa, pc, array, floats)
        return floats, None
    if t.precision <= 18:  # fits an int64, so a cast does it
        return array.cast(pa.int64()), None
    return array, lambda v: None if v is None else int(v)


FLOAT_EXACT_DIGITS = 15  # a decimal of up to 15 digits is the same number again once a float64 (IEEE 754)


def _check_floats_keep(pa: Any, pc: Any, decimals: Any, floats: Any) -> None:
    """Raise if a float of `floats` is not its decimal at the decimal's scale: sending it would silently change
    the number (decimal(38,10) 12345678901234567890.1234567891 → 1.2345678901234567e+19)."""
    try:
        same = pc.equal(pc.cast(floats, decimals.type, safe=False), decimals)
    except pa.ArrowException:  # a float rounded up past the type's precision (99…9.9 → 1e28): changed too
        same = pa.array([False] * len(decimals))
    if pc.all(pc.fill_null(same, True)).as_py():
        return
    first = pc.index(same, False).as_py()
    value, sent = decimals[first].as_py(), floats[first].as_py()
    raise ValueError(f"{value} has more digits than a JSON number keeps exactly: it would be sent as {sent!r}; "
                     "cast the column to double to accept the rounding, or to string to keep every digit")


def _is_bytes(pa: Any, t: Any) -> bool:
    """Whether `t` holds bytes: binary, large, fixed-size (a UUID, a hash) or a view."""
    types = pa.types
    return bool(types.is_binary(t) or types.is_large_binary(t) or types.is_fixed_size_binary(t)
                or (hasattr(types, "is_binary_view") and types.is_binary_view(t)))


def bytes_values(pa: Any, array: Any) -> list[Any] | None:
    """A binary column's values as bytes, not text (None if `array` is not binary): a primary key's, which
    `key_text` writes as hex."""
    return array.to_pylist() if _is_bytes(pa, array.type) else None  # type: ignore[no-any-return]


def convert(pa: Any, pc: Any, array: Any) -> tuple[Any, Fix | None]:
    """`array` as an array whose `to_pylist` values (after the returned fix) are what the checks take.

    Raises pyarrow's error when a value cannot be converted (bytes that are not UTF-8)."""
    types, t = pa.types, array.type
    if not _needs_conversion(pa, t):
        return array, None
    if types.is_dictionary(t):
        return convert(pa, pc, array.dictionary_decode())
    if types.is_decimal(t):
        return _decimal_of(pa, pc, array)
    if types.is_timestamp(t):
        return _iso_text(pa, pc, array), None
    if types.is_date(t):
        return _date_text(pa, pc, array), None
    if types.is_time(t) or _is_bytes(pa, t):  # bytes as UTF-8 text, else the row says why
        return array.cast(pa.string()), None
    if types.is_map(t):
        return _map_of(pa, pc, array)
    if types.is_struct(t):
        return _struct_of(pa, pc, array, [t.field(i).name for i in range(t.num_fields)])
    if types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t):
        return _list_of(pa, pc, array)
    return array, None  # anything else as pyarrow gives it


__all__ = ["Fix", "bytes_values", "column_values", "containers_per_value", "convert", "dict_maker", "dicts_of", "field_names", "rows_per_conversion",
           "values_by_row"]
