"""Load and check destination specs; every error names the file, the line and the key."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from destkit.mapping import Template, TemplateError
from destkit.runtime.errors import Issue, SpecError
from destkit.runtime.spec.body_template import build_envelope, refs_in
from destkit.runtime.spec.located_yaml import LocatedYaml, yaml_error_line
from destkit.runtime.spec.models import ActionSpec, DestinationSpec
from destkit.runtime.spec.vocabulary import path_parameters

_BUNDLED = "destkit.specs"


def bundled_spec_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(_BUNDLED).iterdir() if p.name.endswith(".yaml"))


def locate(name_or_path: str | Path) -> tuple[str, str]:
    """(text, display name) of a bundled spec id or a file path."""
    text_name = str(name_or_path)
    p = Path(text_name)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise SpecError([Issue("destination", f"spec file {p} does not exist.", "give a path to a .yaml spec or a bundled destination id.")])
        return p.read_text(encoding="utf-8"), str(p)
    if text_name not in bundled_spec_names():
        raise SpecError([Issue("destination", f"'{text_name}' is not a bundled destination.",
                               f"use one of {', '.join(bundled_spec_names())}, or a path to a spec file.")])
    res = resources.files(_BUNDLED).joinpath(f"{text_name}.yaml")
    return res.read_text(encoding="utf-8"), f"specs/{text_name}.yaml"


def load_spec(name_or_path: str | Path) -> DestinationSpec:
    """A bundled spec by id (`hello_charles`) or a spec file by path, validated and checked."""
    text, display = locate(name_or_path)
    return parse_spec(text, display)


def parse_spec(text: str, file: str = "<spec>") -> DestinationSpec:
    try:
        doc = LocatedYaml(text, file)
    except yaml.YAMLError as exc:
        raise SpecError([Issue("(yaml)", f"not valid YAML: {getattr(exc, 'problem', exc)}.", "fix the YAML syntax.",
                               file, yaml_error_line(exc))]) from None
    if not isinstance(doc.data, dict):
        raise SpecError([Issue("(root)", "a spec must be a mapping with spec_version, id, actions, ...", "", file, 1)])
    try:
        spec = DestinationSpec.model_validate(doc.data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS)]
            key = ".".join(str(p) for p in loc) or "(root)"
            msg = err["msg"]
            fix = ""
            if err["type"] == "extra_forbidden":
                msg, fix = f"'{loc[-1]}' is not a key the spec language knows", "remove it or check its spelling against destination-spec.schema.json."
            elif err["type"] == "missing":
                fix = "add it."
            issues.append(Issue(key, msg + ".", fix, file, doc.line_of(loc)))
        raise SpecError(issues) from None
    issues = check_semantics(spec, doc)
    if issues:
        raise SpecError(issues)
    return spec


_UNION_TAGS = {"api_key", "bearer", "basic", "hook", "none", "jwt", "hmac", "KeyMatch", "str", "list[str]", "int", "function-after[_catalogs_exist(), DestinationSpec]"}


def check_semantics(spec: DestinationSpec, doc: LocatedYaml | None = None) -> list[Issue]:
    """What the schema cannot say: references resolve, templates compile, limits are sane."""
    file = doc.file if doc else None
    issues: list[Issue] = []

    def add(loc: Sequence[str | int], message: str, fix: str = "") -> None:
        issues.append(Issue(".".join(map(str, loc)), message, fix, file, doc.line_of(list(loc)) if doc else None))

    for loc, source in [(["base_url"], spec.base_url)] + [
        (["actions", a, "request", "path"], act.request.path) for a, act in spec.actions.items()
    ]:
        try:
            Template(source)
        except TemplateError as exc:
            add(loc, f"{exc}.", "fix the Jinja2 syntax.")
    if not spec.base_url.startswith("https://") and not spec.base_url.startswith("{{"):
        add(["base_url"], "the base URL must use https.", "write https://...")
    for action_id, action in spec.actions.items():
        base = ["actions", action_id]
        issues_before = len(issues)
        _check_action(spec, action, base, add)
        for i, variant in enumerate(action.variants):
            if variant.when.setting not in spec.settings:
                add([*base, "variants", i, "when", "setting"], f"'{variant.when.setting}' is not a setting of this spec.")
            if len(issues) == issues_before:
                _check_action(spec, action.model_copy(update={k: getattr(variant, k) for k in ("batch", "request", "response")
                                                              if getattr(variant, k) is not None}),
                              [*base, "variants", i], add)
    return issues


def _check_action(spec: DestinationSpec, action: ActionSpec, base: Sequence[str | int], add: Callable[..., None]) -> None:
    for ref in refs_in(action.request.record):
        if ref.kind == "field" and ref.name not in action.fields:
            add([*base, "request", "record"], f"${ref.name} is not a field of this action.",
                f"use one of {', '.join('$' + f for f in action.fields)}.")
        elif ref.kind == "setting" and ref.name not in spec.settings:
            add([*base, "request", "record"], f"$settings.{ref.name} is not a setting of this spec.", "declare it under settings.")
        elif ref.kind in ("records", "record"):
            add([*base, "request", "record"], f"${ref.kind} belongs in request.body, not in the record body.")
    body_refs = refs_in(action.request.body)
    kinds = [r.kind for r in body_refs if r.kind in ("records", "record")]
    if action.request.body is None:
        pass
    elif len(kinds) != 1:
        add([*base, "request", "body"], "the request body must contain $records (or $record) exactly once.",
            "write e.g. `body: {contacts: $records}`.")
    elif kinds[0] == "record" and action.batch.max_records != 1:
        add([*base, "batch", "max_records"], "a body with $record sends one record per request, so max_records must be 1.")
    for ref in body_refs:
        if ref.kind == "field":
            add([*base, "request", "body"], f"${ref.name}: fields belong in `record:`, the body only takes $records and $settings.")
    if action.batch.key is not None and action.batch.key not in action.fields:
        add([*base, "batch", "key"], f"'{action.batch.key}' is not a field of this action.")
    if not isinstance(action.response.match, str) and action.response.match.key not in action.fields:
        add([*base, "response", "match", "key"], f"'{action.response.match.key}' is not a field of this action.")
    if not any(f.required for f in action.fields.values()):
        add([*base, "fields"], "no field is required, so an empty record would be sent.", "mark the record's key field required: true.")
    params = path_parameters(action.request.path)
    for name in params:
        if name not in action.fields:
            add([*base, "request", "path"], f"{{{name}}} in the path is not a field of this action.")
    if params and action.batch.max_records != 1:
        add([*base, "batch", "max_records"], "a path with {field} parameters sends one record per request, so max_records must be 1.")
    if action.request.body is None and action.batch.max_records != 1:
        add([*base, "batch", "max_records"], "a request without a body sends one record per request, so max_records must be 1.")
    for i, rule in enumerate(action.constraints):
        for name in rule.one_of:
            if name not in action.fields:
                add([*base, "constraints", i, "one_of"], f"'{name}' is not a field of this action.")
    for name, f in action.fields.items():
        if f.resolve is not None and (action.batch.key is None or action.batch.key == name):
            add([*base, "fields", name, "resolve"], "resolve looks the value up by the record's key: set batch.key to the key field.")
    try:
        build_envelope(action.request.body, {})
    except ValueError as exc:
        add([*base, "request", "body"], f"{exc}.")
