"""Operations: structured JSON log lines (`logs.py`) and Prometheus metrics computed from the run summary
(`metrics.py`, on prometheus_client). Imports only the base modules (`errors`, `outcomes`); the engine and the CLI use it.

The names below are imported when first used, so a run that imports `ops.timeline` (every run) does not load
prometheus_client (~10 MiB resident) unless it serves or pushes metrics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from destkit.runtime.ops.logs import JsonFormatter, configure
    from destkit.runtime.ops.metrics import MetricsOptions, MetricsServer, RunMetrics, prometheus_text

_MODULE_OF = {"JsonFormatter": "logs", "configure": "logs", "MetricsOptions": "metrics", "MetricsServer": "metrics",
              "RunMetrics": "metrics", "prometheus_text": "metrics"}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = ["JsonFormatter", "MetricsOptions", "MetricsServer", "RunMetrics", "configure", "prometheus_text"]
