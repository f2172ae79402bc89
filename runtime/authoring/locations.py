"""Better places and hints for the loader's schema errors: the key meant by an unknown key, and the
field's key (not the spec's root) for an undeclared catalog."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeGuard

import yaml
from pydantic import BaseModel

from destkit.runtime.errors import Issue
from destkit.runtime.spec.located_yaml import LocatedYaml
from destkit.runtime.spec.models import DestinationSpec
from destkit.runtime.spec.vocabulary import AUTH_KINDS

_UNKNOWN_KEY = "is not a key the spec language knows."

_CATALOG_ROOT = re.compile(
    r"^(?:Value error, )?actions\.([^.\s]+)\.fields\.([^.\s]+) names catalog '([^']*)', "
    r"which is not under catalogs\.?$"
)


# --- the keys the spec language allows where -----------------------------------------------------


def known_keys(path: Sequence[str]) -> list[str]:
    """The keys the spec language allows in the mapping at `path` (e.g. actions.x.batch), for suggestions."""
    current: list[Any] = [DestinationSpec]
    for part in path:
        current = [child for tp in current for child in _child_types(tp, part)]
    return _field_keys(current)


def _field_keys(models: list[Any]) -> list[str]:
    """The keys (aliases where given) of the models among `models`, each once."""
    keys: list[str] = []
    for tp in models:
        if _is_model(tp):
            keys += [
                info.alias or name
                for name, info in tp.model_fields.items()
                if (info.alias or name) not in keys
            ]
    return keys


def _is_model(tp: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _child_types(tp: Any, part: str) -> list[Any]:
    """The types a value at key (or index) `part` of a `tp` can have."""
    if _is_model(tp):
        return [
            child
            for name, info in tp.model_fields.items()
            if part in (name, info.alias)
            for child in _expand(info.annotation)
        ]
    origin = typing.get_origin(tp)
    if origin is dict:
        return _expand(typing.get_args(tp)[1])
    if origin is list and part.isdigit():
        return _expand(typing.get_args(tp)[0])
    return []


def _expand(tp: Any) -> list[Any]:
    """The concrete types behind an annotation (unions, Optional and Annotated unwrapped)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _expand(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(tp) for t in _expand(arg)]
    return [tp]


# --- the loader's issues, relocated --------------------------------------------------------------


def relocate(issue: Issue, text: str, file: str) -> Issue:
    """Improve two of the loader's messages: suggest the key meant by an unknown key, and point the
    model-level catalog check (reported at the root, line 1) at the field's key."""
    if issue.message.endswith(_UNKNOWN_KEY):
        return _suggest_known_key(issue)
    m = _CATALOG_ROOT.match(issue.message) if issue.key == "(root)" else None
    if m is None:
        return issue
    action, name, catalog = m.groups()
    return _locate_undeclared_catalog(issue, text, file, action, name, catalog)


def _suggest_known_key(issue: Issue) -> Issue:
    parts = issue.key.split(".")
    # the loader leaves some union tags in the location (auth.jwt.ttl): drop them
    cleaned = [p for i, p in enumerate(parts) if not (i and parts[i - 1] == "auth" and p in AUTH_KINDS)]
    *parent, wrong = cleaned
    close = _closest_key(wrong, known_keys(parent))
    fix = f"did you mean '{close}'?" if close else issue.fix
    return Issue(".".join(cleaned), issue.message, fix, issue.file, issue.line)


def _closest_key(wrong: str, keys: list[str]) -> str | None:
    """The known key a misspelt one most likely meant: a close spelling, else a prefix either way."""
    close = (
        difflib.get_close_matches(wrong, keys, n=1, cutoff=0.6)
        or [k for k in keys if len(wrong) >= 3 and (k.startswith(wrong) or wrong.startswith(k))][:1]
    )
    return close[0] if close else None


def _locate_undeclared_catalog(issue: Issue, text: str, file: str, action: str, name: str, catalog: str) -> Issue:
    try:
        doc = LocatedYaml(text, file)
        f = doc.data["actions"][action]["fields"][name]
    except (yaml.YAMLError, KeyError, TypeError):
        return issue
    loc: list[str | int] = ["actions", action, "fields", name, *_catalog_key(f, catalog)]
    declared = list((doc.data.get("catalogs") or {}) if isinstance(doc.data, dict) else [])
    return Issue(
        ".".join(map(str, loc)),
        f"the catalog '{catalog}' is not declared under catalogs.",
        f"declare it under `catalogs:` (request and items), or use one of: {', '.join(declared) or '(none)'}.",
        file,
        doc.line_of(loc),
    )


def _catalog_key(field_doc: Any, catalog: str) -> list[str | int]:
    """Where under a field's mapping the catalog is named (none found: the field itself)."""
    if not isinstance(field_doc, dict):
        return []
    if field_doc.get("catalog") == catalog:
        return ["catalog"]
    if field_doc.get("keys_catalog") == catalog:
        return ["keys_catalog"]
    items = field_doc.get("items")
    if isinstance(items, dict) and items.get("catalog") == catalog:
        return ["items", "catalog"]
    return []


__all__ = ["known_keys", "relocate"]
