"""The per-record hot path: checked payload → validated, enforced, serialized record body.

Fuses the compiled mapping's expressions, the checks (`checks.py`) and the body template
(`body.py`) of one action into a single generated function, and renders the request envelope
(`{contacts: $records}`) once into a prefix and a suffix so a batch body is
`prefix + b",".join(parts) + suffix`, with its size known exactly before it is built. The
function is built in a continuation of the mapping's own `CodeGen` (`child()`), so every name
the mapping's expressions use is already bound and no name of the checks can clash with one.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from destkit.mapping import CompiledMapping, MappingReason, RecordError
from destkit.mapping.codegen import CodeGen
from destkit.runtime.record.body import BodyCompiler
from destkit.runtime.record.checks import Catalog, CheckCompiler
from destkit.runtime.record.loop import compile_loop, register_loop
from destkit.runtime.spec.body_template import ADD
from destkit.runtime.spec.models import ActionSpec

Process = Callable[[Mapping[str, Any], list[tuple[str, str, str]]], tuple[Any, bytes, tuple[str, ...] | None]]
Resolver = Callable[[str, Any], Any]


def _quote(value: Any) -> str:
    """A record value as one URL path segment: nothing in it can change the path.

    `quote` leaves `.` alone and httpx would then remove `.`/`..` segments, so those are encoded too.
    """
    text = urllib.parse.quote("" if value is None else str(value), safe="")
    if text in ("", ".", ".."):
        if not text:
            raise RecordError(MappingReason.INVALID_VALUE, None, "a value used in the request path is empty.")
        return text.replace(".", "%2E")
    return text


def fill_path(path: str, names: tuple[str, ...], values: tuple[str, ...] | None) -> str:
    """The request path with a one-record batch's `{field}` parameters (already URL-quoted) filled in."""
    if values is not None:
        for name, value in zip(names, values, strict=True):
            path = path.replace("{" + name + "}", value)
    return path


def _one_of_message(names: list[str]) -> str:
    return f"at least one of {', '.join(names)} is required, and the record has none; map one of them."


def compile_processor(
    action: ActionSpec,
    settings: Mapping[str, Any],
    catalogs: Mapping[str, Catalog],
    policies: Mapping[str, str],
    mapped: frozenset[str],
    key_field: str | None,
    mapping: CompiledMapping | None = None,
    path_params: tuple[str, ...] = (),
    resolver: Resolver | None = None,
    operation: str = ADD,
) -> tuple[Process, str]:
    """One generated function `(s, warnings) -> (key, serialized body, path values)`; raises RecordError.

    With `mapping`, `s` is the source record and the mapping's expressions are inlined (no
    intermediate payload dict); a transform failure then surfaces as TransformError, for the caller
    to attribute through `mapping.apply`. Without it, `s` is an already mapped payload. `operation` is
    what `$operation` in the record stands for (`remove` in an action's removal request).
    """
    gen = mapping.codegen.child() if mapping is not None else CodeGen()
    field_vars, present = _emit_fields(gen, CheckCompiler(gen, catalogs, policies), action, mapped, key_field,
                                       mapping, resolver)
    _emit_constraints(gen, action, field_vars)
    if action.request.record is not None:
        BodyCompiler(gen, field_vars, present, settings, operation).emit_top(action.request.record, "b")
    else:
        gen.emit("b = None")
    key = field_vars[key_field] if key_field else "None"
    body = list(gen.lines)
    _emit_return(gen, key, [field_vars[p] for p in path_params])
    fn, code = gen.build("_process", "s, w", "<destkit record checks>")
    if not path_params:  # a record with path parameters is a request of its own: no batch to fill
        register_loop(fn, compile_loop(gen, body, key, dedupe=action.batch.key is not None))
    return fn, code


def _emit_fields(gen: CodeGen, checks: CheckCompiler, action: ActionSpec, mapped: frozenset[str],
                 key_field: str | None, mapping: CompiledMapping | None,
                 resolver: Resolver | None) -> tuple[dict[str, str], dict[str, str | None]]:
    """Each field's checked value into a variable: (field → variable, field → presence condition)."""
    field_vars: dict[str, str] = {}
    present: dict[str, str | None] = {}
    # the key first: fields resolved by it (e.g. an id from the state store) need its value
    for name in sorted(action.fields, key=lambda n: n != key_field):
        f = action.fields[name]
        var = field_vars[name] = gen.var()
        source = _field_source(gen, name, mapped, mapping)
        if f.resolve is not None and resolver is not None and key_field in field_vars and key_field != name:
            source = _with_lookup(gen, source, name, resolver, field_vars[key_field])
        present[name] = checks.emit_field(name, f, var, source)
        if name == key_field:
            checks.key_var = var
    return field_vars, present


def _field_source(gen: CodeGen, name: str, mapped: frozenset[str], mapping: CompiledMapping | None) -> str | None:
    """The expression for a field's raw value: the mapping's, or the payload's key (None: not mapped)."""
    if name not in mapped:
        return None
    if mapping is not None:
        return mapping.expressions[name]
    return f"s.get({gen.const(name, 'n')})"


def _with_lookup(gen: CodeGen, source: str | None, name: str, resolver: Resolver, key_var: str) -> str:
    """A resolved field: its mapped value if set, else the resolver's answer for the record's key."""
    lookup = f"{gen.const(resolver, 'resolve')}({gen.const(name, 'n')}, {key_var})"
    if source is None:
        return lookup
    r = gen.var("_r")
    return f"({r} if ({r} := {source}) is not None and {r} != '' else {lookup})"


def _emit_constraints(gen: CodeGen, action: ActionSpec, field_vars: Mapping[str, str]) -> None:
    """`one_of` rules: a record must have at least one of the named fields."""
    for rule in action.constraints:
        names = [n for n in rule.one_of if n in field_vars]
        gen.emit("if " + " and ".join(f"{field_vars[n]} is None" for n in names) + ":")
        reason = gen.const(MappingReason.MISSING_REQUIRED, "r")
        gen.emit(f"raise _RecordError({reason}, None, {gen.const(_one_of_message(names))})", 2)


def _emit_return(gen: CodeGen, key: str, param_vars: list[str]) -> None:
    """Return the key, the body serialized once, and the URL-quoted path parameters (or None)."""
    gen.bind("_dumps", orjson.dumps)
    gen.bind("_NL", orjson.OPT_APPEND_NEWLINE)
    params = "None"
    if param_vars:
        gen.bind("_quote", _quote)
        params = "(" + ", ".join(f"_quote({v})" for v in param_vars) + ",)"
    # orjson hands back each result in an oversized buffer; a batch holds up to 1,000 of them, so an
    # exact-size copy is both smaller and (through the allocator) about twice as fast overall. Slicing
    # off the newline orjson is asked to append makes that copy in one C call.
    gen.emit(f"return {key}, _dumps(b, None, _NL)[:-1], {params}")
