"""Per-record validation and catalog enforcement, compiled from an action's field schema.

The field schema is read once and turned into straight-line generated code (no jsonschema call
and no interpretation per record). Failures raise `RecordError` with a reason code, the field
and a message that says how to fix it; the message builders run only on the failing path.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from destkit.mapping import MappingReason, RecordError
from destkit.mapping.codegen import CodeGen
from destkit.mapping.errors import TransformError
from destkit.runtime.record.finite import Unsendable, find_unsendable, float_holding, has_nonfinite
from destkit.runtime.record.key_text import shown_value
from destkit.runtime.record.loop import one_expression
from destkit.runtime.record.normalize import DIGESTS, as_names, build_normalizer
from destkit.runtime.record.normalize import strict_email as strict_email  # defined next to the `email` step
from destkit.runtime.record.object_values import VALUE_HELPERS, emit_values_loop, values_in_one_loop
from destkit.runtime.spec.models import CatalogSpec, FieldSchema
from destkit.runtime.spec.vocabulary import E164

_LENIENT_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


@dataclass
class Catalog:
    """The allowed values of one catalog, with display labels for "did you mean" suggestions."""

    name: str
    values: frozenset[str]
    labels: dict[str, str] = field(default_factory=dict)  # display label → value
    spec: CatalogSpec | None = None
    source: str = "destination"

    @cached_property
    def reason(self) -> MappingReason:
        # cached: a failing record asks for it more than once, and an enum lookup costs about 1 us
        return MappingReason(self.spec.reason) if self.spec else MappingReason.UNKNOWN_VALUE

    @property
    def noun(self) -> str:
        return self.spec.noun if self.spec else "value"

    def suggest(self, value: str) -> str | None:
        """The technical value a user most likely meant by `value` (a display name or near miss)."""
        cache: dict[str, str | None] = self.__dict__.setdefault("_suggestions", {})
        if value in cache:
            return cache[value]
        found = self._suggest(value)
        if len(cache) < 10_000:
            cache[value] = found
        return found

    def _suggest(self, value: str) -> str | None:
        if value.lower() in self.labels:
            return self.labels[value.lower()]
        norm = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
        if norm in self.values:
            return norm
        if len(self.values) > 5000:  # "did you mean" is a courtesy; never let it cost more than the record
            return None
        close = difflib.get_close_matches(value, self._sorted, n=1, cutoff=0.75)
        return close[0] if close else None

    @property
    def _sorted(self) -> list[str]:
        cached = self.__dict__.get("_sorted_values")
        if cached is None:
            cached = self.__dict__["_sorted_values"] = sorted(self.values)
        return cached

    def unknown_message(self, value: Any, field_name: str, with_hint: bool = True) -> str:
        text = f"{self.noun} '{_clip(value, 120)}' is not in the destination's {self.name} catalog"
        hint = self.suggest(str(value)[:1000])  # a hostile 100 kB key is neither quoted whole nor compared whole
        if hint is not None:
            named = "the technical name " if self.reason is MappingReason.UNKNOWN_CUSTOM_PROPERTY else ""
            text += f"; did you mean {named}'{hint}'?"
        else:
            text += "."
        if with_hint:
            if self.spec and self.spec.hint:
                text += f" {self.spec.hint}"
            text += f" Or set {self.option}: drop_and_warn to send the record without it."
        return text

    @property
    def option(self) -> str:
        if self.reason is MappingReason.UNKNOWN_TAG:
            return "options.on_unknown_tag"
        if self.reason is MappingReason.UNKNOWN_CUSTOM_PROPERTY:
            return "options.on_unknown_custom_property"
        return f"options.on_unknown.{self.name}"


def anchored(pattern: str) -> str:
    """A JSON-Schema pattern for Python: a final `$` becomes `\\Z`, since Python's `$` also matches
    before a trailing newline (and "abandoned_cart\\n" is not a valid event name)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\Z"
    return pattern


def _clip(value: Any, n: int = 60) -> str:
    text = str(value)
    return text if len(text) <= n else text[: n - 1] + "…"


# --- failure builders (slow path only) ---------------------------------------------------------


def _missing(name: str) -> RecordError:
    return RecordError(MappingReason.MISSING_REQUIRED, name,
                       f"{name} is required but the mapped source value is empty; map a source field that is always set or add a default.")


def _type(name: str, expected: str, value: Any) -> RecordError:
    return RecordError(MappingReason.TYPE_MISMATCH, name,
                       f"{name} must be {expected}, got {type(value).__name__} {_clip(shown_value(value))!r}; fix the source value or add a transform.")


def _item_type(name: str, expected: str, value: Any) -> RecordError:
    return RecordError(MappingReason.TYPE_MISMATCH, name,
                       f"{name} items must be {expected}, got {type(value).__name__} {_clip(shown_value(value))!r}; fix the source value.")


def _too_long(name: str, value: str, limit: int) -> RecordError:
    return RecordError(MappingReason.TOO_LONG, name, f"{name} is {len(value)} characters, over the limit of {limit}; shorten the source value.")


def _too_short(name: str, value: str, limit: int) -> RecordError:
    return RecordError(MappingReason.INVALID_VALUE, name, f"{name} must be at least {limit} characters long.")


def _bad_phone(name: str, value: str) -> RecordError:
    return RecordError(MappingReason.INVALID_PHONE, name,
                       f"{name} '{_clip(value)}' is not in international format: '+', country code, digits only, "
                       "no spaces, dashes or parentheses (e.g. +15551234567); add the e164 transform to normalise it.")


def _bad_email(name: str, value: str) -> RecordError:
    return RecordError(MappingReason.INVALID_EMAIL, name, f"{name} '{_clip(value)}' is not an email address; fix the source value.")


def _bad_format(name: str, value: str, fmt: str) -> RecordError:
    return RecordError(MappingReason.INVALID_VALUE, name, f"{name} '{_clip(value)}' is not a {fmt} value; add a date transform.")


def _bad_pattern(name: str, value: str, pattern: str) -> RecordError:
    return RecordError(MappingReason.INVALID_VALUE, name, f"{name} '{_clip(value)}' does not match the pattern {pattern}.")


def _bad_enum(name: str, value: Any, allowed: list[Any], shown: int = 20) -> RecordError:
    # the first 20 values, clipped: a spec's 100,000-value enum listed whole made each record's message 700 kB
    more = f" and {len(allowed) - shown:,} more" if len(allowed) > shown else ""
    listed = ", ".join(_clip(v) for v in allowed[:shown]) + more
    return RecordError(MappingReason.INVALID_VALUE, name, f"{name} '{_clip(value)}' is not one of {listed}.")


def _too_many(name: str, value: list[Any], limit: int) -> RecordError:
    return RecordError(MappingReason.INVALID_VALUE, name, f"{name} has {len(value)} items, over the limit of {limit}.")


def _unknown(catalog: Catalog, name: str, values: Iterable[Any]) -> RecordError:
    bad = next((v for v in values if not isinstance(v, str) or v not in catalog.values), None)
    return RecordError(catalog.reason, name, catalog.unknown_message(bad, name))


# --- coercions (slow path: the value is not already of the right Python type) ------------------


def _as_str(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type(name, "a string", value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _type(name, "a string", value)
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _as_number(name: str, value: Any, integer: bool) -> int | float:
    expected = "an integer" if integer else "a number"
    if isinstance(value, bool):
        raise _type(name, expected, value)
    if isinstance(value, int | float):
        number: int | float = value
    elif isinstance(value, str):
        try:
            number = int(value) if re.fullmatch(r"\s*-?\d+\s*", value) else float(value)
        except ValueError:
            raise _type(name, expected, value) from None
    else:
        raise _type(name, expected, value)
    if isinstance(number, float):
        if not math.isfinite(number):
            raise _type(name, expected, value)
        if integer:
            if not number.is_integer():
                raise _type(name, expected, value)
            number = int(number)
    return number


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _type(name, "true or false", value)


def is_date(value: str) -> bool:
    """format: date — the shape YYYY-MM-DD and a real calendar day."""
    if _DATE.fullmatch(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_datetime(value: str) -> bool:
    """format: date-time — ISO 8601 with a real day and time."""
    if _DATETIME.fullmatch(value) is None:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return False
    return True


def _check_values(name: str, obj: dict[str, Any], max_length: int | None, item_types: frozenset[type] | None,
                  item_expected: str) -> dict[str, Any]:
    """An object's values against its `values:` schema beyond their type: a string's length, a list's items."""
    for k, v in obj.items():
        if max_length is not None and v.__class__ is str and len(v) > max_length:
            raise _too_long(f"{name}.{k}", v, max_length)
        if item_types is not None and v.__class__ is list:
            for x in v:
                if x.__class__ not in item_types:
                    raise _item_type(f"{name}.{k}", item_expected, x)
    return obj


def _as_item(value: Any) -> Any:
    """Catalog entries are strings; an audience id exported as the number 984 means the tag '984'."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _as_str("", value) if not isinstance(value, float) or math.isfinite(value) else value
    return value


def _catalog_items(name: str, values: list[Any]) -> list[Any]:
    """A list's items as catalog entries: numbers become strings; a nested or empty item fails the record."""
    for v in values:
        if isinstance(v, dict | list | tuple | set) or v is None or isinstance(v, bool):
            raise _item_type(name, "strings", v)
    return [_as_item(v) for v in values]


def _dropped(catalog: Catalog, name: str, value: Any) -> tuple[str, str, str]:
    """The warning for an unknown entry dropped under `drop_and_warn`."""
    return (catalog.reason, name, catalog.unknown_message(value, name, with_hint=False)
            + " It was dropped; the record was sent without it.")


def _check_items(catalog: Catalog, name: str, values: list[Any], warnings: list[tuple[str, str, str]] | None) -> list[Any]:
    """Slow path of a catalog check: numbers become strings; unknown entries fail the record or are dropped."""
    items = _catalog_items(name, values)
    known = [v for v in items if isinstance(v, str) and v in catalog.values]
    if len(known) == len(items):
        return items
    if warnings is None:
        raise _unknown(catalog, name, items)
    warnings.extend(_dropped(catalog, name, v) for v in items if not (isinstance(v, str) and v in catalog.values))
    return known


def _drop_unknown_keys(catalog: Catalog, name: str, obj: dict[str, Any], warnings: list[tuple[str, str, str]]) -> dict[str, Any]:
    warnings.extend(_dropped(catalog, name, k) for k in obj if k not in catalog.values)
    return {k: v for k, v in obj.items() if k in catalog.values}


def unsendable(payload: Mapping[str, Any]) -> RecordError | None:
    """The first field holding a value JSON cannot carry faithfully (NaN, infinity, > 64-bit ints)."""
    for name, value in payload.items():
        why = find_unsendable(value)
        if why is not None:
            return RecordError(MappingReason.TYPE_MISMATCH, name, f"{name}: {why}; fix the source value.")
    return None


def _normalized(name: str, normalize: Callable[[str], str | None], value: str) -> str | None:
    """The field's `normalize:` steps on a value; a step's TransformError fails the record on this field."""
    try:
        return normalize(value)
    except TransformError as exc:
        raise RecordError(exc.code, name, exc.message) from None


# the failure builders and coercions the generated code calls, under their own names
_HELPERS = {fn.__name__: fn for fn in (
    _missing, _type, _item_type, _too_long, _too_short, _bad_phone, _bad_email, _bad_format, _bad_pattern,
    _bad_enum, _too_many, _unknown, _as_str, _as_number, _as_bool, _check_values, _check_items, _drop_unknown_keys,
    _normalized, *VALUE_HELPERS,
)}
def _expected(types: tuple[str, ...]) -> str:
    words = {"string": "a string", "number": "a number", "integer": "an integer", "boolean": "true or false",
             "array": "a list", "object": "an object"}
    return " or ".join(words[t] for t in types)


def _empty_condition(f: FieldSchema, converted: str | None = None) -> str:
    """A format string (over `{var}`) true when the field's value counts as absent.

    `converted`: the class the value was converted to (or left None) when it was read; a list or a dict
    that is empty is falsy, so the test needs no empty container to compare with."""
    types = f.types
    empty = "{var} is None or {var} == ''"
    if types == ("array",):
        empty = "not {var}" if converted == "list" else "{var} is None or {var} == []"
    elif types == ("object",):
        empty = "not {var}" if converted == "dict" else "{var} is None or {var} == {{}}"
    if f.required and types == ("string",):
        empty += " or ({var}.__class__ is str and {var}.isspace())"
    return empty


def _has_string_checks(f: FieldSchema) -> bool:
    return bool(f.maxLength or f.minLength or f.format or f.pattern)


class CheckCompiler:
    """Emits the validation statements for each field into a CodeGen."""

    def __init__(self, gen: CodeGen, catalogs: Mapping[str, Catalog], policies: Mapping[str, str]) -> None:
        self.gen = gen
        self.catalogs = catalogs
        self.policies = policies  # catalog name → "reject" | "drop_and_warn"
        for name, fn in _HELPERS.items():
            gen.bind(name, fn)
        gen.bind("_RecordError", RecordError)
        gen.bind("_nonfinite", Unsendable)
        gen.bind("_has_nonfinite", has_nonfinite)
        self.key_var = "None"  # the record's key once checked (the key field is emitted first), for `Unsendable`
        gen.bind("_E164", E164.fullmatch)
        gen.bind("_EMAIL", _LENIENT_EMAIL.fullmatch)
        gen.bind("_DATE", _DATE.fullmatch)
        gen.bind("_DATETIME", _DATETIME.fullmatch)
        for name, (digest, hash_hex) in DIGESTS.items():
            gen.bind(f"_HASHED_{name}", digest.fullmatch)
            gen.bind(f"_{name}_hex", hash_hex)

    def emit_field(self, name: str, f: FieldSchema, var: str, source: str | None) -> str | None:
        """Statements that leave the field's checked value in `var`; returns its presence condition.

        `source` is the expression that yields the field's raw value (None: the field is not mapped).
        """
        emit = self.gen.emit
        n = self.gen.const(name, "f")
        if source is None:
            emit(f"{var} = None")
            return "False"
        converted = self._emit_source(var, source)
        emit("if " + _empty_condition(f, converted).format(var=var) + ":")
        emit(f"raise _missing({n})" if f.required else f"{var} = None", 2)
        emit("else:")
        if len(f.types) == 1:
            self._emit_typed(f.types[0], n, f, var)
        else:
            self._emit_union(n, f, var)
        if f.enum is not None:
            self._emit_enum(n, list(f.enum), var)
        self._emit_finite(n, f, var)
        return None if f.required else f"{var} is not None"

    def _emit_finite(self, n: str, f: FieldSchema, var: str) -> None:
        """No NaN or infinity is sent (orjson would write null, clearing the value): checked only where a
        float can be (`float_holding`), so a record of strings pays nothing for it."""
        emit, place = self.gen.emit, float_holding(f)
        if values_in_one_loop(f):
            return  # checked with the values' types (`_emit_object`)
        raising = f"raise _nonfinite({n}, {var}, {self.key_var})"
        if place == "scalar":
            emit(f"if {var}.__class__ is float and {var} - {var} != 0.0:", 2)
            emit(raising, 3)
        elif place == "values":
            emit(f"if {var} is not None:", 2)
            emit(f"for x in {var}{'.values()' if f.types == ('object',) else ''}:", 3)
            emit("if x.__class__ is float and x - x != 0.0:", 4)
            emit(raising, 5)
        elif place == "nested":
            emit(f"if {var} is not None and _has_nonfinite({var}):", 2)
            emit(raising, 3)

    def _emit_source(self, var: str, source: str) -> str | None:
        """`var = source`; a list or an object read from a text cell (the mapping's `_to_list(...)` or
        `_to_object(...)`) is converted only when it is not one already: no call for the common record.
        Returns the class the value then is, if not None ("list", "dict"), or None: any value."""
        for fn, cls in (("_to_list", "list"), ("_to_object", "dict")):
            inner = source[len(fn) + 1:-1]
            if source.startswith(fn + "(") and source.endswith(")") and one_expression(inner) and fn in self.gen.ns:
                self.gen.emit(f"{var} = {inner}")
                self.gen.emit(f"if {var}.__class__ is not {cls}:")
                self.gen.emit(f"{var} = {fn}({var})", 2)
                return cls
        self.gen.emit(f"{var} = {source}")
        return None

    def _emit_union(self, n: str, f: FieldSchema, var: str) -> None:
        """A field of several types: the value must be one of them; strings get their checks."""
        g, emit = self.gen, self.gen.emit
        allowed = g.const(tuple(t for ty in f.types for t in _PY_TYPES[ty]), "t")
        emit(f"if {var}.__class__ not in {allowed}:", 2)
        emit(f"raise _type({n}, {g.const(_expected(f.types))}, {var})", 3)
        if "string" in f.types and _has_string_checks(f):
            emit(f"if {var}.__class__ is str:", 2)
            self._emit_string_checks(n, f, var, 3)

    def _emit_enum(self, n: str, allowed: list[Any], var: str) -> None:
        g, emit = self.gen, self.gen.emit
        emit(f"if {var} not in {g.const(allowed)}:", 2)
        emit(f"raise _bad_enum({n}, {var}, {g.const(allowed)})", 3)

    def _emit_string_checks(self, n: str, f: FieldSchema, var: str, at: int) -> None:
        emit = self.gen.emit
        if f.maxLength is not None:
            emit(f"if len({var}) > {int(f.maxLength)}:", at)
            emit(f"raise _too_long({n}, {var}, {int(f.maxLength)})", at + 1)
        if f.minLength:
            emit(f"if len({var}) < {int(f.minLength)}:", at)
            emit(f"raise _too_short({n}, {var}, {int(f.minLength)})", at + 1)
        if f.format is not None:
            self._emit_format_check(n, f, var, at)
        if f.pattern is not None:
            pat = self.gen.const(re.compile(anchored(f.pattern)).search, "re")
            emit(f"if {pat}({var}) is None:", at)
            emit(f"raise _bad_pattern({n}, {var}, {self.gen.const(f.pattern)})", at + 1)

    def _emit_format_check(self, n: str, f: FieldSchema, var: str, at: int) -> None:
        g, emit = self.gen, self.gen.emit
        if f.format == "e164":
            emit(f"if _E164({var}) is None:", at)
            emit(f"raise _bad_phone({n}, {var})", at + 1)
        elif f.format == "email":
            if f.strictness == "strict":
                emit(f"if not {g.bind('_strict_email', strict_email)}({var}):", at)
            else:
                emit(f"if _EMAIL({var}) is None:", at)
            emit(f"raise _bad_email({n}, {var})", at + 1)
        elif f.format in ("date", "date-time"):
            fn = g.bind("_is_date", is_date) if f.format == "date" else g.bind("_is_datetime", is_datetime)
            emit(f"if not {fn}({var}):", at)
            emit(f"raise _bad_format({n}, {var}, {g.const(f.format)})", at + 1)

    def _emit_typed(self, ty: str, n: str, f: FieldSchema, var: str) -> None:
        """A field of one type: coerce the value to it (scalars) or check it (lists and objects)."""
        emit = self.gen.emit
        if ty == "string" and (f.normalize is not None or f.hash is not None):
            self._emit_normalized(n, f, var)
        elif ty == "string":
            emit(f"if {var}.__class__ is not str:", 2)
            emit(f"{var} = _as_str({n}, {var})", 3)
            self._emit_string_checks(n, f, var, 2)
        elif ty in ("number", "integer"):
            integer = ty == "integer"
            cond = f"{var}.__class__ is not int" + ("" if integer else f" and {var}.__class__ is not float")
            emit(f"if {cond}:", 2)
            emit(f"{var} = _as_number({n}, {var}, {integer})", 3)
        elif ty == "boolean":
            emit(f"if {var}.__class__ is not bool:", 2)
            emit(f"{var} = _as_bool({n}, {var})", 3)
        elif ty == "array":
            self._emit_array(n, f, var)
        elif ty == "object":
            self._emit_object(n, f, var)

    def _emit_normalized(self, n: str, f: FieldSchema, var: str) -> None:
        """A string with `normalize:`/`hash:`: an existing digest passes; else normalise, check, then hash.
        Only such fields run this code, so the others cost nothing extra."""
        g, emit = self.gen, self.gen.emit
        emit(f"if {var}.__class__ is not str:", 2)
        emit(f"{var} = _as_str({n}, {var})", 3)
        at = 2
        if f.hash is not None:
            emit(f"if _HASHED_{f.hash}({var}.strip()) is not None:", 2)
            emit(f"{var} = {var}.strip().lower()", 3)
            emit("else:", 2)
            at = 3
        normalize = g.const(build_normalizer(as_names(f.normalize)), "norm")
        emit(f"{var} = _normalized({n}, {normalize}, {var})", at)
        if f.required:
            emit(f"if {var} is None:", at)
            emit(f"raise _missing({n})", at + 1)
        elif _has_string_checks(f) or f.hash is not None:
            emit(f"if {var} is not None:", at)
            at += 1
        self._emit_string_checks(n, f, var, at)
        if f.hash is not None:
            emit(f"{var} = _{f.hash}_hex({var})", at)

    def _emit_array(self, n: str, f: FieldSchema, var: str) -> None:
        g, emit = self.gen, self.gen.emit
        emit(f"if {var}.__class__ is not list:", 2)
        emit(f"raise _type({n}, 'a list', {var})", 3)
        if f.maxItems is not None:
            emit(f"if len({var}) > {int(f.maxItems)}:", 2)
            emit(f"raise _too_many({n}, {var}, {int(f.maxItems)})", 3)
        catalog_name = f.catalog or (f.items.catalog if f.items else None)
        if catalog_name is not None:
            self._emit_catalog(catalog_name, n, var, keys=False)
        elif f.items is not None:
            allowed = g.const(frozenset(t for ty in f.items.types for t in _PY_TYPES[ty]), "t")
            emit(f"for x in {var}:", 2)
            emit(f"if x.__class__ not in {allowed}:", 3)
            emit(f"raise _item_type({n}, {g.const(_expected(f.items.types))}, x)", 4)

    def _emit_object(self, n: str, f: FieldSchema, var: str) -> None:
        g, emit = self.gen, self.gen.emit
        emit(f"if {var}.__class__ is not dict:", 2)
        emit(f"raise _type({n}, 'an object', {var})", 3)
        if f.keys_catalog is not None:
            self._emit_catalog(f.keys_catalog, n, var, keys=True)
        if f.values is None:
            return
        allowed = g.const(frozenset(t for ty in f.values.types for t in _PY_TYPES[ty]), "t")
        expected = g.const(_expected(f.values.types))
        at = 2
        if f.keys_catalog is not None and self.policies.get(f.keys_catalog, "reject") == "drop_and_warn":
            emit(f"if {var} is not None:", 2)  # every key was unknown and dropped: no values to check
            at = 3
        if values_in_one_loop(f):  # each value's type and finiteness, in one pass
            emit_values_loop(emit, f"_checked_values({n}, {var}, {allowed}, {expected}, {self.key_var})", var, allowed, at)
            return
        emit(f"if not {allowed}.issuperset(map(type, {var}.values())):", at)
        emit(f"{var} = _fix_values({n}, {var}, {allowed}, {expected})", at + 1)
        emit(f"if not {var}:", at + 1)
        emit(f"{var} = None", at + 2)
        self._emit_value_checks(n, f.values, var)

    def _emit_value_checks(self, n: str, values: FieldSchema, var: str) -> None:
        """An object's values: their strings' length and their lists' items, when `values:` limits them."""
        g, emit = self.gen, self.gen.emit
        items = values.items
        if values.maxLength is None and items is None:
            return
        item_types = None if items is None else g.const(frozenset(t for ty in items.types for t in _PY_TYPES[ty]), "t")
        expected = g.const(_expected(items.types) if items is not None else "")
        emit(f"if {var} is not None:", 2)
        emit(f"{var} = _check_values({n}, {var}, {values.maxLength}, {item_types}, {expected})", 3)

    def _emit_catalog(self, catalog_name: str, n: str, var: str, keys: bool) -> None:
        g, emit = self.gen, self.gen.emit
        catalog = self.catalogs[catalog_name]
        cat = g.const(catalog, "cat")
        values = g.const(catalog.values, "cv")
        # issuperset raises TypeError on an unhashable item (an object inside the list): the slow path names it
        emit("try:", 2)
        emit(f"_ok = {values}.issuperset({var})", 3)
        emit("except TypeError:", 2)
        emit("_ok = False", 3)
        emit("if not _ok:", 2)
        drop = self.policies.get(catalog_name, "reject") == "drop_and_warn"
        if keys:
            if drop:
                emit(f"{var} = _drop_unknown_keys({cat}, {n}, {var}, w)", 3)
            else:
                emit(f"raise _unknown({cat}, {n}, {var})", 3)
        else:
            emit(f"{var} = _check_items({cat}, {n}, {var}, {'w' if drop else 'None'})", 3)
        if drop:
            emit(f"if not {var}:", 3)
            emit(f"{var} = None", 4)
