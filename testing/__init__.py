"""destkit's test kit for QA engineers and connector authors (`pip install 'destkit[testing]'`).

    from destkit.testing import valid_records, broken_records, identity_mapping   # hypothesis strategies
    from destkit.testing import valid_settings                                    # settings from `examples:`
    from destkit.testing import run_conformance                                   # the conformance suite
    from destkit.testing import Emulator                                          # an emulator to sync against

The pytest plugin (fixtures `emulator`, `emulator_server`; marker `destkit_conformance`) loads by
itself wherever destkit is installed. Names are imported on first use, so importing this package
(as the plugin does in every pytest run) does not import hypothesis.

Modules, lower ones never importing higher ones: expectations ← values ← breakage_builders ←
strategies, drawing; report ← suite_checks ← suite_shapes ← suite ← suite_dry, suite_emulator,
suite_failures, suite_mirror ← conformance;
emulators (no hypothesis) is used by suite; plugin imports only pytest at load time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from destkit.testing.breakage_builders import Breakage, BrokenRecord
    from destkit.testing.conformance import run_conformance
    from destkit.testing.emulators import Emulator, profile_for, sync_config
    from destkit.testing.report import ActionReport, Check, ConformanceReport
    from destkit.testing.strategies import (
        breakages,
        broken_records,
        field_values,
        identity_mapping,
        pattern_matches,
        valid_records,
        valid_settings,
    )

_EXPORTS = {
    "ActionReport": "report",
    "Check": "report",
    "ConformanceReport": "report",
    "run_conformance": "conformance",
    "Emulator": "emulators",
    "sync_config": "emulators",
    "profile_for": "emulators",
    "Breakage": "breakage_builders",
    "BrokenRecord": "breakage_builders",
    "breakages": "strategies",
    "broken_records": "strategies",
    "field_values": "strategies",
    "identity_mapping": "strategies",
    "pattern_matches": "strategies",
    "valid_records": "strategies",
    "valid_settings": "strategies",
}

__all__ = [
    "ActionReport",
    "Breakage",
    "BrokenRecord",
    "Check",
    "ConformanceReport",
    "Emulator",
    "breakages",
    "broken_records",
    "field_values",
    "identity_mapping",
    "pattern_matches",
    "profile_for",
    "run_conformance",
    "sync_config",
    "valid_records",
    "valid_settings",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'destkit.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"destkit.testing.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
