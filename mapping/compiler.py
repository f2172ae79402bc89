"""Compile a user's field mapping into one plain Python function.

The mapping is checked against the action's fields once, before any record is read, and every
problem is reported together (`MappingConfigError`). What comes out is a function built from
generated source: one dict literal whose values are inlined getters and transform calls, so a
record costs one call and no interpretation. When a record fails, a slower per-field pass finds
which field failed, so the error still names it.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from destkit.mapping.errors import MappingConfigError, MappingIssue, RecordError, TransformError
from destkit.mapping.paths import compile_path, split_path
from destkit.mapping.templates import Template, TemplateError
from destkit.mapping.transforms import build_transform, chain

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
    # Each field's value as a Python expression over the record `s`, and the names it uses: lets the
    # runtime inline the mapping into its own generated checks (one function per record, no dict).
    expressions: dict[str, str] = field(default_factory=dict)
    namespace: dict[str, Any] = field(default_factory=dict)

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
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                raise TransformError("type_mismatch", "a cell that starts with '[' must be a JSON array") from None
            if isinstance(parsed, list):
                return parsed
        return [p.strip() for p in text.split(",") if p.strip()]
    return [value]


def _to_object(value: Any) -> Any:
    """Object fields accept a dict or a JSON object in a string (CSV cells)."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            parsed = json.loads(text)
        except ValueError:
            raise TransformError("type_mismatch", "expected a JSON object such as {\"plan\": \"pro\"}") from None
        if isinstance(parsed, dict):
            return parsed
    raise TransformError("type_mismatch", f"expected an object of key/value pairs, got {type(value).__name__}")


def _compact(obj: dict[str, Any]) -> dict[str, Any] | None:
    out = {k: v for k, v in obj.items() if v is not None and v != ""}
    return out or None


class _Builder:
    """Turns each field's mapping into a Python expression over the record `s`."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {
            "_m_to_list": _to_list,
            "_m_to_object": _to_object,
            "_m_compact": _compact,
        }
        self.issues: list[MappingIssue] = []
        self._n = 0

    def name(self, value: Any, prefix: str) -> str:
        self._n += 1
        key = f"_m{prefix}{self._n}"  # "_m": the runtime may inline these expressions next to its own names
        self.namespace[key] = value
        return key

    def issue(self, key: str, message: str, fix: str) -> None:
        self.issues.append(MappingIssue(key, message, fix))

    def value_expr(self, spec: Any, key: str) -> str | None:
        """The expression for one value mapping (a path, or a dict with path/const/template)."""
        if isinstance(spec, str):
            return self._path_expr(spec, key)
        if not isinstance(spec, dict):
            if isinstance(spec, int | float | bool) or spec is None:
                self.issue(key, f"{spec!r} is not a mapping.", f"write {{const: {spec!r}}} for a constant value.")
            else:
                self.issue(key, "a field mapping must be a source path or a mapping with path, const or template.",
                           "write e.g. `email` or `{path: email, transform: [lower]}`.")
            return None
        unknown = set(spec) - _FIELD_KEYS
        if unknown:
            bad = sorted(unknown)[0]
            close = difflib.get_close_matches(bad, sorted(_FIELD_KEYS), n=1)
            self.issue(f"{key}.{bad}", f"'{bad}' is not a mapping option.",
                       f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(sorted(_FIELD_KEYS))}.")
            return None
        sources = [k for k in _SOURCE_KEYS if k in spec]
        if len(sources) != 1:
            self.issue(key, "a field mapping needs exactly one of path, const or template"
                       + (f" (it has {', '.join(sources)})." if sources else "."),
                       "keep one source: `{path: email}`, `{const: vip}` or `{template: '{{ first }} {{ last }}'}`.")
            return None
        kind = sources[0]
        if kind == "path":
            expr = self._path_expr(spec["path"], f"{key}.path")
        elif kind == "const":
            expr = self.name(spec["const"], "c")
        else:
            expr = self._template_expr(spec["template"], f"{key}.template")
        if expr is None:
            return None
        if "default" in spec:
            d = self.name(spec["default"], "d")
            expr = f"({d} if (_mv := {expr}) is None or _mv == '' else _mv)"
        transforms = spec.get("transform")
        if transforms is not None:
            expr = self._transform_expr(expr, transforms, f"{key}.transform")
        return expr

    def _path_expr(self, path: Any, key: str) -> str | None:
        try:
            parts = split_path(path)
        except ValueError as exc:
            self.issue(key, str(exc) + ".", "give the source field's name, with dots for nesting.")
            return None
        if len(parts) == 1:
            return f"s.get({self.name(parts[0], 'k')})"
        return f"{self.name(compile_path(path), 'g')}(s)"

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
                raise TransformError("mapping_error", str(exc)) from None

        return f"{self.name(render, 't')}(s)"

    def _transform_expr(self, expr: str, transforms: Any, key: str) -> str | None:
        if not isinstance(transforms, list):
            transforms = [transforms]
        built = []
        for i, t in enumerate(transforms):
            try:
                built.append(build_transform(t))
            except ValueError as exc:
                self.issue(f"{key}[{i}]", f"{exc}.", "see the transform list in the README (trim, lower, e164, ...).")
                return None
        fn = chain(built)
        return expr if fn is None else f"{self.name(fn, 'f')}({expr})"


def compile_mapping(mapping: Any, fields: Mapping[str, FieldShape], *, key_prefix: str = "mapping") -> CompiledMapping:
    """Check `mapping` against the action's `fields` and compile it; raises MappingConfigError."""
    b = _Builder()
    if not isinstance(mapping, dict) or not mapping:
        b.issue(key_prefix, "the mapping is empty or not a mapping of destination fields.",
                f"map at least the required fields: {', '.join(n for n, f in fields.items() if f.required) or 'any field'}.")
        raise MappingConfigError(b.issues)

    exprs: dict[str, str] = {}
    constants: dict[str, Any] = {}
    object_keys: dict[str, tuple[str, ...]] = {}
    for dest, spec in mapping.items():
        key = f"{key_prefix}.{dest}"
        shape = fields.get(dest)
        if shape is None:
            close = difflib.get_close_matches(str(dest), list(fields), n=1, cutoff=0.5)
            b.issue(key, f"'{dest}' is not a field of this action.",
                    f"did you mean '{close[0]}'?" if close else f"map one of: {', '.join(fields)}.")
            continue
        is_object = "object" in shape.types
        if is_object and isinstance(spec, dict) and spec and not (set(spec) & set(_SOURCE_KEYS)):
            # key by key: {loyalty_tier: attributes.tier, audience: {const: VIP}}
            parts = []
            for prop, prop_spec in spec.items():
                e = b.value_expr(prop_spec, f"{key}.{prop}")
                if e is not None:
                    parts.append(f"{b.name(str(prop), 'k')}: {e}")
            object_keys[dest] = tuple(str(p) for p in spec)
            expr = "_m_compact({" + ", ".join(parts) + "})"
        else:
            e = b.value_expr(spec, key)
            if e is None:
                continue
            if isinstance(spec, dict) and "const" in spec and "transform" not in spec:
                constants[dest] = spec["const"]
                if "array" in shape.types and "string" not in shape.types:
                    with contextlib.suppress(TransformError):
                        constants[dest] = _to_list(spec["const"])  # checked as the records will see it
            if "array" in shape.types and "string" not in shape.types:
                e = f"_m_to_list({e})"
            elif is_object and "string" not in shape.types:
                e = f"_m_to_object({e})"
            expr = e
        exprs[dest] = expr

    for name, shape in fields.items():
        if shape.required and name not in mapping:
            b.issue(f"{key_prefix}.{name}", f"the required field '{name}' is not mapped.",
                    f"add `{name}: <source path>` to the mapping.")
    if b.issues:
        raise MappingConfigError(b.issues)

    names = list(exprs)
    lines = ["def _map(s):", "    return {"]
    lines += [f"        {b.name(n, 'n')}: {exprs[n]}," for n in names]
    lines.append("    }")
    for i, n in enumerate(names):
        lines.append(f"def _field{i}(s):")
        lines.append(f"    return {exprs[n]}")
    source = "\n".join(lines)
    ns = b.namespace
    exec(compile(source, "<destkit mapping>", "exec"), ns)
    fast = ns["_map"]
    per_field = [(n, ns[f"_field{i}"]) for i, n in enumerate(names)]

    def locate(record: Mapping[str, Any]) -> RecordError:
        for n, fn in per_field:
            try:
                fn(record)
            except TransformError as exc:
                return RecordError(exc.code, n, exc.message)
            except Exception as exc:  # a transform met a value it was not written for
                return RecordError("mapping_error", n, f"mapping failed: {type(exc).__name__}")
        return RecordError("mapping_error", None, "mapping failed")

    def apply(record: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return fast(record)  # type: ignore[no-any-return]
        except RecordError:
            raise
        except Exception:
            raise locate(record) from None

    return CompiledMapping(apply=apply, fields=tuple(names), constants=constants,
                           object_keys=object_keys, source=source, per_field=dict(per_field),
                           expressions=dict(exprs), namespace=ns)
