"""The run engine: `build_sync`, `Sync` and its per-run pipeline, the outcome recorder, the SQLite state
store, sources (CSV/JSONL), reports and the run policy (resume, retry). Imports spec, record,
config, delivery and ops; never cli."""

from destkit.runtime.engine.build import build_sync
from destkit.runtime.engine.policy import InputChanged, RunMode, RunPlan, plan_run
from destkit.runtime.engine.state import RunInfo, StateStore, input_ref
from destkit.runtime.engine.sync import PreparedRequest, PreviewItem, ProgressCallback, RunResult, Sync

__all__ = [
    "InputChanged",
    "PreparedRequest",
    "PreviewItem",
    "ProgressCallback",
    "RunInfo",
    "RunMode",
    "RunPlan",
    "RunResult",
    "StateStore",
    "Sync",
    "build_sync",
    "input_ref",
    "plan_run",
]
