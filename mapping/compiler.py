"""Compile a user's field mapping into one plain Python function.

The mapping is checked against the action's fields once, before any record is read, and every
problem is reported together (`MappingConfigError`). What comes out is a function built from
generated source: one dict literal whose values are inlined getters and transform calls, so a
record costs one call and no interpretation. When a record fails, a slower per-field pass finds
which field failed, so the error still names it.

The source is generated in a `CodeGen`, which the compiled mapping keeps: the record compiler
continues it (`CodeGen.child`) to inline each field's expression into its own checks.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from destkit.mapping.codegen import CodeGen
from destkit.mapping.errors import (
    MappingConfigError,
    MappingIssue,
    MappingReason,
    RecordError,
    TransformError,
    not_unicode_message,
)
from destkit.mapping.json_exact import loads_exact
from destkit.mapping.paths import compile_path, split_path
from destkit.mapping.templates import Template, TemplateError
from destkit.mapping.transforms import TRANSFORMS, build_transform, chain

_SOURCE_KEYS = ("path", "const", "template")
_FIELD_KEYS = {*_SOURCE_KEYS, "default", "transform"}


@dataclass(frozen=True, slots=True)
class FieldShape:
    """What the mapping needs to know of a destination field (the runtime derives it from the spec)."""

    types: tuple[str, ...]
    required: bool = False


@dataclass
class CompiledMapping:
    """The compiled mapping: `apply(record) -> payload` plus what config-time checks need."""

    apply: Callable[[Mapping[str, Any]], dict[str, Any]]
    fields: tuple[str, ...]
    constants: dict[str, Any] = field(default_factory=dict)
    object_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""
    per_field: dict[str, Callable[[Mapping[str, Any]], Any]] = field(default_factory=dict)
    # Each field's value as a Python expression over the record `s`, and the CodeGen whose names it
    # uses: lets the runtime inline the mapping into its own generated checks (one function per
    # record, no intermediate dict) by continuing `codegen.child()`.
    expressions: dict[str, str] = field(default_factory=dict)
    codegen: CodeGen = field(default_factory=CodeGen)

    def field_value(self, record: Mapping[str, Any], name: str) -> Any:
        """One field's mapped value, or None if it is unmapped or fails (for naming a failed record)."""
        fn = self.per_field.get(name)
        if fn is None:
            return None
        try:
            return fn(record)
        except Exception:
            return None


def _to_list(value: Any) -> Any:
    """Array fields accept a list, a JSON array in a string (CSV cells), or a delimited string."""
    cls = value.__class__
    if cls is str:  # a CSV cell, the common caller: tested first, by class (an isinstance of a union costs ~0.5 µs)
        return _list_from_text(value.strip())
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if isinstance(value, str):
        return _list_from_text(value.strip())
    return [value]


def _list_from_text(text: str) -> list[Any] | None:
    """A text cell as a list: empty is absent, `[...]` must be a JSON array, else comma-separated."""
    if not text:
        return None
    if text[0] == "[":
        parsed = _json_cell(text, "a cell that starts with '[' must be a JSON array")
        if parsed.__class__ is list:
            return parsed
    return [p.strip() for p in text.split(",") if p.strip()]


def _to_object(value: Any) -> Any:
    """Object fields accept a dict or a JSON object in a string (CSV cells)."""
    if value.__class__ is str or isinstance(value, str):  # a CSV cell, the common caller: tested first, by class
        text = value.strip()
        if not text:
            return None
        parsed = _json_cell(text, "expected a JSON object such as {\"plan\": \"pro\"}")
        if parsed.__class__ is dict:
            return parsed
    elif value is None or isinstance(value, dict):
        return value
    raise TransformError(MappingReason.TYPE_MISMATCH, f"expected an object of key/value pairs, got {type(value).__name__}; "
                         "map an object (or a text cell holding a JSON object) to this field")


def _json_cell(text: str, message: str) -> Any:
    """`text` parsed as JSON, exactly as json reads it (`json_exact.loads_exact`); `message` says what was
    expected when it is not JSON."""
    try:
        return loads_exact(text)
    except ValueError:
        raise TransformError(MappingReason.TYPE_MISMATCH, message) from None
    except RecursionError:  # json's parser recurses per level: a hostile cell must fail its row, not the run
        raise TransformError(MappingReason.TYPE_MISMATCH, "the JSON in this cell is nested over 1,000 levels "
                             "deep; flatten it") from None


def _compact(obj: dict[str, Any]) -> dict[str, Any] | None:
    out = {k: v for k, v in obj.items() if v is not None and v != ""}
    return out or None


def _is_key_by_key(spec: Any) -> bool:
    """An object field mapped key by key: `{loyalty_tier: attributes.tier, audience: {const: VIP}}`."""
    return isinstance(spec, dict) and bool(spec) and not (set(spec) & set(_SOURCE_KEYS))


def _transform_fix(spec: Any) -> str:
    """`did you mean 'trim'?` for a misspelt transform name, else where the transforms are listed."""
    name = spec if isinstance(spec, str) else next(iter(spec), None) if isinstance(spec, dict) and len(spec) == 1 else None
    if name in TRANSFORMS:  # a known transform given a wrong argument: the message says which one it takes
        return f"give '{name}' the argument its message names (the README lists each transform's arguments)."
    close = difflib.get_close_matches(name, sorted(TRANSFORMS), n=1, cutoff=0.6) if isinstance(name, str) else []
    listed = "see the transform list in the README (trim, lower, e164, ...)."
    return f"did you mean the transform '{close[0]}'?" if close else listed


def _suggestion(close: list[str], otherwise: str) -> str:
    return f"did you mean '{close[0]}'?" if close else otherwise


class _Builder:
    """Checks each field's mapping and turns it into a Python expression over the record `s`.

    Every value the expressions use is bound in `gen`; problems are collected in `issues`.
    """

    def __init__(self, gen: CodeGen, fields: Mapping[str, FieldShape]) -> None:
        self.gen = gen
        self.fields = fields
        self.issues: list[MappingIssue] = []
        self.exprs: dict[str, str] = {}
        self.constants: dict[str, Any] = {}
        self.object_keys: dict[str, tuple[str, ...]] = {}

    def issue(self, key: str, message: str, fix: str) -> None:
        self.issues.append(MappingIssue(key, message, fix))

    # --- destination fields ---------------------------------------------------------------------

    def add_field(self, dest: str, spec: Any, key: str) -> None:
        """Check one destination field's mapping and record its expression (or the issues)."""
        shape = self.fields.get(dest)
        if shape is None:
            close = difflib.get_close_matches(str(dest), list(self.fields), n=1, cutoff=0.5)
            self.issue(key, f"'{dest}' is not a field of this action.",
                       _suggestion(close, f"map one of: {', '.join(self.fields)}."))
            return
        if "object" in shape.types and _is_key_by_key(spec):
            self.object_keys[dest] = tuple(str(p) for p in spec)
            self.exprs[dest] = self._key_by_key_expr(spec, key)
            return
        expr = self.value_expr(spec, key)
        if expr is not None:
            self._note_constant(dest, spec, shape)
            self.exprs[dest] = self._coerced(expr, shape)

    def require_mapped(self, mapping: Mapping[str, Any], key_prefix: str) -> None:
        for name, shape in self.fields.items():
            if shape.required and name not in mapping:
                self.issue(f"{key_prefix}.{name}", f"the required field '{name}' is not mapped.",
                           f"add `{name}: <source path>` to the mapping.")

    def _key_by_key_expr(self, spec: dict[Any, Any], key: str) -> str:
        parts = []
        for prop, prop_spec in spec.items():
            e = self.value_expr(prop_spec, f"{key}.{prop}")
            if e is not None:
                parts.append(f"{self.gen.const(str(prop), 'k')}: {e}")
        return f"{self.gen.bind('_compact', _compact)}({{" + ", ".join(parts) + "})"

    def _note_constant(self, dest: str, spec: Any, shape: FieldShape) -> None:
        """A constant is checked against the catalogs once, as the records will see it."""
        if not (isinstance(spec, dict) and "const" in spec and "transform" not in spec):
            return
        self.constants[dest] = spec["const"]
        if "array" in shape.types and "string" not in shape.types:
            with contextlib.suppress(TransformError):
                self.constants[dest] = _to_list(spec["const"])

    def _coerced(self, expr: str, shape: FieldShape) -> str:
        """Array and object fields also take their value from a text cell (CSV)."""
        if "string" in shape.types:
            return expr
        if "array" in shape.types:
            return f"{self.gen.bind('_to_list', _to_list)}({expr})"
        if "object" in shape.types:
            return f"{self.gen.bind('_to_object', _to_object)}({expr})"
        return expr

    # --- one value ------------------------------------------------------------------------------

    def value_expr(self, spec: Any, key: str) -> str | None:
        """The expression for one value mapping (a path, or a dict with path/const/template)."""
        if isinstance(spec, str):
            return self._path_expr(spec, key)
        if not isinstance(spec, dict):
            self._not_a_value_mapping(spec, key)
            return None
        kind = self._source_kind(spec, key)
        if kind is None:
            return None
        expr = self._source_expr(kind, spec[kind], key)
        if expr is None:
            return None
        if "default" in spec:
            expr = self._default_expr(expr, spec["default"])
        if spec.get("transform") is not None:
            return self._transform_expr(expr, spec["transform"], f"{key}.transform")
        return expr

    def _not_a_value_mapping(self, spec: Any, key: str) -> None:
        if isinstance(spec, int | float | bool) or spec is None:
            if spec is None:  # `first_name:` with nothing after it
                self.issue(key, "null is not a mapping.", "give a source path (e.g. `first_name: fname`), or remove "
                                                          "the line to leave the field unmapped.")
                return
            literal = str(spec).lower() if isinstance(spec, bool) else repr(spec)  # as YAML writes it
            self.issue(key, f"{literal} is not a mapping.", f"write {{const: {literal}}} for a constant value.")
        else:
            self.issue(key, "a field mapping must be a source path or a mapping with path, const or template.",
                       "write e.g. `email` or `{path: email, transform: [lower]}`.")

    def _source_kind(self, spec: dict[Any, Any], key: str) -> str | None:
        """Which of path/const/template the mapping reads from, if its options are valid."""
        unknown = set(spec) - _FIELD_KEYS
        if unknown:
            bad = sorted(unknown, key=str)[0]
            close = difflib.get_close_matches(str(bad), sorted(_FIELD_KEYS), n=1)
            self.issue(f"{key}.{bad}", f"'{bad}' is not a mapping option.",
                       _suggestion(close, f"use one of {', '.join(sorted(_FIELD_KEYS))}."))
            return None
        sources = [k for k in _SOURCE_KEYS if k in spec]
        if len(sources) != 1:
            self.issue(key, "a field mapping needs exactly one of path, const or template"
                       + (f" (it has {', '.join(sources)})." if sources else "."),
                       "keep one source: `{path: email}`, `{const: vip}` or `{template: '{{ first }} {{ last }}'}`.")
            return None
        return sources[0]

    def _source_expr(self, kind: str, value: Any, key: str) -> str | None:
        if kind == "path":
            return self._path_expr(value, f"{key}.path")
        if kind == "const":
            return self.gen.const(value, "c")
        return self._template_expr(value, f"{key}.template")

    def _default_expr(self, expr: str, default: Any) -> str:
        d, v = self.gen.const(default, "d"), self.gen.var("_v")
        return f"({d} if ({v} := {expr}) is None or {v} == '' else {v})"

    def _path_expr(self, path: Any, key: str) -> str | None:
        try:
            parts = split_path(path)
        except ValueError as exc:
            self.issue(key, str(exc) + ".", "give the source field's name, with dots for nesting.")
            return None
        if len(parts) == 1:
            return f"s.get({self.gen.const(parts[0], 'k')})"
        return f"{self.gen.const(compile_path(path), 'g')}(s)"

    def _template_expr(self, source: Any, key: str) -> str | None:
        if not isinstance(source, str):
            self.issue(key, "a template must be a string.", "write e.g. {template: '{{ first_name }} {{ last_name }}'}.")
            return None
        try:
            template = Template(source)
        except TemplateError as exc:
            self.issue(key, f"{exc}.", "fix the Jinja2 syntax; only {{ expressions }} and {% if %}/{% for %} blocks are allowed.")
            return None

        def render(record: Mapping[str, Any]) -> str:
            try:
                return template.render(record)
            except TemplateError as exc:
                raise TransformError(MappingReason.MAPPING_ERROR, str(exc)) from None

        return f"{self.gen.const(render, 't')}(s)"

    def _transform_expr(self, expr: str, transforms: Any, key: str) -> str | None:
        if not isinstance(transforms, list):
            transforms = [transforms]
        built = []
        for i, t in enumerate(transforms):
            try:
                built.append(build_transform(t))
            except ValueError as exc:
                self.issue(f"{key}[{i}]", f"{exc}.", _transform_fix(t))
                return None
        fn = chain(built)
        return expr if fn is None else f"{self.gen.const(fn, 'f')}({expr})"


def compile_mapping(mapping: Any, fields: Mapping[str, FieldShape], *, key_prefix: str = "mapping") -> CompiledMapping:
    """Check `mapping` against the action's `fields` and compile it; raises MappingConfigError."""
    if not isinstance(mapping, dict) or not mapping:
        required = ", ".join(n for n, f in fields.items() if f.required) or "any field"
        raise MappingConfigError([MappingIssue(key_prefix, "the mapping is empty or not a mapping of destination fields.",
                                               f"map at least the required fields: {required}.")])
    b = _Builder(CodeGen(), fields)
    for dest, spec in mapping.items():
        b.add_field(dest, spec, f"{key_prefix}.{dest}")
    b.require_mapped(mapping, key_prefix)
    if b.issues:
        raise MappingConfigError(b.issues)
    return _assemble(b)


def _assemble(b: _Builder) -> CompiledMapping:
    """Build `_map` (the whole payload as one dict literal) and one function per field."""
    gen, exprs = b.gen, b.exprs
    gen.emit("return {")
    for name, expr in exprs.items():
        gen.emit(f"{gen.const(name, 'n')}: {expr},", 2)
    gen.emit("}")
    fast, source = gen.build("_map", "s", "<destkit mapping>")
    sources = [source]
    per_field: dict[str, Callable[[Mapping[str, Any]], Any]] = {}
    for name, expr in exprs.items():
        gen.emit(f"return {expr}")
        per_field[name], source = gen.build(gen.var("_field"), "s", "<destkit mapping>")
        sources.append(source)
    return CompiledMapping(apply=_make_apply(fast, per_field), fields=tuple(exprs), constants=b.constants,
                           object_keys=b.object_keys, source="\n".join(sources), per_field=per_field,
                           expressions=dict(exprs), codegen=gen)


def _make_apply(fast: Callable[[Mapping[str, Any]], dict[str, Any]],
                per_field: Mapping[str, Callable[[Mapping[str, Any]], Any]]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """`fast`, with a failure re-raised as a RecordError that names the field (found by `per_field`)."""

    def apply(record: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return fast(record)
        except RecordError:
            raise
        except Exception:
            raise _locate_failure(per_field, record) from None

    return apply


def _locate_failure(per_field: Mapping[str, Callable[[Mapping[str, Any]], Any]], record: Mapping[str, Any]) -> RecordError:
    """The RecordError of the first field whose mapping fails on `record`."""
    for name, fn in per_field.items():
        try:
            fn(record)
        except TransformError as exc:
            return RecordError(exc.code, name, exc.message)
        except UnicodeError:  # a hash or a text transform met a lone surrogate: the value is no Unicode text
            return RecordError(MappingReason.INVALID_VALUE, name, not_unicode_message(name))
        except Exception as exc:  # a transform met a value it was not written for
            return RecordError(MappingReason.MAPPING_ERROR, name, f"mapping failed: {type(exc).__name__}")
    return RecordError(MappingReason.MAPPING_ERROR, None, "mapping failed")
