"""The per-action checks of `destkit spec check`: each action (and each variant applied to it) is
rendered with sample settings and compiled into the code the runtime would run."""

from __future__ import annotations

from typing import Any

import jsonschema

from destkit.runtime.authoring.context import CheckContext, Loc
from destkit.runtime.authoring.normalize_checks import check_normalize
from destkit.runtime.authoring.record_checks import check_value_lists
from destkit.runtime.authoring.spec_checks import check_auth, check_auth_secrets, check_errors, check_response
from destkit.runtime.config.settings import setting_property
from destkit.runtime.record.checks import Catalog
from destkit.runtime.record.compiler import Process, compile_processor
from destkit.runtime.spec.body_template import build_envelope, key_templates_in, refs_in
from destkit.runtime.spec.models import ActionSpec, FieldMatch, KeyMatch, RequestSpec, Variant
from destkit.runtime.spec.vocabulary import HTTP_METHODS, key_field, path_parameters, settings_used

MAX_RECORDS_WARN = 10_000
MAX_BYTES_WARN = 50_000_000


def check_one_action(ctx: CheckContext, action_id: str, action: ActionSpec) -> None:
    """The action, its batch limits, error classes and auth, then each variant; warns about fields
    nothing sends."""
    base: Loc = ["actions", action_id]
    used = check_action(ctx, action, base, ctx.settings)
    check_batch(ctx, base, action)
    if action.errors is not None:
        check_errors(ctx, [*base, "errors"], action.errors)
    if action.auth is None:
        check_auth_secrets(ctx, ["auth"], ctx.spec.auth, action_id)
    else:
        check_auth(ctx, [*base, "auth"], action.auth)
        check_auth_secrets(ctx, [*base, "auth"], action.auth, action_id)
    for i, variant in enumerate(action.variants):
        used |= _check_variant(ctx, action_id, action, i, variant)
    removal = action.removal()
    if removal is not None and action.remove is not None:  # its request is compiled as a mirror run would send it
        used |= check_action(ctx, removal, [*base, "remove"], ctx.settings, response=action.remove.response is not None)
    if action.remove is not None:
        check_removal_identity(ctx, base, action)
        check_variants_keep_removal(ctx, base, action)
    check_settings_given(ctx, action_id, action)
    _warn_unused_fields(ctx, base, action, used)


def check_removal_identity(ctx: CheckContext, base: Loc, action: ActionSpec) -> None:
    """A mirror run knows a member by its record's key: `batch.key`, else the first required field. Without
    one no record becomes a member (nobody who leaves is ever removed); a fallback works but says nothing."""
    if action.batch.key is not None:
        return
    key = key_field(action)
    if key is None:
        ctx.error([*base, "remove"], "a mirror run knows a member by its record's key, and this action has none "
                  "(no batch.key, no required field): no member who left the audience would ever be removed.",
                  "set batch.key to the field that identifies a member (e.g. batch: {key: email}).")
        return
    ctx.warn([*base, "batch"], f"this action removes members (`remove:`) but has no batch.key: members are known by "
             f"'{key}', its first required field, and a request may hold the same member twice.",
             f"set batch.key: {key} (or the field that identifies a member).")


def check_variants_keep_removal(ctx: CheckContext, base: Loc, action: ActionSpec) -> None:
    """`remove.request` is built on the action's own request: a variant's request does not change it."""
    if action.remove is None or action.remove.request is None:
        return  # `remove: {}` sends removals through the request in use, a variant's included
    for i, variant in enumerate(action.variants):
        if variant.request is not None:
            ctx.warn([*base, "variants", i, "request"],
                     "this variant changes the request, but a mirror run's removals are built on the action's own "
                     f"request (remove.request fills in from it): they would still go to {action.remove.request.path}.",
                     "put this request in an action of its own with its own `remove:`, or write `remove: {}` "
                     "(removals through the request in use, with $operation = remove).")


def check_settings_given(ctx: CheckContext, action_id: str, action: ActionSpec) -> None:
    """A setting the request's templates render must be given to every sync of the action: one that is
    optional for it, without a default, would fail the sync's build instead of its config check."""
    req = action.request
    sources = [("path", req.path), ("method", req.method), *(("query", v) for v in req.query.values()),
               *(("headers", v) for v in req.headers.values())]
    for part, source in sources:
        for name in sorted(settings_used(source) & set(ctx.spec.settings)):
            setting = ctx.spec.settings[name]
            if setting.default is None and setting.derive is None and not setting.required_for(action_id):
                ctx.warn(["actions", action_id, "request", part],
                         f"the request uses settings.{name}, which a sync of {action_id} may leave out "
                         "(it is not required for this action and has no default).",
                         f"add {action_id} to settings.{name}.actions (or give the setting a default).")


def check_action(
    ctx: CheckContext,
    action: ActionSpec,
    loc: Loc,
    settings: dict[str, Any],
    request: bool = True,
    response: bool = True,
) -> set[str]:
    """Render and compile one (resolved) action's request, and its response paths; the fields the
    request uses. With `request=False` only what a variant's own batch changes is checked."""
    used: set[str] = {action.batch.key} if action.batch.key else set()
    if request:
        params = _render_request(ctx, action.request, loc, settings)
        _check_record_template_given(ctx, action.request, loc)
        check_value_lists(ctx, action, loc)
        used |= _fields_sent(ctx, action, params)
        # an unknown normalize name would also fail the compile: report it once, with a did-you-mean
        if not check_normalize(ctx, action, loc) or not _request_compiles(ctx, action, loc, settings, params):
            return used  # the response paths are checked once the request is sound
    if response:
        check_response(ctx, [*loc, "response"], action.response)
        check_match_key(ctx, [*loc, "response"], action)
    return used


def check_match_key(ctx: CheckContext, loc: Loc, action: ActionSpec) -> None:
    """Results are matched against each record's key (`batch.key`, else the first required field): any
    other field in `match.key` finds no record at run time, and the whole batch is dead-lettered."""
    job = action.response.job
    matches = [(loc, action.response.match)]
    if job is not None and job.results is not None:  # a job's results are matched to the records alike
        matches.append(([*loc, "job", "results"], job.results.match))
    key = key_field(action)
    for where, match in matches:
        if not isinstance(match, KeyMatch) or match.key == key:
            continue
        known = f"'{key}' (batch.key, else the first required field)" if key else "not set (no batch.key, no required field)"
        ctx.error([*where, "match", "key"],
                  f"results are matched against each record's key, which is {known}; match.key '{match.key}' is not "
                  "it, so no result would find its record and every batch would be dead-lettered.",
                  f"set batch.key: {match.key} (records with the same {match.key} then never share a batch).")


def check_batch(ctx: CheckContext, loc: Loc, action: ActionSpec) -> None:
    b = action.batch
    if b.max_records > MAX_RECORDS_WARN:
        ctx.warn(
            [*loc, "batch", "max_records"],
            f"max_records is {b.max_records:,}; few APIs accept more than "
            f"{MAX_RECORDS_WARN:,} records per request, and a failed batch is retried or split as a whole.",
            "use the API's documented limit.",
        )
    if b.max_bytes > MAX_BYTES_WARN:
        ctx.warn(
            [*loc, "batch", "max_bytes"],
            f"max_bytes is {b.max_bytes:,} ({b.max_bytes / 1e6:g} MB); requests over "
            f"{MAX_BYTES_WARN / 1e6:g} MB are refused by most gateways (HTTP 413).",
            "use the API's documented request size limit.",
        )


# --- the request --------------------------------------------------------------------------------


def _render_request(ctx: CheckContext, req: RequestSpec, loc: Loc, settings: dict[str, Any]) -> tuple[str, ...]:
    """Render the request's templates (path, method, query, headers); the rendered path's {field} parameters."""
    rendered_path, _ = ctx.render([*loc, "request", "path"], req.path, settings)
    _check_method(ctx, req, loc, settings)
    for part in ("query", "headers"):
        for key, source in getattr(req, part).items():
            ctx.render([*loc, "request", part, key], source, settings)
    return path_parameters(rendered_path) if rendered_path is not None else ()


def _check_method(ctx: CheckContext, req: RequestSpec, loc: Loc, settings: dict[str, Any]) -> None:
    method, placeholder = ctx.render([*loc, "request", "method"], req.method, settings)
    if method is not None and method.upper() not in HTTP_METHODS:
        ctx.add(
            "warning" if placeholder else "error",
            [*loc, "request", "method"],
            f"the method renders to '{method}', which is not an HTTP method"
            + (" (with placeholder settings)" if placeholder else "")
            + ".",
            f"use one of {', '.join(HTTP_METHODS)}.",
        )


def _check_record_template_given(ctx: CheckContext, req: RequestSpec, loc: Loc) -> None:
    if req.body is not None and req.record is None:
        ctx.error(
            [*loc, "request", "record"],
            "there is a request body but no `record:` template, so every record would be sent as null.",
            "add `record:` with the record's body, e.g. `{id: $id, email: $email}`.",
        )


def _fields_sent(ctx: CheckContext, action: ActionSpec, params: tuple[str, ...]) -> set[str]:
    """The fields the record template, body, path and response match use (settings they use are noted)."""
    used = set(params)
    for ref in refs_in(action.request.record) + refs_in(action.request.body):
        if ref.kind == "field":
            used.add(ref.name)
        elif ref.kind == "setting":
            ctx.used_settings.add(ref.name)
    for key in key_templates_in(action.request.record):
        ctx.used_settings |= settings_used(key)
    if isinstance(action.response.match, KeyMatch):
        used.add(action.response.match.key)
    elif isinstance(action.response.match, FieldMatch):
        used.add(action.response.match.field)
    return used


def _request_compiles(
    ctx: CheckContext, action: ActionSpec, loc: Loc, settings: dict[str, Any], params: tuple[str, ...]
) -> bool:
    """The body envelope builds, and the record checks and body compile and run on an empty record."""
    try:
        build_envelope(action.request.body, settings)
    except ValueError as exc:
        ctx.error([*loc, "request", "body"], f"{exc}.")
        return False
    if any(p not in action.fields for p in params):
        return False  # check_semantics names them; the processor cannot be built
    process = _compile_processor(ctx, action, loc, settings, params)
    if process is None:
        return False
    _run_on_an_empty_record(ctx, process, loc)
    return True


def _compile_processor(
    ctx: CheckContext, action: ActionSpec, loc: Loc, settings: dict[str, Any], params: tuple[str, ...]
) -> Process | None:
    catalogs = _catalogs_named(ctx, action)
    try:
        process, _ = compile_processor(
            action, settings, catalogs, {}, frozenset(action.fields), key_field(action), path_params=params
        )
    except Exception as exc:  # any failure here is a spec the runtime cannot run
        ctx.error(
            [*loc, "request", "record"],
            f"the record checks and body do not compile: {type(exc).__name__}: {exc}.",
            "check the field schemas and the record template.",
        )
        return None
    return process


def _catalogs_named(ctx: CheckContext, action: ActionSpec) -> dict[str, Catalog]:
    """An empty Catalog for every catalog the action's fields name (noted as used)."""
    catalogs: dict[str, Catalog] = {}
    for f in action.fields.values():
        for catalog_name in (f.catalog, f.keys_catalog, f.items.catalog if f.items else None):
            if catalog_name is not None:
                ctx.used_catalogs.add(catalog_name)
                catalogs[catalog_name] = Catalog(catalog_name, frozenset(), {}, ctx.spec.catalogs.get(catalog_name))
    return catalogs


def _run_on_an_empty_record(ctx: CheckContext, process: Process, loc: Loc) -> None:
    try:  # an empty record must fail its required fields, not crash the generated code
        process({}, [])
    except Exception as exc:
        if type(exc).__name__ != "RecordError":
            ctx.error(
                [*loc, "request", "record"],
                f"the generated record code fails on an empty record: {type(exc).__name__}: {exc}.",
                "report this; the spec compiles but cannot run.",
            )


# --- variants -----------------------------------------------------------------------------------


def _check_variant(ctx: CheckContext, action_id: str, action: ActionSpec, i: int, variant: Variant) -> set[str]:
    """The variant's `when`, then what it replaces (its batch, request, response, auth); the fields it uses."""
    vloc: Loc = ["actions", action_id, "variants", i]
    name, value = variant.when.setting, variant.when.equals
    ctx.used_settings.add(name)
    if name in ctx.spec.settings:
        _check_when(ctx, vloc, name, value)
    same = next(j for j, v in enumerate(action.variants) if v.when == variant.when)
    if same != i:
        ctx.warn(
            [*vloc, "when"],
            f"variants[{same}] has the same `when` and is chosen first, so this variant is never used.",
            "remove it or change its `when`.",
        )
        return set()
    resolved = _with_variant(action, variant)
    # what the variant does not replace was checked with the action (no duplicate findings)
    used = check_action(
        ctx,
        resolved,
        vloc,
        {**ctx.settings, name: value},
        request=variant.request is not None,
        response=variant.response is not None,
    )
    if variant.batch is not None:
        check_batch(ctx, vloc, resolved)
    if variant.auth is not None:
        check_auth(ctx, [*vloc, "auth"], variant.auth)
        check_auth_secrets(ctx, [*vloc, "auth"], variant.auth, action_id)
    return used


def _with_variant(action: ActionSpec, variant: Variant) -> ActionSpec:
    update = {k: getattr(variant, k) for k in ("batch", "request", "response", "auth")}
    return action.model_copy(update={k: v for k, v in update.items() if v is not None} | {"variants": []})


def _check_when(ctx: CheckContext, loc: Loc, name: str, value: Any) -> None:
    schema = setting_property(ctx.spec.settings[name])
    problems = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(value)]
    if problems:
        ctx.warn(
            [*loc, "when", "equals"],
            f"{value!r} is not a valid value of the setting '{name}' "
            f"({problems[0]}), so this variant is never chosen.",
            "compare with a value the setting can take.",
        )


def _warn_unused_fields(ctx: CheckContext, base: Loc, action: ActionSpec, used: set[str]) -> None:
    for name in action.fields:
        if name not in used:
            ctx.warn(
                [*base, "fields", name],
                f"'{name}' is not used by the request body, path or batch key, "
                "so its value is checked but never sent.",
                f"use ${name} in request.record, or remove the field.",
            )


__all__ = ["MAX_BYTES_WARN", "MAX_RECORDS_WARN", "check_action", "check_batch", "check_one_action"]
