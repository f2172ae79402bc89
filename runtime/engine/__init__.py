"""The run engine: `build_sync`, the per-run loop (`Sync`), the outcome recorder, the SQLite state
store, sources (CSV/JSONL), reports and the run policy (resume, retry). Imports spec, record,
config, delivery and ops; never cli."""

from destkit.runtime.engine.build import build_sync
from destkit.runtime.engine.sync import PreparedRequest, PreviewItem, ProgressCallback, RunResult, Sync

__all__ = ["PreparedRequest", "PreviewItem", "ProgressCallback", "RunResult", "Sync", "build_sync"]
