"""Prometheus metrics of a run, computed from its `RunSummary` so they reconcile exactly with the report.

`SummaryCollector` is a prometheus_client custom collector over the latest summary it was given;
`prometheus_text(summary)` renders one summary in the text exposition format; `MetricsServer` serves
the collector (`destkit sync --metrics-port/--metrics-host`) and `push_summary` sends the figures to a
Pushgateway (`--metrics-pushgateway`); `RunMetrics` is the CLI's life cycle of both. Embedders get the
same numbers live through the `progress` callback of `Sync.arun`, which receives the `RunSummary`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, Metric

from destkit.runtime.outcomes import REASONS, RunSummary, Status

LABELS = ("run_id", "destination", "action")
"""Every series carries the run it counts, so a scrape never mixes two runs' figures."""

JOB = "destkit"
"""The Pushgateway job; the group is the destination and action, so a run replaces the last one's figures."""

_PER_RUN = (
    ("destkit_batches", "Batches completed.", "batches"),
    ("destkit_requests", "HTTP requests sent, retries included.", "requests"),
    ("destkit_retries", "Requests that were retries.", "retries"),
    ("destkit_sent_bytes", "Request body bytes sent.", "bytes_sent"),
)


def _counter(name: str, help_text: str, extra: Sequence[str] = ()) -> CounterMetricFamily:
    return CounterMetricFamily(name, help_text, labels=[*LABELS, *extra])


def _by_reason(name: str, help_text: str, base: list[str], counts: dict[str, int]) -> CounterMetricFamily:
    """Every reason of the closed set, zero when none was counted yet, so `increase()` sees the first one."""
    family = _counter(name, help_text, ["reason"])
    for reason in sorted(REASONS | set(counts)):
        family.add_metric([*base, reason], counts.get(reason, 0))
    return family


def summary_metrics(summary: RunSummary) -> list[Metric]:
    """The counters of one summary; the `_total` suffix is added by the exposition, after the unit."""
    base = [summary.run_id, summary.destination, summary.action]
    received = _counter("destkit_records_received", "Records read from the input.")
    received.add_metric(base, summary.received)
    by_outcome = _counter("destkit_records", "Records by terminal outcome; they add up to the records received.",
                          ["outcome"])
    for status in Status:
        by_outcome.add_metric([*base, status.value], summary.count(status))
    families: list[Metric] = [
        received,
        by_outcome,
        _by_reason("destkit_records_not_delivered", "Records not delivered, by reason code.", base,
                   dict(summary.reasons)),
        _by_reason("destkit_warnings", "Warnings on delivered records, by reason code.", base, dict(summary.warnings)),
    ]
    for name, help_text, attribute in _PER_RUN:
        family = _counter(name, help_text)
        family.add_metric(base, getattr(summary, attribute))
        families.append(family)
    if summary.mirror:
        families.append(_removals(summary, base))
    return families


def _removals(summary: RunSummary, base: list[str]) -> CounterMetricFamily:
    """A mirror run's removals by outcome (delivered: removed); not input records, so apart from destkit_records."""
    family = _counter("destkit_removals", "Members removed from the audience (mirror), by outcome.", ["outcome"])
    for status in (Status.DELIVERED, Status.REJECTED, Status.DEAD_LETTERED):
        family.add_metric([*base, status.value], summary.removals.get(status.value, 0))
    return family


class SummaryCollector:
    """A custom collector: the figures of the last summary published, computed when it is published.

    The engine mutates its summary while it runs; computing the families in `publish` (on the engine's
    thread) and swapping one reference keeps a scrape on the server's thread from reading it half-way.
    """

    def __init__(self, summary: RunSummary) -> None:
        self._families = summary_metrics(summary)

    def publish(self, summary: RunSummary) -> None:
        self._families = summary_metrics(summary)

    def collect(self) -> Iterable[Metric]:
        return list(self._families)


def registry_of(collector: SummaryCollector) -> CollectorRegistry:
    """A registry of the run's figures alone (not the process-wide default one, with its process metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def prometheus_text(summary: RunSummary) -> str:
    """The summary in the Prometheus text exposition format (what a scrape of `MetricsServer` returns)."""
    return generate_latest(registry_of(SummaryCollector(summary))).decode()


def push_summary(gateway: str, summary: RunSummary, timeout: float = 10) -> None:
    """PUT the summary's figures to a Pushgateway, replacing the group of this destination and action."""
    push_to_gateway(gateway, job=JOB, registry=registry_of(SummaryCollector(summary)),
                    grouping_key={"destination": summary.destination, "action": summary.action}, timeout=timeout)


class MetricsServer:
    """Serves the figures of the summary it is given on host:port; update with `publish`.

    It is created with a summary (by default an empty one), so the first scrape already has every
    counter, at zero, under the run's labels.
    """

    def __init__(self, port: int, host: str = "127.0.0.1", summary: RunSummary | None = None) -> None:
        self.collector = SummaryCollector(summary if summary is not None else RunSummary())
        self.server, self._thread = start_http_server(port, addr=host, registry=registry_of(self.collector))
        self.host = host
        self.port = self.server.server_port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def publish(self, summary: RunSummary) -> None:
        self.collector.publish(summary)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


@dataclass(frozen=True)
class MetricsOptions:
    """Where a CLI run's metrics go: served on host:port, kept `linger_s` after the run, pushed to a gateway."""

    port: int | None = None
    host: str = "127.0.0.1"
    linger_s: float = 0
    pushgateway: str | None = None


class RunMetrics:
    """One CLI run's metrics: served from the start, published on progress, pushed and kept after the end."""

    def __init__(self, options: MetricsOptions, first: RunSummary) -> None:
        self.options = options
        self.server = MetricsServer(options.port, options.host, first) if options.port is not None else None

    def publish(self, summary: RunSummary) -> None:
        if self.server is not None:
            self.server.publish(summary)

    def finish(self, summary: RunSummary) -> str | None:
        """Publish the final figures, push them, and keep serving them `linger_s`; a failed push's problem."""
        self.publish(summary)
        problem = None
        if self.options.pushgateway is not None:
            try:
                push_summary(self.options.pushgateway, summary)
            except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
                problem = f"could not push the metrics to {self.options.pushgateway}: {getattr(exc, 'reason', exc)}."
        if self.server is not None:
            # a non-daemon thread: the process stays (serving) until it closes the server, after the command returns
            threading.Thread(target=self._close_after, args=(self.options.linger_s,), name="metrics-linger").start()
        return problem

    def _close_after(self, seconds: float) -> None:
        time.sleep(seconds)
        if self.server is not None:
            self.server.close()


__all__ = ["LABELS", "MetricsOptions", "MetricsServer", "RunMetrics", "SummaryCollector", "prometheus_text",
           "push_summary", "summary_metrics"]
