"""Every error of a spec in one `destkit spec check` run, not one per run.

The loader stops at its first stage that fails: schema errors hide the semantic checks, and a
semantic error hides the author's checks (`deep_check`). So once the loader has refused a spec,
a copy of its data is repaired where the reported problems allow it (an unknown key removed, a
misspelt enum value replaced by the one it most likely meant, an undeclared catalog stubbed) and
checked again, and the errors that copy still shows are added. Only errors are added: a warning
about a spec that does not load would be noise. Union members pydantic tried are folded into one
error with a did-you-mean for the value meant.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

import yaml
from pydantic import ValidationError

from destkit.runtime.authoring.findings import Finding
from destkit.runtime.config.yaml_errors import describe, error_line, excerpt
from destkit.runtime.errors import Issue
from destkit.runtime.spec.hooks import not_a_connector, outside_packages
from destkit.runtime.spec.loader import check_semantics
from destkit.runtime.spec.located_yaml import LocatedYaml
from destkit.runtime.spec.models import DestinationSpec

_UNKNOWN_KEY = "is not a key the spec language knows."
_CATALOG = re.compile(r"names catalog '([^']*)', which is not under catalogs")
_CHOICES = re.compile(r"^(?:Input should be )((?:'[^']*'(?:, | or )?)+)\.?$")
# a catalog that stands in for an undeclared one, so the rest of the spec can be checked
_STUB_CATALOG = {"request": {"method": "GET", "path": "/"}, "items": "@"}

DeepCheck = Callable[[DestinationSpec, LocatedYaml], list[Finding]]


def tidy_schema_findings(findings: list[Finding], text: str) -> list[Finding]:
    """One error per key for a value pydantic tried against each member of a union (`type.literal[...]`,
    `type.list[...]`), with a did-you-mean for a misspelt choice."""
    data = _data_of(text)
    tidy: list[Finding] = []
    seen: set[str] = set()
    for finding in findings:
        issue = finding.issue
        parts = issue.key.split(".")
        key = ".".join(p for p in parts if "[" not in p)
        if key != issue.key and key in seen:
            continue  # another member of the same union
        seen.add(key)
        fix = issue.fix or _choice_fix(issue.message, _value_at(data, key))
        tidy.append(Finding(finding.severity, Issue(key, issue.message, fix, issue.file, issue.line)))
    return tidy


def yaml_finding(text: str, file: str) -> Finding | None:
    """A YAML syntax error on the line of the mistake, shown with a caret (None if the text parses)."""
    try:
        LocatedYaml(text, file)
    except yaml.YAMLError as exc:
        return Finding("error", Issue("(yaml)", f"not valid YAML: {describe(exc)}.",
                                      "fix the YAML syntax on this line:" + excerpt(text, exc), file, error_line(exc)))
    return None


def findings_past_errors(text: str, file: str, issues: list[Issue], reported: list[Finding],
                         deep_check: DeepCheck) -> list[Finding]:
    """The errors a copy of the spec, repaired where the loader's `issues` allow, still shows (none of them
    already `reported`)."""
    try:
        doc = LocatedYaml(text, file)
    except yaml.YAMLError:
        return []
    if not isinstance(doc.data, dict):
        return []
    stubs = _repair(doc.data, issues)
    try:
        spec = DestinationSpec.model_validate(doc.data)
    except ValidationError:
        return []  # still refused by the schema: its errors are the ones reported
    found = [Finding("error", i) for i in check_semantics(spec, doc)]
    # the author's checks import hooks and emulators: never for code outside the packages the spec may run
    # (the loader refused that before importing anything, and so must this)
    if code_is_allowed(spec):
        # deep_check reports its own crash as a "(check)" finding: on a spec known to be broken that is noise
        found += [f for f in deep_check(spec, doc) if f.severity == "error" and f.issue.key != "(check)"]
    known = {(f.issue.key, f.issue.message) for f in reported}
    new: list[Finding] = []
    for finding in found:
        mark = (finding.issue.key, finding.issue.message)
        if mark not in known and not any(finding.issue.key.startswith(f"catalogs.{s}") for s in stubs):
            known.add(mark)
            new.append(finding)
    return new


def code_is_allowed(spec: DestinationSpec) -> bool:
    """True if every hook and emulator lies in a package the spec may run code from (as the loader checks)."""
    declared = spec.python_packages()[1:]
    return not outside_packages(spec) and all(not_a_connector(p) is None for p in declared)


def _repair(data: dict[str, Any], issues: list[Issue]) -> list[str]:
    """Takes out of `data` what each issue names, where that is safe; the names of the catalogs stubbed."""
    stubs: list[str] = []
    for issue in issues:
        path = _path(issue.key)
        if issue.message.endswith(_UNKNOWN_KEY):
            _delete(data, path)
        elif (m := _CATALOG.search(issue.message)) is not None:
            catalogs = data.setdefault("catalogs", {})
            if isinstance(catalogs, dict) and m.group(1) not in catalogs:
                catalogs[m.group(1)] = dict(_STUB_CATALOG)
                stubs.append(m.group(1))
        elif (choice := _closest_choice(issue.message, _value_at(data, issue.key))) is not None:
            _set(data, path, choice)
    return stubs


def _choice_fix(message: str, value: Any) -> str:
    choice = _closest_choice(message, value)
    return f"did you mean '{choice}'?" if choice is not None else ""


def _closest_choice(message: str, value: Any) -> str | None:
    """The allowed value closest to `value`, for a message listing the choices ("Input should be 'a' or 'b'")."""
    m = _CHOICES.match(message)
    if m is None or not isinstance(value, str):
        return None
    close = difflib.get_close_matches(value, re.findall(r"'([^']*)'", m.group(1)), n=1, cutoff=0.6)
    return close[0] if close else None


def _data_of(text: str) -> Any:
    try:
        return LocatedYaml(text).data
    except yaml.YAMLError:
        return None


def _path(key: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in key.split(".") if "[" not in p]


def _value_at(data: Any, key: str) -> Any:
    for part in _path(key):
        if isinstance(data, dict):
            data = data.get(part if isinstance(part, str) else str(part), data.get(part))
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _parent(data: Any, path: list[str | int]) -> Any:
    return _value_at(data, ".".join(map(str, path[:-1]))) if len(path) > 1 else data


def _delete(data: dict[str, Any], path: list[str | int]) -> None:
    parent = _parent(data, path)
    if path and isinstance(parent, dict):
        parent.pop(path[-1] if isinstance(path[-1], str) else str(path[-1]), None)


def _set(data: dict[str, Any], path: list[str | int], value: Any) -> None:
    parent = _parent(data, path)
    if path and isinstance(parent, dict):
        parent[path[-1] if isinstance(path[-1], str) else str(path[-1])] = value
    elif path and isinstance(parent, list) and isinstance(path[-1], int) and 0 <= path[-1] < len(parent):
        parent[path[-1]] = value


__all__ = ["code_is_allowed", "findings_past_errors", "tidy_schema_findings", "yaml_finding"]
