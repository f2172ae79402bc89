"""The destination spec language: models, YAML loading with line numbers, vocabulary, body templates, hooks.
May import only destkit.mapping, runtime/errors.py, runtime/outcomes.py and itself; every other runtime package builds on it."""

from destkit.runtime.spec.loader import bundled_spec_names, check_semantics, load_spec, locate, parse_spec
from destkit.runtime.spec.models import ActionSpec, DestinationSpec

__all__ = ["ActionSpec", "DestinationSpec", "bundled_spec_names", "check_semantics", "load_spec", "locate", "parse_spec"]
