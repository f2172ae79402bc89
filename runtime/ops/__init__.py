"""Operations: structured JSON log lines (`logs.py`) and Prometheus metrics computed from the run summary
(`metrics.py`, on prometheus_client). Imports only the base modules (`errors`, `outcomes`); the engine and the CLI use it."""

from destkit.runtime.ops.logs import JsonFormatter, configure
from destkit.runtime.ops.metrics import MetricsOptions, MetricsServer, RunMetrics, prometheus_text

__all__ = ["JsonFormatter", "MetricsOptions", "MetricsServer", "RunMetrics", "configure", "prometheus_text"]
