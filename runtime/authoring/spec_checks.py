"""The spec-wide checks of `destkit spec check`: settings, base URL, auth, error classes, response
and catalog JMESPath expressions, secrets per action, names nothing uses, and the emulator."""

from __future__ import annotations

import re
from typing import Any

import jmespath
import jsonschema
from jmespath.exceptions import JMESPathError, ParseError

from destkit.runtime.authoring.context import CheckContext, Loc
from destkit.runtime.config.settings import setting_property
from destkit.runtime.config.urls import check_base_url as base_url_problem
from destkit.runtime.spec.hooks import load_hook
from destkit.runtime.spec.jobs import job_path_problem
from destkit.runtime.spec.models import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    ErrorClasses,
    FieldMatch,
    HmacAuth,
    HookAuth,
    IndexMatch,
    JobResults,
    JobSpec,
    JwtAuth,
    KeyMatch,
    ResponseSpec,
    ResultsSpec,
    SettingSchema,
)
from destkit.runtime.spec.oauth2_model import OAuth2Auth
from destkit.runtime.spec.vocabulary import secrets_used

# --- helpers ------------------------------------------------------------------------------------


def jmespath_problem(expr: str) -> str | None:
    """None if the expression compiles, else a one-line reason."""
    try:
        jmespath.compile(expr)
    except JMESPathError as exc:
        pos = getattr(exc, "lex_position", None)
        if type(exc).__name__ == "IncompleteExpressionError":
            why = "it ends too early"
        elif isinstance(exc, ParseError) and getattr(exc, "token_value", None) not in (None, ""):
            why = f"unexpected {exc.token_value!r}"
        else:
            why = str(getattr(exc, "msg", "") or exc).splitlines()[0]
        return why + (f" (at character {pos + 1})" if isinstance(pos, int) else "")
    return None


def check_jmespath(ctx: CheckContext, loc: Loc, expr: str | None) -> None:
    """An error at `loc` if the expression is given and does not compile."""
    if expr is not None and (why := jmespath_problem(expr)) is not None:
        ctx.error(
            loc,
            f"'{expr}' is not a valid JMESPath expression: {why}.",
            "fix the expression (https://jmespath.org/).",
        )


def auth_templates(auth: Any) -> list[tuple[str, str]]:
    """(key, template) of every templated value of an auth block."""
    if isinstance(auth, ApiKeyAuth):
        return [("value", auth.value)]
    if isinstance(auth, BearerAuth):
        return [("token", auth.token)]
    if isinstance(auth, BasicAuth):
        return [("username", auth.username), ("password", auth.password)]
    if isinstance(auth, HmacAuth):
        return [("secret", auth.secret), ("scheme", auth.scheme)]  # the scheme may be the user's choice (a setting)
    if isinstance(auth, JwtAuth):
        return [("secret", auth.secret)]
    if isinstance(auth, OAuth2Auth):
        found = [("client_id", auth.client_id), ("client_secret", auth.client_secret)]
        return found + ([("refresh_token", auth.refresh_token)] if auth.refresh_token else [])
    return []


# --- settings and base URL ----------------------------------------------------------------------


def check_settings(ctx: CheckContext) -> None:
    """Each setting's pattern compiles, and its default and examples satisfy the setting's own schema."""
    for name, s in ctx.spec.settings.items():
        _names_actions(ctx, ["settings", name, "actions"], s.actions)
        if not _pattern_compiles(ctx, name, s):
            continue
        schema = setting_property(s)
        if s.default is not None:
            _check_value(ctx, ["settings", name, "default"], "the default", s.default, s, schema)
        for i, example in enumerate(s.examples or []):
            _check_value(ctx, ["settings", name, "examples", i], f"the example {example!r}", example, s, schema)


def _pattern_compiles(ctx: CheckContext, name: str, setting: SettingSchema) -> bool:
    if not setting.pattern:
        return True
    try:
        re.compile(setting.pattern)
    except re.error as exc:
        ctx.error(["settings", name, "pattern"], f"the pattern does not compile: {exc}.", "fix the regular expression.")
        return False
    return True


def _check_value(ctx: CheckContext, loc: Loc, what: str, value: Any, setting: SettingSchema,
                 schema: dict[str, Any]) -> None:
    """A value the spec gives for a setting (its default, an example) is one the setting accepts."""
    problems = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(value)]
    # the JSON schema's pattern searches; a setting's pattern must match the whole value
    if setting.pattern and isinstance(value, str) and re.fullmatch(setting.pattern, value) is None:
        problems.append(f"{value!r} does not match the whole pattern")
    if problems:
        noun = what.split(" ")[1]
        ctx.error(loc, f"{what} does not satisfy the setting's own schema: {problems[0]}.",
                  f"change the {noun} or the setting's type, pattern or enum.")


def check_base_url(ctx: CheckContext) -> None:
    """The base URL renders (with sample settings) to an HTTPS origin the URL guard accepts."""
    url, placeholder = ctx.render(["base_url"], ctx.spec.base_url, ctx.settings)
    if url is None:
        return
    if ctx.spec.user_url:  # the user's own URL (a webhook): a path is fine, the host is checked per sync
        if placeholder:
            return
        problem = None if url.startswith("https://") else f"{url} is not HTTPS; destkit only sends over HTTPS"
    else:
        problem = base_url_problem(url.rstrip("/"), override=False, allow_http=False, user_url=False)
    if problem:
        note = " (rendered with placeholder settings)" if placeholder else ""
        ctx.add(
            "warning" if placeholder else "error",
            ["base_url"],
            f"{problem}{note}.",
            "the base URL must render to https://host, with no path, query or credentials.",
        )


# --- auth ---------------------------------------------------------------------------------------


def check_auth(ctx: CheckContext, loc: Loc, auth: Any) -> None:
    """The auth block's templates render with the declared secrets; a hook's import path resolves."""
    if isinstance(auth, HookAuth):
        ctx.has_hook = True
        _check_auth_hook(ctx, loc, auth)
        return
    for key, source in auth_templates(auth):
        ctx.render([*loc, key], source, ctx.settings, secrets=ctx.spec.secrets)
    if isinstance(auth, OAuth2Auth):
        check_token_url(ctx, loc, auth)


def check_token_url(ctx: CheckContext, loc: Loc, auth: OAuth2Auth) -> None:
    """The token URL and scope render over settings only (a secret in a URL would be logged); the URL is HTTPS."""
    if auth.scope is not None:
        ctx.render([*loc, "scope"], auth.scope, ctx.settings)
    url, placeholder = ctx.render([*loc, "token_url"], auth.token_url, ctx.settings)
    if url is None:
        return
    problem = base_url_problem(url, override=True, allow_http=False, user_url=False)
    if problem:
        note = " (rendered with placeholder settings)" if placeholder else ""
        ctx.add("warning" if placeholder else "error", [*loc, "token_url"], f"the token URL: {problem}{note}.",
                "give the token endpoint's https URL, e.g. https://auth.example.com/oauth/token.")


def _check_auth_hook(ctx: CheckContext, loc: Loc, auth: HookAuth) -> None:
    try:
        factory = load_hook(auth.hook)
    except (ImportError, ValueError) as exc:
        ctx.error(
            [*loc, "hook"],
            f"the auth hook {auth.hook} does not load: {exc}.",
            "give the import path 'package.module:function' of an installed module.",
        )
        return
    if not callable(factory):
        ctx.error([*loc, "hook"], f"{auth.hook} is not callable.", "name a function that returns an httpx.Auth.")


def check_auth_secrets(ctx: CheckContext, loc: Loc, auth: Any, action_id: str) -> None:
    """Every secret the action's auth uses is one the action gets (`secrets.<name>.actions`)."""
    for key, source in auth_templates(auth):
        for name in sorted(secrets_used(source) & set(ctx.spec.secrets)):
            allowed = ctx.spec.secrets[name].actions
            if allowed is not None and action_id not in allowed:
                ctx.error(
                    [*loc, key],
                    f"the secret '{name}' is not available to the {action_id} action "
                    f"(secrets.{name}.actions leaves it out).",
                    f"add {action_id} to secrets.{name}.actions.",
                )


def check_secret_actions(ctx: CheckContext) -> None:
    """`secrets.<name>.actions` names actions of this spec."""
    for name, secret in ctx.spec.secrets.items():
        _names_actions(ctx, ["secrets", name, "actions"], secret.actions)


def _names_actions(ctx: CheckContext, loc: Loc, actions: list[str] | None) -> None:
    """An `actions:` list (of a secret or a setting) names actions of this spec."""
    for action_id in actions or []:
        if action_id not in ctx.spec.actions:
            ctx.error(loc, f"'{action_id}' is not an action of this spec.", f"use one of: {', '.join(ctx.spec.actions)}.")


# --- responses, error classes, catalogs ---------------------------------------------------------


def check_response(ctx: CheckContext, loc: Loc, response: ResultsSpec) -> None:
    match = response.match
    for key, expr in (
        ("items" if isinstance(response, JobResults) else "results", response.results),  # a job's results: `items`
        ("id", response.id),
        ("note", response.note),
        ("error.code", response.error.code),
        ("error.message", response.error.message),
        ("match.result", match.result if isinstance(match, KeyMatch | FieldMatch) else None),
        ("match.index", match.index if isinstance(match, IndexMatch) else None),
    ):
        check_jmespath(ctx, [*loc, *key.split(".")], expr)
    check_ok_rule(ctx, loc, response)
    if isinstance(response, ResponseSpec) and response.job is not None:
        check_job(ctx, [*loc, "job"], response.job)


def check_job(ctx: CheckContext, loc: Loc, job: JobSpec) -> None:
    """A job's expressions compile, and its paths take no parameter but {job_id} (the loader refuses
    others; a spec built in Python is checked here too)."""
    results = job.results
    for key, expr in (("id", job.id), ("poll.until", job.poll.until), ("poll.failed", job.poll.failed),
                      ("results.next", results.next if results else None)):
        check_jmespath(ctx, [*loc, *key.split(".")], expr)
    for key, path in (("poll", job.poll.path), ("results", results.path if results else None)):
        if path is not None and (problem := job_path_problem(path)) is not None:
            ctx.error([*loc, key, "path"], f"{problem}.", "write the path with {job_id} where the job's id goes.")
    if results is not None:
        check_response(ctx, [*loc, "results"], results)


# what only a JMESPath has: `ok.field` is one key of a result item, read as is
_PATH_SYNTAX = re.compile(r"[.\[\]*?|@&()`]")

LIST_OF_RESULTS_FIX = ("point `results:` at the list and describe one item of it; add `only: failures` when it "
                       "lists only the records that failed (docs/writing-a-spec.md, 'Answers that list only failures').")


def check_ok_rule(ctx: CheckContext, loc: Loc, response: ResultsSpec) -> None:
    """An ok rule compares one value of one result: one that would meet a list, or a path, decides nothing."""
    ok = response.ok
    if ok is None:
        return
    if _PATH_SYNTAX.search(ok.field):
        ctx.error([*loc, "ok", "field"],
                  f"ok.field '{ok.field}' is read as one key of each result, not as a path, so no result has it "
                  "and every record would be refused.", "name a key of a result item; " + LIST_OF_RESULTS_FIX)
    for name, values in (("in", ok.in_), ("failed", ok.failed or [])):
        listed = next((v for v in values if isinstance(v, list | dict)), None)
        if listed is not None:
            ctx.error([*loc, "ok", name],
                      f"ok.{name} lists {listed!r}: the rule would meet a list (or mapping) of results, and decide "
                      "for the whole batch at once: one failure would refuse every record, and its absence would "
                      "deliver them all.", LIST_OF_RESULTS_FIX)


def check_errors(ctx: CheckContext, loc: Loc, classes: ErrorClasses) -> None:
    for i, rule in enumerate(classes.when):  # a body rule's path is compiled when the sync is built
        check_jmespath(ctx, [*loc, "when", i, "path"], rule.path)
    # the order the runtime applies them in: auth (stops the run), then retry, then rejected
    owner: dict[int | str, str] = {}
    for cls in ("auth", "retry", "rejected"):
        for status in getattr(classes, cls):
            if (isinstance(status, int) and 200 <= status < 400) or status in ("2xx", "3xx"):
                ctx.warn(
                    [*loc, cls],
                    f"{status} is listed under {cls}, but 2xx is always success and 3xx is never followed.",
                    f"remove {status}.",
                )
            elif status in owner:
                ctx.warn(
                    [*loc, cls],
                    f"{status} is listed under both {owner[status]} and {cls}; {owner[status]} wins.",
                    f"remove {status} from {cls}.",
                )
            else:
                owner[status] = cls
    for status in classes.split:
        if owner.get(status) in ("auth", "retry"):
            ctx.warn(
                [*loc, "split"],
                f"{status} is under split but also under {owner[status]}, which wins, so it is never split.",
                f"remove {status} from split.",
            )


def check_catalog_expressions(ctx: CheckContext) -> None:
    for name, cat in ctx.spec.catalogs.items():
        for key in ("items", "labels"):
            check_jmespath(ctx, ["catalogs", name, key], getattr(cat, key))


# --- after the actions: names nothing uses, the emulator ----------------------------------------


def check_unused(ctx: CheckContext) -> None:
    if not ctx.has_hook:  # a hook receives every setting and secret, so anything may be used
        _warn_unused_settings_and_secrets(ctx)
    for name in ctx.spec.catalogs:
        if name not in ctx.used_catalogs:
            ctx.warn(
                ["catalogs", name],
                f"the catalog '{name}' is not used by any field (catalog or keys_catalog).",
                "point a field at it, or remove it.",
            )


def _warn_unused_settings_and_secrets(ctx: CheckContext) -> None:
    for name in ctx.spec.settings:
        if name not in ctx.used_settings:
            ctx.warn(
                ["settings", name],
                f"the setting '{name}' is not used by any template, request or variant.",
                "use it (e.g. $settings." + name + " in a record) or remove it.",
            )
    for name in ctx.spec.secrets:
        if name not in ctx.used_secrets:
            ctx.warn(
                ["secrets", name],
                f"the secret '{name}' is not used by any auth template.",
                "use it (e.g. {{ secrets." + name + " }} in auth) or remove it.",
            )


def check_emulator(ctx: CheckContext) -> None:
    """The emulator's import path loads and names something callable (a warning: sync runs without it)."""
    emulator = ctx.spec.emulator
    if emulator is None:
        return
    try:
        factory = load_hook(emulator)
    except (ImportError, ValueError) as exc:
        ctx.warn(
            ["emulator"],
            f"the emulator {emulator} does not load: {exc}.",
            "give the import path 'package.module:create_app' of an installed module.",
        )
        return
    if not callable(factory):
        ctx.warn(["emulator"], f"{emulator} is not callable.", "name a function that returns an ASGI app.")
