"""`destkit spec check`: everything a connector author can learn about a spec without a network.

`parse_spec` already checks the spec against the schema and its references (fields, settings,
catalogs, `$records`). On top of that, this module renders every template with the settings'
defaults (a placeholder where a setting has none), compiles each action's record checks and body
into the generated code the runtime would run, compiles the JMESPath expressions, resolves hook
and emulator import paths, and warns about things that are legal but probably wrong: a field no
request uses, a setting or secret nothing reads, batch limits beyond what APIs accept.

Errors make the spec unusable (a sync would fail to build or send garbage); warnings do not.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jmespath
import jsonschema
import yaml
from jmespath.exceptions import JMESPathError, ParseError
from pydantic import BaseModel

from destkit.mapping import Template, TemplateError
from destkit.runtime.errors import Issue, SpecError
from destkit.runtime.record.checks import Catalog
from destkit.runtime.record.compiler import compile_processor
from destkit.runtime.spec.body_template import build_envelope, refs_in
from destkit.runtime.spec.hooks import load_hook
from destkit.runtime.spec.loader import locate, parse_spec
from destkit.runtime.spec.located_yaml import LocatedYaml
from destkit.runtime.spec.models import (
    ActionSpec,
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    DestinationSpec,
    ErrorClasses,
    HmacAuth,
    HookAuth,
    JwtAuth,
    ResponseSpec,
    SettingSchema,
)
from destkit.runtime.spec.vocabulary import (
    AUTH_KINDS,
    HTTP_METHODS,
    path_parameters,
    secrets_used,
    settings_used,
)
from destkit.runtime.spec.vocabulary import key_field as key_of

Severity = Literal["error", "warning"]

MAX_RECORDS_WARN = 10_000
MAX_BYTES_WARN = 50_000_000
_PLACEHOLDER_STRINGS = ("example", "example-1", "example_1", "1", "a", "A")


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    issue: Issue

    def __str__(self) -> str:
        if self.severity == "error":
            return str(self.issue)
        i = self.issue
        where = f"{i.file}:{i.line}: " if i.file and i.line else f"{i.file}: " if i.file else ""
        text = f"{where}warning: {i.key}: {i.message}"
        return text + (f" Fix: {i.fix}" if i.fix else "")


@dataclass
class SpecCheck:
    """The result of checking one spec: its display name, the spec (if it loaded) and the findings."""

    source: str
    spec: DestinationSpec | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.errors


def check_spec(name_or_path: str | Path) -> SpecCheck:
    """Check a bundled spec by id or a spec file by path; never raises for a bad spec."""
    try:
        text, display = locate(name_or_path)
    except SpecError as exc:
        return SpecCheck(str(name_or_path), None, [Finding("error", i) for i in exc.issues])
    except UnicodeDecodeError:
        issue = Issue("(file)", f"{name_or_path} is not UTF-8 text.", "save it as UTF-8.", str(name_or_path))
        return SpecCheck(str(name_or_path), None, [Finding("error", issue)])
    except OSError as exc:
        issue = Issue(
            "(file)",
            f"cannot read {name_or_path}: {exc.strerror or exc}.",
            "check the path.",
            str(name_or_path),
        )
        return SpecCheck(str(name_or_path), None, [Finding("error", issue)])
    return check_spec_text(text, display)


def check_spec_text(text: str, file: str = "<spec>") -> SpecCheck:
    """Schema and semantic checks (`parse_spec`), then the author's checks (`deep_check`)."""
    try:
        spec = parse_spec(text, file)
    except SpecError as exc:
        return SpecCheck(file, None, [Finding("error", _relocate(i, text, file)) for i in exc.issues])
    try:
        doc: LocatedYaml | None = LocatedYaml(text, file)
    except yaml.YAMLError:  # pragma: no cover - parse_spec read the same text
        doc = None
    return SpecCheck(file, spec, deep_check(spec, doc))


_CATALOG_ROOT = re.compile(
    r"^(?:Value error, )?actions\.([^.\s]+)\.fields\.([^.\s]+) names catalog '([^']*)', "
    r"which is not under catalogs\.?$"
)


def _expand(tp: Any) -> list[Any]:
    """The concrete types behind an annotation (unions, Optional and Annotated unwrapped)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _expand(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(tp) for t in _expand(arg)]
    return [tp]


def known_keys(path: Sequence[str]) -> list[str]:
    """The keys the spec language allows in the mapping at `path` (e.g. actions.x.batch), for suggestions."""
    current: list[Any] = [DestinationSpec]
    for part in path:
        nxt: list[Any] = []
        for tp in current:
            origin = typing.get_origin(tp)
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                for name, info in tp.model_fields.items():
                    if part in (name, info.alias):
                        nxt += _expand(info.annotation)
            elif origin is dict:
                nxt += _expand(typing.get_args(tp)[1])
            elif origin is list and part.isdigit():
                nxt += _expand(typing.get_args(tp)[0])
        current = nxt
    keys: list[str] = []
    for tp in current:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            keys += [
                info.alias or name
                for name, info in tp.model_fields.items()
                if (info.alias or name) not in keys
            ]
    return keys


def _relocate(issue: Issue, text: str, file: str) -> Issue:
    """Improve two of the loader's messages: suggest the key meant by an unknown key, and point the
    model-level catalog check (reported at the root, line 1) at the field's key."""
    if issue.message.endswith("is not a key the spec language knows."):
        parts = issue.key.split(".")
        # the loader leaves some union tags in the location (auth.jwt.ttl): drop them
        cleaned = [p for i, p in enumerate(parts) if not (i and parts[i - 1] == "auth" and p in AUTH_KINDS)]
        key = ".".join(cleaned)
        *parent, wrong = cleaned
        keys = known_keys(parent)
        close = (
            difflib.get_close_matches(wrong, keys, n=1, cutoff=0.6)
            or [k for k in keys if len(wrong) >= 3 and (k.startswith(wrong) or wrong.startswith(k))][:1]
        )
        fix = f"did you mean '{close[0]}'?" if close else issue.fix
        return Issue(key, issue.message, fix, issue.file, issue.line)
    m = _CATALOG_ROOT.match(issue.message) if issue.key == "(root)" else None
    if m is None:
        return issue
    action, name, catalog = m.groups()
    try:
        doc = LocatedYaml(text, file)
        f = doc.data["actions"][action]["fields"][name]
    except (yaml.YAMLError, KeyError, TypeError):
        return issue
    loc: list[str | int] = ["actions", action, "fields", name]
    if isinstance(f, dict) and f.get("catalog") == catalog:
        loc.append("catalog")
    elif isinstance(f, dict) and f.get("keys_catalog") == catalog:
        loc.append("keys_catalog")
    elif isinstance(f, dict) and isinstance(f.get("items"), dict) and f["items"].get("catalog") == catalog:
        loc += ["items", "catalog"]
    declared = list((doc.data.get("catalogs") or {}) if isinstance(doc.data, dict) else [])
    return Issue(
        ".".join(map(str, loc)),
        f"the catalog '{catalog}' is not declared under catalogs.",
        f"declare it under `catalogs:` (request and items), or use one of: {', '.join(declared) or '(none)'}.",
        file,
        doc.line_of(loc),
    )


# --- sample settings ----------------------------------------------------------------------------


def _placeholder(setting: SettingSchema) -> Any:
    if setting.enum:
        return setting.enum[0]
    if setting.type == "boolean":
        return False
    if setting.type in ("number", "integer"):
        low = setting.minimum if setting.minimum is not None else 1
        return int(low) if setting.type == "integer" else float(low)
    if setting.pattern:
        for candidate in _PLACEHOLDER_STRINGS:
            try:
                if re.fullmatch(setting.pattern, candidate):
                    return candidate
            except re.error:
                break
    return "example"


def sample_settings(spec: DestinationSpec) -> tuple[dict[str, Any], set[str]]:
    """Settings as a sync with only the defaults would have them, plus placeholders where a setting
    has no default; and the names that got a placeholder."""
    values: dict[str, Any] = {}
    placeholders: set[str] = set()
    for name, s in spec.settings.items():
        if s.default is not None:
            values[name] = s.default
        else:
            values[name] = _placeholder(s)
            placeholders.add(name)
    return values, placeholders


def _setting_refs(source: str) -> set[str]:
    return settings_used(source)


def _secret_refs(source: str) -> set[str]:
    return secrets_used(source)


def _jmespath_problem(expr: str) -> str | None:
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


def _auth_templates(auth: Any) -> list[tuple[str, str]]:
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
    return []


# --- the checker --------------------------------------------------------------------------------


class _Checker:
    def __init__(self, spec: DestinationSpec, doc: LocatedYaml | None) -> None:
        self.spec = spec
        self.doc = doc
        self.findings: list[Finding] = []
        self.settings, self.placeholders = sample_settings(spec)
        self.used_settings: set[str] = set()
        self.used_secrets: set[str] = set()
        self.used_catalogs: set[str] = set()
        self.has_hook = False

    def add(self, severity: Severity, loc: Sequence[str | int], message: str, fix: str = "") -> None:
        file = self.doc.file if self.doc else None
        line = self.doc.line_of(list(loc)) if self.doc else None
        self.findings.append(Finding(severity, Issue(".".join(map(str, loc)), message, fix, file, line)))

    def error(self, loc: Sequence[str | int], message: str, fix: str = "") -> None:
        self.add("error", loc, message, fix)

    def warn(self, loc: Sequence[str | int], message: str, fix: str = "") -> None:
        self.add("warning", loc, message, fix)

    # templates over settings

    def render(
        self,
        loc: Sequence[str | int],
        source: str,
        settings: dict[str, Any],
        secrets: Iterable[str] | None = None,
    ) -> tuple[str | None, bool]:
        """Render a template the way the runtime does; (output, whether a placeholder went in)."""
        refs = _setting_refs(source)
        self.used_settings |= refs
        unknown = sorted(r for r in refs if r not in self.spec.settings)
        for name in unknown:
            self.error(
                loc,
                f"settings.{name} is not a setting of this spec.",
                f"declare it under settings, or use one of: {', '.join(self.spec.settings) or '(none)'}.",
            )
        context: dict[str, Any] = {"settings": settings}
        if secrets is not None:
            secret_refs = _secret_refs(source)
            self.used_secrets |= secret_refs
            for name in sorted(secret_refs - set(self.spec.secrets)):
                self.error(
                    loc,
                    f"secrets.{name} is not a secret of this spec.",
                    f"declare it under secrets, or use one of: {', '.join(self.spec.secrets) or '(none)'}.",
                )
                unknown.append(name)
            context["secrets"] = {name: f"<{name}>" for name in secrets}
        elif _secret_refs(source):
            self.error(
                loc,
                "secrets are only available to auth templates, not here.",
                "move the credential into `auth:`.",
            )
            return None, False
        if unknown:
            return None, False
        try:
            out = Template(source).render(context)
        except TemplateError as exc:
            self.error(loc, f"{exc}.", "fix the template; it is rendered with the settings' defaults.")
            return None, False
        return out, bool(refs & self.placeholders)

    def check_base_url(self) -> None:
        from destkit.runtime.config.urls import check_base_url

        url, placeholder = self.render(["base_url"], self.spec.base_url, self.settings)
        if url is None:
            return
        if self.spec.user_url:  # the user's own URL (a webhook): a path is fine, the host is checked per sync
            if placeholder:
                return
            problem = (
                None if url.startswith("https://") else f"{url} is not HTTPS; destkit only sends over HTTPS"
            )
        else:
            problem = check_base_url(url.rstrip("/"), override=False, allow_http=False, user_url=False)
        if problem:
            note = " (rendered with placeholder settings)" if placeholder else ""
            self.add(
                "warning" if placeholder else "error",
                ["base_url"],
                f"{problem}{note}.",
                "the base URL must render to https://host, with no path, query or credentials.",
            )

    def check_settings(self) -> None:
        from destkit.runtime.config.settings import settings_schema

        schema = settings_schema(self.spec)
        for name, s in self.spec.settings.items():
            if s.pattern:
                try:
                    re.compile(s.pattern)
                except re.error as exc:
                    self.error(
                        ["settings", name, "pattern"],
                        f"the pattern does not compile: {exc}.",
                        "fix the regular expression.",
                    )
                    continue
            if s.default is None:
                continue
            validator = jsonschema.Draft202012Validator(schema["properties"][name])
            problems = [e.message for e in validator.iter_errors(s.default)]
            if s.pattern and isinstance(s.default, str) and re.fullmatch(s.pattern, s.default) is None:
                problems.append(f"{s.default!r} does not match the whole pattern")
            if problems:
                self.error(
                    ["settings", name, "default"],
                    f"the default does not satisfy the setting's own schema: {problems[0]}.",
                    "change the default or the setting's type, pattern or enum.",
                )

    def check_auth(self, loc: list[str | int], auth: Any) -> None:
        """The auth block's templates render with the declared secrets; a hook's import path resolves."""
        if isinstance(auth, HookAuth):
            self.has_hook = True
            try:
                factory = load_hook(auth.hook)
            except (ImportError, ValueError) as exc:
                self.error(
                    [*loc, "hook"],
                    f"the auth hook {auth.hook} does not load: {exc}.",
                    "give the import path 'package.module:function' of an installed module.",
                )
                return
            if not callable(factory):
                self.error(
                    [*loc, "hook"],
                    f"{auth.hook} is not callable.",
                    "name a function that returns an httpx.Auth.",
                )
            return
        for key, source in _auth_templates(auth):
            self.render([*loc, key], source, self.settings, secrets=self.spec.secrets)

    def check_auth_secrets(self, loc: list[str | int], auth: Any, action_id: str) -> None:
        """Every secret the action's auth uses is one the action gets (`secrets.<name>.actions`)."""
        for key, source in _auth_templates(auth):
            for name in sorted(_secret_refs(source) & set(self.spec.secrets)):
                allowed = self.spec.secrets[name].actions
                if allowed is not None and action_id not in allowed:
                    self.error(
                        [*loc, key],
                        f"the secret '{name}' is not available to the {action_id} action "
                        f"(secrets.{name}.actions leaves it out).",
                        f"add {action_id} to secrets.{name}.actions.",
                    )

    def check_response(self, loc: list[str | int], response: ResponseSpec) -> None:
        for key, expr in (
            ("results", response.results),
            ("id", response.id),
            ("note", response.note),
            ("error.code", response.error.code),
            ("error.message", response.error.message),
        ):
            if expr is not None and (why := _jmespath_problem(expr)) is not None:
                self.error(
                    [*loc, *key.split(".")],
                    f"'{expr}' is not a valid JMESPath expression: {why}.",
                    "fix the expression (https://jmespath.org/).",
                )

    def check_errors(self, loc: list[str | int], classes: ErrorClasses) -> None:
        # the order the runtime applies them in: auth (stops the run), then retry, then rejected
        owner: dict[int | str, str] = {}
        for cls in ("auth", "retry", "rejected"):
            for status in getattr(classes, cls):
                if (isinstance(status, int) and 200 <= status < 400) or status in ("2xx", "3xx"):
                    self.warn(
                        [*loc, cls],
                        f"{status} is listed under {cls}, but 2xx is always success and 3xx is "
                        "never followed.",
                        f"remove {status}.",
                    )
                elif status in owner:
                    self.warn(
                        [*loc, cls],
                        f"{status} is listed under both {owner[status]} and {cls}; {owner[status]} wins.",
                        f"remove {status} from {cls}.",
                    )
                else:
                    owner[status] = cls
        for status in classes.split:
            if owner.get(status) in ("auth", "retry"):
                self.warn(
                    [*loc, "split"],
                    f"{status} is under split but also under {owner[status]}, which wins, "
                    "so it is never split.",
                    f"remove {status} from split.",
                )

    def check_action(
        self,
        action: ActionSpec,
        loc: list[str | int],
        settings: dict[str, Any],
        request: bool = True,
        response: bool = True,
    ) -> set[str]:
        """Render and compile one (resolved) action's request, and its response paths; the fields the
        request uses. With `request=False` only what a variant's own batch changes is checked."""
        req = action.request
        used: set[str] = set()
        if not request:
            if action.batch.key:
                used.add(action.batch.key)
            if response:
                self.check_response([*loc, "response"], action.response)
            return used
        rendered_path, _ = self.render([*loc, "request", "path"], req.path, settings)
        method, placeholder = self.render([*loc, "request", "method"], req.method, settings)
        if method is not None and method.upper() not in HTTP_METHODS:
            self.add(
                "warning" if placeholder else "error",
                [*loc, "request", "method"],
                f"the method renders to '{method}', which is not an HTTP method"
                + (" (with placeholder settings)" if placeholder else "")
                + ".",
                f"use one of {', '.join(HTTP_METHODS)}.",
            )
        for part in ("query", "headers"):
            for key, source in getattr(req, part).items():
                self.render([*loc, "request", part, key], source, settings)
        for ref in refs_in(req.record) + refs_in(req.body):
            if ref.kind == "field":
                used.add(ref.name)
            elif ref.kind == "setting":
                self.used_settings.add(ref.name)
        if req.body is not None and req.record is None:
            self.error(
                [*loc, "request", "record"],
                "there is a request body but no `record:` template, so every record would be sent as null.",
                "add `record:` with the record's body, e.g. `{id: $id, email: $email}`.",
            )
        params: tuple[str, ...] = ()
        if rendered_path is not None:
            params = path_parameters(rendered_path)
            used |= set(params)
        if action.batch.key:
            used.add(action.batch.key)
        if not isinstance(action.response.match, str):
            used.add(action.response.match.key)
        try:
            build_envelope(req.body, settings)
        except ValueError as exc:
            self.error([*loc, "request", "body"], f"{exc}.")
            return used
        if any(p not in action.fields for p in params):
            return used  # check_semantics names them; the processor cannot be built
        catalogs: dict[str, Catalog] = {}
        for f in action.fields.values():
            for catalog_name in (f.catalog, f.keys_catalog, f.items.catalog if f.items else None):
                if catalog_name is not None:
                    self.used_catalogs.add(catalog_name)
                    catalogs[catalog_name] = Catalog(catalog_name, frozenset(), {}, self.spec.catalogs.get(catalog_name))
        key_field = key_of(action)
        try:
            process, _ = compile_processor(
                action, settings, catalogs, {}, frozenset(action.fields), key_field, path_params=params
            )
        except Exception as exc:  # any failure here is a spec the runtime cannot run
            self.error(
                [*loc, "request", "record"],
                f"the record checks and body do not compile: {type(exc).__name__}: {exc}.",
                "check the field schemas and the record template.",
            )
            return used
        try:  # an empty record must fail its required fields, not crash the generated code
            process({}, [])
        except Exception as exc:
            if type(exc).__name__ != "RecordError":
                self.error(
                    [*loc, "request", "record"],
                    f"the generated record code fails on an empty record: {type(exc).__name__}: {exc}.",
                    "report this; the spec compiles but cannot run.",
                )
        if response:
            self.check_response([*loc, "response"], action.response)
        return used

    def check_batch(self, loc: list[str | int], action: ActionSpec) -> None:
        b = action.batch
        if b.max_records > MAX_RECORDS_WARN:
            self.warn(
                [*loc, "batch", "max_records"],
                f"max_records is {b.max_records:,}; few APIs accept more than "
                f"{MAX_RECORDS_WARN:,} records per request, and a failed batch is retried or split as a whole.",
                "use the API's documented limit.",
            )
        if b.max_bytes > MAX_BYTES_WARN:
            self.warn(
                [*loc, "batch", "max_bytes"],
                f"max_bytes is {b.max_bytes:,} ({b.max_bytes / 1e6:g} MB); requests over "
                f"{MAX_BYTES_WARN / 1e6:g} MB are refused by most gateways (HTTP 413).",
                "use the API's documented request size limit.",
            )

    def run(self) -> list[Finding]:
        spec = self.spec
        self.check_settings()
        self.check_base_url()
        self.check_auth(["auth"], spec.auth)
        self.check_errors(["errors"], spec.errors)
        for name in spec.secrets:
            for action_id in spec.secrets[name].actions or []:
                if action_id not in spec.actions:
                    self.error(
                        ["secrets", name, "actions"],
                        f"'{action_id}' is not an action of this spec.",
                        f"use one of: {', '.join(spec.actions)}.",
                    )
        for name, cat in spec.catalogs.items():
            for key in ("items", "labels"):
                expr = getattr(cat, key)
                if expr is not None and (why := _jmespath_problem(expr)) is not None:
                    self.error(
                        ["catalogs", name, key],
                        f"'{expr}' is not a valid JMESPath expression: {why}.",
                        "fix the expression (https://jmespath.org/).",
                    )
        for action_id, action in spec.actions.items():
            self.check_one_action(action_id, action)
        self._check_unused()
        self._check_emulator()
        return self.findings

    def check_one_action(self, action_id: str, action: ActionSpec) -> None:
        spec = self.spec
        base: list[str | int] = ["actions", action_id]
        used = self.check_action(action, base, self.settings)
        self.check_batch(base, action)
        if action.errors is not None:
            self.check_errors([*base, "errors"], action.errors)
        if action.auth is None:
            self.check_auth_secrets(["auth"], spec.auth, action_id)
        else:
            self.check_auth([*base, "auth"], action.auth)
            self.check_auth_secrets([*base, "auth"], action.auth, action_id)
        for i, variant in enumerate(action.variants):
            vloc: list[str | int] = [*base, "variants", i]
            name, value = variant.when.setting, variant.when.equals
            self.used_settings.add(name)
            if name in spec.settings:
                self._check_when(vloc, name, value)
            vsettings = {**self.settings, name: value}
            same = next(j for j, v in enumerate(action.variants) if v.when == variant.when)
            if same != i:
                self.warn(
                    [*vloc, "when"],
                    f"variants[{same}] has the same `when` and is chosen first, so this variant is never used.",
                    "remove it or change its `when`.",
                )
                continue
            update = {k: getattr(variant, k) for k in ("batch", "request", "response", "auth")}
            resolved = action.model_copy(
                update={k: v for k, v in update.items() if v is not None} | {"variants": []}
            )
            # what the variant does not replace was checked with the action (no duplicate findings)
            used |= self.check_action(
                resolved,
                vloc,
                vsettings,
                request=variant.request is not None,
                response=variant.response is not None,
            )
            if variant.batch is not None:
                self.check_batch(vloc, resolved)
            if variant.auth is not None:
                self.check_auth([*vloc, "auth"], variant.auth)
                self.check_auth_secrets([*vloc, "auth"], variant.auth, action_id)
        for name in action.fields:
            if name not in used:
                self.warn(
                    [*base, "fields", name],
                    f"'{name}' is not used by the request body, path or batch key, "
                    "so its value is checked but never sent.",
                    f"use ${name} in request.record, or remove the field.",
                )

    def _check_when(self, loc: list[str | int], name: str, value: Any) -> None:
        from destkit.runtime.config.settings import settings_schema

        schema = settings_schema(self.spec)["properties"][name]
        problems = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(value)]
        if problems:
            self.warn(
                [*loc, "when", "equals"],
                f"{value!r} is not a valid value of the setting '{name}' "
                f"({problems[0]}), so this variant is never chosen.",
                "compare with a value the setting can take.",
            )

    def _check_unused(self) -> None:
        if not self.has_hook:  # a hook receives every setting and secret, so anything may be used
            for name in self.spec.settings:
                if name not in self.used_settings:
                    self.warn(
                        ["settings", name],
                        f"the setting '{name}' is not used by any template, request or variant.",
                        "use it (e.g. $settings." + name + " in a record) or remove it.",
                    )
            for name in self.spec.secrets:
                if name not in self.used_secrets:
                    self.warn(
                        ["secrets", name],
                        f"the secret '{name}' is not used by any auth template.",
                        "use it (e.g. {{ secrets." + name + " }} in auth) or remove it.",
                    )
        for name in self.spec.catalogs:
            if name not in self.used_catalogs:
                self.warn(
                    ["catalogs", name],
                    f"the catalog '{name}' is not used by any field (catalog or keys_catalog).",
                    "point a field at it, or remove it.",
                )

    def _check_emulator(self) -> None:
        if self.spec.emulator is None:
            return
        try:
            factory = load_hook(self.spec.emulator)
        except (ImportError, ValueError) as exc:
            self.warn(
                ["emulator"],
                f"the emulator {self.spec.emulator} does not load: {exc}.",
                "give the import path 'package.module:create_app' of an installed module.",
            )
            return
        if not callable(factory):
            self.warn(
                ["emulator"],
                f"{self.spec.emulator} is not callable.",
                "name a function that returns an ASGI app.",
            )


def deep_check(spec: DestinationSpec, doc: LocatedYaml | None = None) -> list[Finding]:
    """The author's checks on a spec that already loaded (see the module docstring)."""
    checker = _Checker(spec, doc)
    try:
        return checker.run()
    except Exception as exc:  # a bug in the checker must not hide what it found so far behind a traceback
        checker.error(
            ["(check)"],
            f"destkit could not finish checking this spec: {type(exc).__name__}: {exc}.",
            "this is a bug in destkit's spec checker; please report it with the spec.",
        )
        return checker.findings


__all__ = ["Finding", "SpecCheck", "check_spec", "check_spec_text", "deep_check", "sample_settings"]
