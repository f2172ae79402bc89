"""Compile a spec's per-record body template (`record:`) into generated code.

`$name` refers to a validated action field, `$settings.name` to a setting, `$$x` is a literal
`$x`. A value that is absent is left out, and absence propagates: an object or list whose every
reference is absent is itself absent, so `phone_numbers: [{type: mobile, value: $phone_number}]`
disappears for a contact without a phone instead of being sent empty (which could clear data).
A positional record (`{$columns: {LABEL: $field, ...}, empty: ""}`) is the exception: a row whose
columns must stay in place, so an absent value is sent as the declared `empty` instead.

`{$merge: [$custom_properties, {first_name: $first_name}]}` is one object made of several, left to
right: a later entry's key wins, an absent entry adds nothing, and an empty result is absent. An
object key written as a template over settings (`"{{ settings.list_id }}": $subscribed`) is the
setting's value, rendered once when the body compiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from destkit.mapping.codegen import CodeGen
from destkit.mapping.templates import render_once
from destkit.runtime.spec.body_template import ADD, MERGE, OPERATION, Ref, is_key_template, literal, parse_ref
from destkit.runtime.spec.models import PositionalRecord


def _opt_dict(d: dict[str, Any]) -> dict[str, Any] | None:
    out = {k: v for k, v in d.items() if v is not None}
    return out or None


def _merge_objects(*parts: dict[str, Any] | None) -> dict[str, Any] | None:
    """The objects merged left to right (a later key wins); absent ones add nothing; empty is absent."""
    out: dict[str, Any] = {}
    for part in parts:
        if part:
            out.update(part)
    return out or None


MERGE_FORM = "a merge is {$merge: [$object_field, {key: $field, ...}, ...]}: a list of object fields and objects"


class BodyCompiler:
    """Emits statements that build the body into a variable, given each field's variable name.

    `present[field]` is a Python condition under which that field's variable is set (None: always).
    """

    def __init__(self, gen: CodeGen, field_vars: Mapping[str, str], present: Mapping[str, str | None],
                 settings: Mapping[str, Any], operation: str = ADD) -> None:
        self.gen = gen
        self.operation = operation  # what `$operation` stands for: add, or remove in a removal request
        self.field_vars = field_vars
        self.present = present
        self.settings = settings
        gen.ns["_opt_dict"] = _opt_dict
        gen.ns["_merge_objects"] = _merge_objects
        self.indent = 1  # where statements a value needs first (a merge) go

    def expr(self, node: Any) -> tuple[str, str | None]:
        """(expression, presence): presence None = always present, "" = a constant (no reference),
        otherwise a Python condition under which the node is present."""
        ref = parse_ref(node)
        if ref is not None:
            return self._ref_expr(ref)
        if isinstance(node, dict) and "$map" in node:
            return self._value_map_expr(node)
        if isinstance(node, dict) and MERGE in node:
            return self._merge_expr(node)
        if isinstance(node, dict):
            return self._container([(self._key(k), *self.expr(v)) for k, v in node.items()], is_dict=True)
        if isinstance(node, list):
            return self._container([("", *self.expr(v)) for v in node], is_dict=False)
        return self.gen.const(literal(node), "c"), ""

    def _ref_expr(self, ref: Ref) -> tuple[str, str | None]:
        """`$field` is the field's variable; `$settings.name` is the setting's value, bound once."""
        if ref.kind == "field":
            return self.field_vars[ref.name], self.present[ref.name]
        if ref.kind == "setting":
            value = self.settings.get(ref.name)
            return self.gen.const(value, "s"), (None if value is not None else "False")
        if ref.kind == OPERATION:
            return self.gen.const(self.operation, "op"), None
        raise ValueError(f"${ref.kind} cannot stand inside a record body")

    def _value_map_expr(self, node: dict[str, Any]) -> tuple[str, str | None]:
        """`{$map: $field, values: {from: to}}`: the mapped value, or the value itself if not listed."""
        ref = parse_ref(node["$map"])
        if ref is None or ref.kind not in ("field", "setting", OPERATION) or set(node) != {"$map", "values"}:
            raise ValueError("a value map is {$map: $field, values: {from: to, ...}}")
        inner, presence = self._ref_expr(ref)
        table = self.gen.const(dict(node["values"]), "map")
        return f"{table}.get({inner}, {inner})", presence

    def _key(self, key: str) -> str:
        """An object key: a constant, or a template over settings rendered now (e.g. a list id from settings)."""
        if not is_key_template(key):
            return self.gen.const(key, "k")
        rendered = render_once(key, {"settings": dict(self.settings)})
        if not rendered:
            raise ValueError(f"the key {key!r} renders empty; give the setting it uses a value")
        return self.gen.const(rendered, "k")

    def _merge_expr(self, node: dict[str, Any]) -> tuple[str, str | None]:
        """`{$merge: [...]}`: merged into a variable first, so an empty result can be absent."""
        entries = node[MERGE]
        if set(node) != {MERGE} or not isinstance(entries, list) or not entries:
            raise ValueError(MERGE_FORM)
        parts = []
        for entry in entries:
            ref = parse_ref(entry)
            if not isinstance(entry, dict) and (ref is None or ref.kind != "field"):
                raise ValueError(f"{MERGE_FORM}; {entry!r} is neither")
            e, c = self.expr(entry)
            parts.append(f"({e} if {c} else None)" if c else e)
        var = self.gen.var("_merged")
        self.gen.emit(f"{var} = _merge_objects({', '.join(parts)})", self.indent)
        return var, f"{var} is not None"

    def _container(self, parts: list[tuple[str, str, str | None]], is_dict: bool) -> tuple[str, str | None]:
        ref_conds = [c for _, _, c in parts if c != ""]
        conditional = {c for c in ref_conds if c is not None}

        def render(guard: bool) -> str:
            if is_dict:
                items = [f"{k}: ({e} if {c} else None)" if guard and c else f"{k}: {e}" for k, e, c in parts]
                return "{" + ", ".join(items) + "}"
            items = [f"({e} if {c} else None)" if guard and c else e for _, e, c in parts]
            return "[" + ", ".join(items) + ("," if len(items) == 1 else "") + "]"

        if not ref_conds:
            return render(False), ""
        if None in ref_conds:
            presence: str | None = None
        else:
            presence = " or ".join(f"({c})" for c in sorted(conditional))
        if not conditional or (len(conditional) == 1 and presence is not None):
            # every reference shares one condition: under it, the whole literal is present
            return render(False), presence
        if is_dict:
            return f"_opt_dict({render(True)})", presence
        return f"[x for x in {render(True)} if x is not None]", presence

    def row_expr(self, record: PositionalRecord) -> str:
        """A positional record: one list literal, an absent column's value replaced by `empty` in place."""
        empty = self.gen.const(record.empty, "empty")
        items = []
        for value in record.columns.values():
            e, c = self.expr(value)
            items.append(f"({e} if {c} else {empty})" if c else e)
        return "[" + ", ".join(items) + ("," if len(items) == 1 else "") + "]"

    def emit_top(self, template: Any, target: str, indent: int = 1) -> None:
        """Top-level object: one assignment, then one `if` per optional key (fast on the hot path)."""
        self.indent = indent
        if isinstance(template, PositionalRecord):
            self.gen.emit(f"{target} = {self.row_expr(template)}", indent)
            return
        if not isinstance(template, dict) or MERGE in template:  # a merged record (`record: {$merge: [...]}`) too
            e, c = self.expr(template)
            self.gen.emit(f"{target} = {e}" if not c else f"{target} = {e} if {c} else None", indent)
            return
        always: list[str] = []
        optional: list[tuple[str, str, str]] = []
        for k, v in template.items():
            key = self._key(k)
            e, c = self.expr(v)
            if not c:
                always.append(f"{key}: {e}")
            else:
                optional.append((key, e, c))
        self.gen.emit(f"{target} = {{" + ", ".join(always) + "}", indent)
        for key, e, c in optional:
            self.gen.emit(f"if {c}:", indent)
            self.gen.emit(f"{target}[{key}] = {e}", indent + 1)
