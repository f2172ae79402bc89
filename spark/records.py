"""Arrow batches as the records a Sync reads.

Uses `records_from_batch` of `destkit.runtime.engine.arrow_records` (Arrow values converted to
what the checks expect) when that module is there; until then a plain `to_pylist` stand-in.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pyarrow as pa

Convert = Callable[[pa.RecordBatch], list[dict[str, Any]]]


def _converter() -> Convert:
    try:
        module = importlib.import_module("destkit.runtime.engine.arrow_records")
    except ImportError:  # stand-in until the Arrow records module lands: plain Python values
        return lambda batch: batch.to_pylist()
    convert: Convert = module.records_from_batch
    return convert


records_of: Convert = _converter()

__all__ = ["records_of"]
