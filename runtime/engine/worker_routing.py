"""`--workers N`'s parts around the pool: which syncs may use workers, each worker's share of the limits and
of the records routed (`worker_of`; a run whose workers take their own: `worker_selection`), the
parent's handle on one worker, and the two ends of the pipes (the child's entry, the parent's reader thread).
Imports the engine's results, recorder, policy, stopping, state and worker_process only."""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

import httpx

from destkit.runtime.engine.policy import RunPlan
from destkit.runtime.engine.recorder import Recorder
from destkit.runtime.engine.results import ProgressCallback
from destkit.runtime.engine.state import StateStore
from destkit.runtime.engine.stopping import StopRequest
from destkit.runtime.engine.worker_process import Snapshot, WorkerSpec, worker_main
from destkit.runtime.engine.worker_selection import Selection
from destkit.runtime.errors import UsageError
from destkit.runtime.outcomes import OutcomeCallback

if TYPE_CHECKING:
    from destkit.runtime.engine.sync import Sync

MAX_WORKERS = 64


def check_workers(sync: Sync, workers: int) -> None:
    """Refuse a worker count, or a sync, that `--workers` cannot run (N = 1 is always today's run)."""
    if not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"--workers must be between 1 and {MAX_WORKERS}, not {workers}.", "workers",
                         "pass a number of worker processes, e.g. the machine's cores.")
    if workers == 1:
        return
    if "fork" not in multiprocessing.get_all_start_methods():
        raise UsageError("--workers needs the fork start method, which this platform lacks.", "workers",
                         "run with --workers 1 (the default).")
    why = _one_process_only(sync)
    if why is not None:
        raise UsageError(f"--workers cannot be used here: {why}.", "workers", "run with --workers 1 (the default).")


def _one_process_only(sync: Sync) -> str | None:
    """Why this sync must run in one process, or None."""
    if sync.options.mirror:
        return "a mirror run removes the members it did not see, which needs the whole input in one process"
    if sync.action.response.job is not None:
        return f"the {sync.action_id} action answers with jobs, which are tracked by one process"
    if sync.envelope.session:
        return "the request body numbers the requests of one session, which one process hands out"
    return None


def worker_limits(concurrency: int, requests_per_second: float | None, workers: int, index: int) -> tuple[int, float | None]:
    """Worker `index`'s share of the limits: together the workers use exactly the configured ones."""
    slots = concurrency // workers + (1 if index < concurrency % workers else 0)
    return slots, None if requests_per_second is None else requests_per_second / workers


def worker_of(key: str | None, row: int, workers: int) -> int:
    """The worker a record goes to: by a stable hash of its key (same key, same worker), else by row."""
    if key is None:
        return row % workers
    return zlib.crc32(key.encode()) % workers




@dataclass(frozen=True)
class WorkerJob:
    """What `Sync` hands over to run with workers (everything else is the sync, inherited by fork)."""

    workers: int
    recorder: Recorder | None
    plan: RunPlan
    callbacks: list[OutcomeCallback]
    progress: ProgressCallback | None
    dry_run: bool
    keep_requests: bool
    stop: StopRequest | None
    state: StateStore | None
    incremental: bool
    new_client: Callable[[], httpx.AsyncClient]


class WorkerHandle:
    """The parent's side of one worker: its pipe, its credit, the rows it owes an outcome for."""

    def __init__(self, index: int, process: BaseProcess, conn: Connection) -> None:
        self.index = index
        self.process = process
        self.conn = conn
        self.chunk: list[Any] = []  # the chunk being filled: records, rows of the inherited list, or raw lines
        self.linenos: list[int] = []  # a chunk of raw lines: their line numbers
        self.local = 0  # the worker's rows handed out: its records are numbered 1, 2, 3... in the order sent
        self.inflight = 0
        self.credit = asyncio.Event()
        # local row → (input row, key), sent and not answered (kept when outcomes are shipped)
        self.outstanding: dict[int, tuple[int, str | None]] = {}
        self.sent = 0
        # a self-selected worker: it takes its own rows of the inherited list; the parent notes those answered
        self.selected = False
        self.answered: set[int] = set()
        self.snapshot: Snapshot | None = None
        self.ended = False
        self.gone = False
        self.failure: str | None = None

    @property
    def alive(self) -> bool:
        return not (self.ended or self.gone)

    def done_count(self) -> int:
        return 0 if self.snapshot is None else sum(self.snapshot.counts.values())



def child_main(sync: Sync, conn: Connection, spec: WorkerSpec, new_client: Callable[[], httpx.AsyncClient],
               inherited: list[Connection], shared: Sequence[Any] | None, selection: Selection | None) -> None:
    """In the forked child: drop the parent's pipe ends (so the parent's death reads as an end), then work."""
    for other in inherited:
        other.close()
    worker_main(sync, conn, spec, new_client, shared, selection)


def receive_outcomes(conns: list[Connection], loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue[tuple[int, Any]]) -> None:
    """A thread reading every worker's pipe at once (a worker never blocks on a busy parent loop)."""
    index_of = {id(c): i for i, c in enumerate(conns)}
    open_conns = list(conns)
    while open_conns:
        try:
            ready = wait(open_conns)
        except OSError:  # the pool closed the pipes: the run is over
            return
        for conn in ready:
            assert isinstance(conn, Connection)
            try:
                message: Any = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                message = None
                open_conns.remove(conn)
            try:
                loop.call_soon_threadsafe(inbox.put_nowait, (index_of[id(conn)], message))
            except RuntimeError:  # the run's loop has closed: nobody is listening any more
                return


__all__ = ["MAX_WORKERS", "WorkerHandle", "WorkerJob", "check_workers", "child_main", "receive_outcomes", "worker_limits",
           "worker_of"]
