"""The run engine: `build_sync`, `Sync` and its per-run pipeline, the outcome recorder, the SQLite state
store and run lock, sources (CSV/JSONL), reports, stopping and the run policy (resume, retry).
Imports spec, record, config, delivery and ops; never cli."""

from destkit.runtime.engine.build import build_sync
from destkit.runtime.engine.locking import LockHolder, RunLock, RunLocked
from destkit.runtime.engine.policy import InputChanged, RunMode, RunPlan, plan_run
from destkit.runtime.engine.results import RunFailed
from destkit.runtime.engine.state import NotAStateStore, RunInfo, StateStore, StateStoreError, input_ref
from destkit.runtime.engine.stopping import StopRequest
from destkit.runtime.engine.sync import PreparedRequest, PreviewItem, ProgressCallback, RunResult, Sync

__all__ = [
    "InputChanged",
    "LockHolder",
    "NotAStateStore",
    "PreparedRequest",
    "PreviewItem",
    "ProgressCallback",
    "RunFailed",
    "RunInfo",
    "RunLock",
    "RunLocked",
    "RunMode",
    "RunPlan",
    "RunResult",
    "StateStore",
    "StateStoreError",
    "StopRequest",
    "Sync",
    "build_sync",
    "input_ref",
    "plan_run",
]
