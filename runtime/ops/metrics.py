"""Counters for embedders and operators, derived from the run summary so they reconcile exactly.

`prometheus_text(summary)` renders the Prometheus text exposition format; `MetricsServer` serves
the latest figures on a port (`destkit sync --metrics-port`). Embedders get the same numbers live
through the `progress` callback of `Sync.arun`, which receives the `RunSummary`.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from destkit.runtime.outcomes import RunSummary, Status


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return "{" + inner + "}" if inner else ""


def prometheus_text(summary: RunSummary) -> str:
    base = {"destination": summary.destination, "action": summary.action}
    lines = [
        "# HELP destkit_records_received_total Records read from the input.",
        "# TYPE destkit_records_received_total counter",
        f"destkit_records_received_total{_labels(**base)} {summary.received}",
        "# HELP destkit_records_total Records by terminal outcome.",
        "# TYPE destkit_records_total counter",
    ]
    lines += [f"destkit_records_total{_labels(**base, outcome=s.value)} {summary.count(s)}" for s in Status]
    lines += ["# HELP destkit_reasons_total Non-delivered records by reason code.", "# TYPE destkit_reasons_total counter"]
    lines += [f"destkit_reasons_total{_labels(**base, reason=r)} {n}" for r, n in sorted(summary.reasons.items())]
    lines += ["# HELP destkit_warnings_total Warnings on delivered records by reason code.", "# TYPE destkit_warnings_total counter"]
    lines += [f"destkit_warnings_total{_labels(**base, reason=r)} {n}" for r, n in sorted(summary.warnings.items())]
    for name, value, help_text in (
        ("batches", summary.batches, "Batches completed."),
        ("requests", summary.requests, "HTTP requests sent, retries included."),
        ("retries", summary.retries, "Requests that were retries."),
        ("bytes_sent", summary.bytes_sent, "Request body bytes sent."),
    ):
        lines += [f"# HELP destkit_{name}_total {help_text}", f"# TYPE destkit_{name}_total counter",
                  f"destkit_{name}_total{_labels(**base)} {value}"]
    return "\n".join(lines) + "\n"


class MetricsServer:
    """Serves `/metrics` for the summary it is given; update with `publish`."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self._text = ""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/") not in ("/metrics", ""):
                    self.send_error(404)
                    return
                body = outer._text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def publish(self, summary: RunSummary) -> None:
        self._text = prometheus_text(summary)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
