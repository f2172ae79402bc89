"""Hypothesis strategies derived from an action's field schema.

`valid_records` draws records the runtime must accept; `broken_records` draws records that are
valid except for exactly one named breakage, together with the reason code and field the runtime
must report for it. Records are keyed by the action's field names, so they go through
`identity_mapping(spec, action_id)` (every field mapped from the same-named source field).

The expectations follow destkit's checks (`destkit.runtime.record.checks`) where those are the contract
(reason codes, check order, what counts as empty) and JSON Schema where the runtime must agree
with it: a `pattern` is matched the ECMA-262 way, so ``$`` does not match before a final newline.
A breakage is only offered when the schema makes it possible (no `too_long` without `maxLength`).

    from hypothesis import given
    from destkit.testing import broken_records, identity_mapping, valid_records

    @given(valid_records("hello_charles", "send_contacts", catalogs={"tags": ["vip"]}))
    def test_accepted(record): ...

This module is the public face; the pieces live in `expectations` (what the checks say about a
value), `values` (valid values and records) and `breakage_builders` (one builder per way to break a field).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from destkit.runtime.spec.loader import load_spec
from destkit.runtime.spec.models import ActionSpec, DestinationSpec, FieldSchema
from destkit.testing.breakage_builders import Breakage, BrokenRecord, breakages_of
from destkit.testing.expectations import pattern_matches
from destkit.testing.values import Catalogs, valid_record_strategy, values_of

__all__ = [
    "Breakage",
    "BrokenRecord",
    "CatalogsArg",
    "breakages",
    "broken_records",
    "field_values",
    "identity_mapping",
    "normalize_catalogs",
    "pattern_matches",
    "resolve_spec",
    "valid_records",
    "valid_settings",
]

CatalogsArg = Mapping[str, Sequence[str] | Mapping[str, str]] | None
"""Catalog values by catalog name, as in a sync config: a list, or a mapping value → display label."""


def resolve_spec(spec: str | Path | DestinationSpec) -> DestinationSpec:
    """A DestinationSpec from itself, a bundled id or a spec file path (the author's own: trusted)."""
    return spec if isinstance(spec, DestinationSpec) else load_spec(spec, trust_spec=True)


def _action(spec: str | Path | DestinationSpec, action_id: str) -> tuple[DestinationSpec, ActionSpec]:
    loaded = resolve_spec(spec)
    if action_id not in loaded.actions:
        raise KeyError(
            f"'{action_id}' is not an action of {loaded.name}; use one of {', '.join(loaded.actions)}"
        )
    return loaded, loaded.actions[action_id]


def normalize_catalogs(catalogs: CatalogsArg) -> Catalogs:
    """Catalogs as {name: {value: display label or None}}."""
    out: Catalogs = {}
    for name, given in (catalogs or {}).items():
        if isinstance(given, Mapping):
            out[name] = {str(v): (None if label is None else str(label)) for v, label in given.items()}
        else:
            out[name] = {str(v): None for v in given}
    return out


def identity_mapping(spec: str | Path | DestinationSpec, action_id: str) -> dict[str, str]:
    """Each field of the action mapped from the source field of the same name."""
    _, action = _action(spec, action_id)
    return {name: name for name in action.fields}


def field_values(
    f: FieldSchema, catalogs: CatalogsArg = None, *, required: bool | None = None
) -> SearchStrategy[Any]:
    """Values of one field that the runtime accepts and sends (never empty when required)."""
    req = f.required if required is None else required
    return values_of(f, normalize_catalogs(catalogs), required=req, allow_none=False)


def valid_records(
    spec: str | Path | DestinationSpec, action_id: str, catalogs: CatalogsArg = None
) -> SearchStrategy[dict[str, Any]]:
    """Records (keyed by field name) that the action's checks accept: every one is sent.

    Required fields are always present and non-empty; optional ones may be absent or None.
    Catalog fields take values from `catalogs`; without a catalog an optional catalog field is
    left out (a required one raises ValueError).
    """
    _, action = _action(spec, action_id)
    return valid_record_strategy(action, normalize_catalogs(catalogs))


def breakages(
    spec: str | Path | DestinationSpec, action_id: str, catalogs: CatalogsArg = None
) -> list[Breakage]:
    """Every breakage the action's schema makes possible, one per (kind, field)."""
    loaded, action = _action(spec, action_id)
    return breakages_of(loaded, action, normalize_catalogs(catalogs))


def broken_records(
    spec: str | Path | DestinationSpec, action_id: str, catalogs: CatalogsArg = None
) -> SearchStrategy[BrokenRecord]:
    """`(record, expected_reason, field)`: a valid record but for one breakage of one field."""
    loaded, action = _action(spec, action_id)
    cats = normalize_catalogs(catalogs)
    found = breakages_of(loaded, action, cats)
    if not found:
        return st.nothing()
    base = valid_record_strategy(action, cats)
    return st.sampled_from(found).flatmap(lambda b: b.records(base))


def valid_settings(spec: str | Path | DestinationSpec) -> SearchStrategy[dict[str, Any]]:
    """Settings drawn from the spec's `examples:` (one of each setting's examples; derived settings,
    which the user never sets, left out). Every required setting without examples raises ValueError."""
    loaded = resolve_spec(spec)
    drawn: dict[str, SearchStrategy[Any]] = {}
    for name, s in loaded.settings.items():
        if s.derive is not None:
            continue
        if s.examples:
            drawn[name] = st.sampled_from(list(s.examples))
        elif s.is_required:
            raise ValueError(f"setting {name} is required and has no examples: in the spec")
    return st.fixed_dictionaries(drawn)
