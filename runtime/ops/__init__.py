"""Operations: structured JSON log lines (`logs.py`) and Prometheus counters derived from the run summary
(`metrics.py`). Imports only the base modules (`errors`, `outcomes`); the engine and the CLI use it."""

from destkit.runtime.ops.logs import JsonFormatter, configure
from destkit.runtime.ops.metrics import MetricsServer, prometheus_text

__all__ = ["JsonFormatter", "MetricsServer", "configure", "prometheus_text"]
