"""Load and check destination specs; every error names the file, the line and the key.

A spec names code that runs when it is used (hooks, an emulator), so a spec file given by path is
loaded only when the caller trusts it (`trust_spec=True`, CLI `--trust-spec`); bundled specs are
trusted. Whatever its origin, a spec's import paths must lie in the packages it may run code from.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from destkit.mapping import Template, TemplateError
from destkit.runtime.errors import Issue, SpecError
from destkit.runtime.spec import rate_values
from destkit.runtime.spec.body_template import (
    OPERATION,
    build_envelope,
    field_path,
    key_templates_in,
    merges_in,
    parse_ref,
    refs_in,
)
from destkit.runtime.spec.hooks import not_a_connector, outside_packages
from destkit.runtime.spec.located_yaml import LocatedYaml, yaml_error_line
from destkit.runtime.spec.models import (
    COLUMNS,
    ActionSpec,
    DestinationSpec,
    FieldMatch,
    KeyMatch,
    PositionalRecord,
    RequestSpec,
    Variant,
)
from destkit.runtime.spec.vocabulary import (
    AUTH_KINDS,
    NORMALIZE_FIX,
    path_parameters,
    settings_used,
    unknown_normalize_message,
    unknown_normalize_names,
)

_BUNDLED = "destkit.specs"
MERGE_FIX = "write {$merge: [$object_field, {key: $field, ...}]}: object fields and objects, a later key winning."

Loc = list[str | int]


def bundled_spec_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(_BUNDLED).iterdir() if p.name.endswith(".yaml"))


def _stat_says(test: Callable[[Path], bool], path: Path) -> bool:
    """`path.exists()` / `is_file()`, False for a name the file system refuses (over 255 bytes: ENAMETOOLONG)."""
    try:
        return test(path)
    except OSError:
        return False


def is_spec_path(name_or_path: str | Path) -> bool:
    """A spec file's path (a .yaml name, or anything that exists), not a bundled destination's id."""
    p = Path(str(name_or_path))
    return p.suffix in (".yaml", ".yml") or _stat_says(Path.exists, p)


def locate(name_or_path: str | Path) -> tuple[str, str]:
    """(text, display name) of a bundled spec id or a file path."""
    text_name = str(name_or_path)
    p = Path(text_name)
    if is_spec_path(p):
        if not _stat_says(Path.is_file, p):
            raise SpecError([Issue("destination", f"spec file {p} does not exist.", "give a path to a .yaml spec or a bundled destination id.")])
        return p.read_text(encoding="utf-8"), str(p)
    if text_name not in bundled_spec_names():
        raise SpecError([Issue("destination", f"'{text_name}' is not a bundled destination.",
                               f"use one of {', '.join(bundled_spec_names())}, or a path to a spec file.")])
    res = resources.files(_BUNDLED).joinpath(f"{text_name}.yaml")
    return res.read_text(encoding="utf-8"), f"specs/{text_name}.yaml"


TRUST_FIX = ("if you wrote this spec or trust its author, pass --trust-spec (Python: trust_spec=True); "
             "bundled destinations need no flag.")


def load_spec(name_or_path: str | Path, *, trust_spec: bool = False) -> DestinationSpec:
    """A bundled spec by id (`hello_charles`) or a spec file by path, validated and checked.

    A spec file runs the code it names, so it is read only with `trust_spec=True`.
    """
    if is_spec_path(name_or_path) and _stat_says(Path.is_file, Path(name_or_path)) and not trust_spec:
        raise SpecError([Issue("destination", f"the spec file {name_or_path} is not trusted: a spec names Python code "
                               "(hooks, an emulator) that runs when it is used.", TRUST_FIX)])
    text, display = locate(name_or_path)
    return parse_spec(text, display)


def parse_spec(text: str, file: str = "<spec>") -> DestinationSpec:
    """The spec in `text`: YAML, then the schema, then `check_semantics`; raises SpecError listing every issue."""
    doc = _read_yaml(text, file)
    spec = _validate(doc, file)
    issues = check_semantics(spec, doc)
    if issues:
        raise SpecError(issues)
    return spec


# --- YAML and schema -----------------------------------------------------------------------------

# pydantic puts the tag of the union member it tried into an error's location (auth.jwt.ttl);
# the author never wrote it, so it is dropped before the location is named or looked up.
_UNION_TAGS = AUTH_KINDS | {"KeyMatch", "IndexMatch", "FieldMatch", "str", "list[str]", "int", "function-after[_catalogs_exist(), DestinationSpec]"}


def _read_yaml(text: str, file: str) -> LocatedYaml:
    try:
        doc = LocatedYaml(text, file)
    except yaml.YAMLError as exc:
        raise SpecError([Issue("(yaml)", f"not valid YAML: {getattr(exc, 'problem', exc)}.", "fix the YAML syntax.",
                               file, yaml_error_line(exc))]) from None
    if not isinstance(doc.data, dict):
        raise SpecError([Issue("(root)", "a spec must be a mapping with spec_version, id, actions, ...", "", file, 1)])
    return doc


def _validate(doc: LocatedYaml, file: str) -> DestinationSpec:
    try:
        return DestinationSpec.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError([_schema_issue(err, doc, file) for err in exc.errors()]) from None


def _schema_issue(err: ErrorDetails, doc: LocatedYaml, file: str) -> Issue:
    loc: Loc = [p for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS)]
    key = ".".join(str(p) for p in loc) or "(root)"
    msg, fix = err["msg"], rate_values.fix_of(err.get("ctx"))
    if err["type"] == "extra_forbidden":
        msg, fix = f"'{loc[-1]}' is not a key the spec language knows", "remove it or check its spelling against destination-spec.schema.json."
    elif err["type"] == "missing":
        fix = "add it."
    return Issue(key, msg + ".", fix, file, doc.line_of(loc))


# --- semantics: what the schema cannot say -------------------------------------------------------


class _Issues:
    """The issues found so far, each placed on its line when the YAML document is known."""

    def __init__(self, doc: LocatedYaml | None) -> None:
        self.doc = doc
        self.found: list[Issue] = []

    def add(self, loc: Loc, message: str, fix: str = "") -> None:
        file = self.doc.file if self.doc else None
        line = self.doc.line_of(loc) if self.doc else None
        self.found.append(Issue(".".join(map(str, loc)), message, fix, file, line))

    def __len__(self) -> int:
        return len(self.found)


def check_semantics(spec: DestinationSpec, doc: LocatedYaml | None = None) -> list[Issue]:
    """What the schema cannot say: references resolve, templates compile, limits are sane."""
    issues = _Issues(doc)
    _check_code_comes_from_the_declared_packages(spec, issues)
    _check_templates_compile(spec, issues)
    _check_base_url_is_https(spec, issues)
    for action_id, action in spec.actions.items():
        _check_action_and_variants(spec, action_id, action, issues)
    return issues.found


def _check_code_comes_from_the_declared_packages(spec: DestinationSpec, issues: _Issues) -> None:
    """`python_package:` names a connector's package, and every hook and emulator lies in the allowed ones.

    Checked before any hook is imported: importing a module runs it.
    """
    declared = spec.python_packages()[1:]
    for i, package in enumerate(declared):
        why = not_a_connector(package)
        if why is not None:
            loc: Loc = ["python_package"] if isinstance(spec.python_package, str) else ["python_package", i]
            issues.add(loc, f"{package} is {why}, not a connector's package.",
                       "name the connector's own package, where its hooks and emulator live.")
    for loc, message, fix in outside_packages(spec):
        issues.add(loc, message, fix)


def _check_templates_compile(spec: DestinationSpec, issues: _Issues) -> None:
    templates: list[tuple[Loc, str]] = [(["base_url"], spec.base_url)]
    templates += [(["actions", a, "request", "path"], act.request.path) for a, act in spec.actions.items()]
    templates += [(["actions", a, "remove", "request", "path"], act.remove.request.path) for a, act in spec.actions.items()
                  if act.remove is not None and act.remove.request is not None]
    for loc, source in templates:
        try:
            Template(source)
        except TemplateError as exc:
            issues.add(loc, f"{exc}.", "fix the Jinja2 syntax.")


def _check_base_url_is_https(spec: DestinationSpec, issues: _Issues) -> None:
    if not spec.base_url.startswith("https://") and not spec.base_url.startswith("{{"):
        issues.add(["base_url"], "the base URL must use https.", "write https://...")


def _check_action_and_variants(spec: DestinationSpec, action_id: str, action: ActionSpec, issues: _Issues) -> None:
    base: Loc = ["actions", action_id]
    issues_before = len(issues)
    _check_action(spec, action, base, issues)
    for i, variant in enumerate(action.variants):
        if variant.when.setting not in spec.settings:
            issues.add([*base, "variants", i, "when", "setting"], f"'{variant.when.setting}' is not a setting of this spec.")
        # a variant is checked only while its action is clean: what it inherits would be named twice
        if len(issues) == issues_before:
            _check_action(spec, _with_variant(action, variant), [*base, "variants", i], issues)
    _check_removal(spec, action, base, issues)


def _check_removal(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    """`remove:` is checked as the action its removals are sent as; `$operation` needs one to mean anything."""
    removal = action.removal()
    if removal is None:
        if _mentions_operation(action.request):
            issues.add([*base, "request"], "$operation is `add`, or `remove` in the action's removal request, but "
                       "this action declares no `remove:`.", "declare `remove:` (e.g. `remove: {}` to send removals "
                       "through this request with $operation = remove), or write the value itself.")
        return
    if removal.request == action.request and not _mentions_operation(action.request):
        issues.add([*base, "remove"], "the removal request is the action's request as is, so a removal would add the "
                   "member again.", "give `remove.request` what differs (e.g. `method: DELETE`), or say which records "
                   "are removals with $operation in the record or body (`op: $operation`).")
    _check_action(spec, removal, [*base, "remove"], issues)


def _mentions_operation(request: RequestSpec) -> bool:
    return any(ref.kind == OPERATION for ref in [*refs_in(request.record), *refs_in(request.body)])


def _with_variant(action: ActionSpec, variant: Variant) -> ActionSpec:
    """The action as the variant sends it (the variant's auth is not a semantic concern here)."""
    update = {k: getattr(variant, k) for k in ("batch", "request", "response") if getattr(variant, k) is not None}
    return action.model_copy(update=update)


# --- one action (or an action with a variant applied) --------------------------------------------


def _check_action(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    for check in _ACTION_CHECKS:
        check(spec, action, base, issues)


def _normalize_names_known(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    for field_name, f in action.fields.items():
        names = [f.normalize] if isinstance(f.normalize, str) else list(f.normalize or [])
        for name in unknown_normalize_names(names):
            issues.add([*base, "fields", field_name, "normalize"], unknown_normalize_message(name), NORMALIZE_FIX)


def _record_refs_resolve(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    loc: Loc = [*base, "request", "record"]
    for ref in refs_in(action.request.record):
        if ref.kind == "field" and ref.name not in action.fields:
            issues.add(loc, f"${ref.name} is not a field of this action.", f"use one of {', '.join('$' + f for f in action.fields)}.")
        elif ref.kind == "setting" and ref.name not in spec.settings:
            issues.add(loc, f"$settings.{ref.name} is not a setting of this spec.", "declare it under settings.")
        elif ref.kind in ("records", "record"):
            issues.add(loc, f"${ref.kind} belongs in request.body, not in the record body.")
        elif ref.kind == "session":
            issues.add(loc, f"$session.{ref.name} is a value of the whole request; it belongs in request.body, "
                       "not in the record body.")


def _merges_are_objects(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    """Each `$merge` entry is an object field or an object template: a scalar cannot be merged into one."""
    loc: Loc = [*base, "request", "record"]
    for entries in merges_in(action.request.record):
        if not isinstance(entries, list) or not entries:
            issues.add(loc, "$merge takes a list of the objects to merge.", MERGE_FIX)
            continue
        for entry in entries:
            ref = parse_ref(entry)
            if isinstance(entry, dict) or (ref is not None and ref.kind == "field" and ref.name not in action.fields):
                continue  # an object template; an unknown field is named by _record_refs_resolve
            if ref is None or ref.kind != "field":
                issues.add(loc, f"$merge: {entry!r} is not an object.", MERGE_FIX)
            elif "object" not in action.fields[ref.name].types:
                issues.add(loc, f"$merge: ${ref.name} is a field of type {action.fields[ref.name].type}, not an object.",
                           MERGE_FIX)


def _key_templates_name_settings(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    """A key written as a template reads declared settings only (it is rendered once per sync)."""
    loc: Loc = [*base, "request", "record"]
    for key in key_templates_in(action.request.record):
        try:
            Template(key)
        except TemplateError as exc:
            issues.add(loc, f"the key {key!r}: {exc}.", "fix the Jinja2 syntax.")
            continue
        for name in sorted(settings_used(key) - set(spec.settings)):
            issues.add(loc, f"the key {key!r} reads settings.{name}, which is not a setting of this spec.",
                       "declare it under settings.")


def _columns_are_the_whole_record(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    """`{$columns: ...}` nested inside a record template would be sent as a literal `$columns` key."""
    record = action.request.record
    if not isinstance(record, PositionalRecord) and _has_columns_key(record):
        issues.add([*base, "request", "record"], "a positional record ({$columns: ...}) must be the whole record, "
                   "not a part of it.", "make `record:` the {$columns: ...} mapping, and put the other values in the body.")


def _has_columns_key(node: object) -> bool:
    if isinstance(node, dict):
        return COLUMNS in node or any(_has_columns_key(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_columns_key(v) for v in node)
    return False


def _body_holds_the_records_once(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    if action.request.body is None:
        return
    kinds = [r.kind for r in refs_in(action.request.body) if r.kind in ("records", "record")]
    if len(kinds) != 1:
        issues.add([*base, "request", "body"], "the request body must contain $records (or $record) exactly once.",
                   "write e.g. `body: {contacts: $records}`.")
    elif kinds[0] == "record" and action.batch.max_records != 1:
        issues.add([*base, "batch", "max_records"], "a body with $record sends one record per request, so max_records must be 1.")


def _body_names_no_fields(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    for ref in refs_in(action.request.body):
        if ref.kind == "field":
            issues.add([*base, "request", "body"], f"${ref.name}: fields belong in `record:`, the body only takes $records and $settings.")


def _keys_are_fields(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    if action.batch.key is not None and action.batch.key not in action.fields:
        issues.add([*base, "batch", "key"], f"'{action.batch.key}' is not a field of this action.")
    if isinstance(action.response.match, KeyMatch) and action.response.match.key not in action.fields:
        issues.add([*base, "response", "match", "key"], f"'{action.response.match.key}' is not a field of this action.")


def _match_field_is_a_sent_required_field(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    """`match: {field: ...}` reads each record's value from its body: a required field sent as a plain `$field`."""
    match = action.response.match
    if not isinstance(match, FieldMatch):
        return
    loc: Loc = [*base, "response", "match", "field"]
    f = action.fields.get(match.field)
    if f is None:
        issues.add(loc, f"'{match.field}' is not a field of this action.")
    elif not f.required:
        issues.add(loc, f"'{match.field}' is optional: a record without it could not be matched to its result.",
                   f"mark {match.field} required: true, or match on a field every record has.")
    elif field_path(action.request.record, match.field) is None:
        issues.add(loc, f"${match.field} is not sent as a plain value in the record template, so its value cannot "
                   "be read back to match a result.", f"put ${match.field} in `record:` as it is (not mapped or merged).")


def _some_field_is_required(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    if not any(f.required for f in action.fields.values()):
        issues.add([*base, "fields"], "no field is required, so an empty record would be sent.", "mark the record's key field required: true.")


def _path_parameters_are_fields(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    params = path_parameters(action.request.path)
    for name in params:
        if name not in action.fields:
            issues.add([*base, "request", "path"], f"{{{name}}} in the path is not a field of this action.")
    if params and action.batch.max_records != 1:
        issues.add([*base, "batch", "max_records"], "a path with {field} parameters sends one record per request, so max_records must be 1.")


def _bodyless_request_sends_one_record(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    if action.request.body is None and action.batch.max_records != 1:
        issues.add([*base, "batch", "max_records"], "a request without a body sends one record per request, so max_records must be 1.")


def _constraints_name_fields(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    for i, rule in enumerate(action.constraints):
        for name in rule.one_of:
            if name not in action.fields:
                issues.add([*base, "constraints", i, "one_of"], f"'{name}' is not a field of this action.")


def _resolve_has_a_batch_key(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    for name, f in action.fields.items():
        if f.resolve is not None and (action.batch.key is None or action.batch.key == name):
            issues.add([*base, "fields", name, "resolve"], "resolve looks the value up by the record's key: set batch.key to the key field.")


def _body_envelope_builds(spec: DestinationSpec, action: ActionSpec, base: Loc, issues: _Issues) -> None:
    try:
        build_envelope(action.request.body, {})
    except ValueError as exc:
        issues.add([*base, "request", "body"], f"{exc}.")


# in this order: the issues come out in the order an author reads the action
_ACTION_CHECKS: tuple[Callable[[DestinationSpec, ActionSpec, Loc, _Issues], None], ...] = (
    _normalize_names_known,
    _record_refs_resolve,
    _merges_are_objects,
    _key_templates_name_settings,
    _columns_are_the_whole_record,
    _body_holds_the_records_once,
    _body_names_no_fields,
    _keys_are_fields,
    _match_field_is_a_sent_required_field,
    _some_field_is_required,
    _path_parameters_are_fields,
    _bodyless_request_sends_one_record,
    _constraints_name_fields,
    _resolve_has_a_batch_key,
    _body_envelope_builds,
)
