"""One worker process of a `--workers N` run: its own event loop and pipeline over the records routed to it.

The parent (`destkit.runtime.engine.workers`) forks the process with the built, prepared `Sync`
(secrets are inherited, never pickled), sends it chunks of records (or of the parent's rows of an
inherited list, or of raw JSON lines) and reads back what it ships: the outcomes, the fingerprints of
delivered records, a snapshot of its counts and, at the end, why it stopped. The worker numbers its
records 1, 2, 3... in the order it takes them (its local rows: the pipeline and its fused loop run as
in one process); the parent, which knows what it sent in which order, puts its own rows back. The
worker keeps no state of its own: it opens the state store only to look things up; the parent records.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import operator
import os
import pickle
import signal
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from destkit.runtime.delivery.batching import Batch
from destkit.runtime.delivery.delivered import DeliveredRows
from destkit.runtime.engine.items import Malformed, not_a_record
from destkit.runtime.engine.pipeline import Pipeline
from destkit.runtime.engine.policy import RunPlan
from destkit.runtime.engine.recorder import Recorder
from destkit.runtime.engine.results import PreparedRequest, RunResult
from destkit.runtime.engine.state import StateStore
from destkit.runtime.engine.stopping import StopRequest
from destkit.runtime.engine.worker_lines import parse_lines
from destkit.runtime.engine.worker_selection import Selection
from destkit.runtime.outcomes import Outcome, OutcomeCallback, RunSummary, Status

if TYPE_CHECKING:
    from destkit.runtime.engine.sync import Sync

# parent → worker, one of: (ROWS, the parent's rows of the inherited list), (ITEMS, records),
# (LINES, line numbers, raw JSON lines or items the parent parsed)
Chunk = tuple[Any, ...]
ROWS, ITEMS, LINES = 0, 1, 2
PARENT_GONE_EXIT = 3  # the parent died (its end of the pipe closed before it said the input ended)
CHUNK_ROWS = 1000  # a self-selected worker's records per chunk through the fused loop, as the parent's chunks
SHIP_EVERY = 2000  # outcomes buffered in the worker before they are shipped, between chunks too
ACK_EVERY = 2  # routed chunks taken before their credit goes back, unless the worker is about to wait (of 4 in flight)
COUNTS_EVERY_S = 0.2  # a self-selected worker with no outcome to ship sends its counts this often


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker is told at fork time: its share of the limits and how the run goes."""

    index: int
    run_id: str
    concurrency: int
    requests_per_second: float | None
    dry_run: bool
    keep_requests: bool
    ship_outcomes: bool  # the parent records or calls back every outcome (else counts are enough)
    state_path: Path | None  # the store to look destination ids and fingerprints up in (read only)
    incremental: bool
    grace_s: float
    max_line_bytes: int = 0  # a JSON Lines input's line limit (chunks of raw lines)


@dataclass
class Snapshot:
    """A worker's counts so far (its summary without the rows the parent counts itself)."""

    counts: dict[str, int]
    reasons: dict[str, int]
    warnings: dict[str, int]
    batches: int
    requests: int
    retries: int
    bytes_sent: int

    @classmethod
    def of(cls, s: RunSummary) -> Snapshot:
        return cls(dict(s.counts), dict(s.reasons), dict(s.warnings), s.batches, s.requests, s.retries, s.bytes_sent)


OUTCOME_FIELDS = tuple(f.name for f in fields(Outcome))
_outcome_values = operator.attrgetter(*OUTCOME_FIELDS)


def pack_outcomes(outcomes: list[Outcome]) -> list[tuple[Any, ...]]:
    """Outcomes as plain tuples: pickled several times faster than the dataclass, and half the bytes."""
    return [_outcome_values(o) for o in outcomes]


def unpack_outcomes(packed: list[tuple[Any, ...]]) -> list[Outcome]:
    return [Outcome(**dict(zip(OUTCOME_FIELDS, values, strict=True))) for values in packed]


@dataclass
class Shipment:
    """Worker → parent: outcomes since the last shipment (packed), chunks taken since, counts so far."""

    outcomes: list[tuple[Any, ...]]
    fingerprints: list[tuple[str, str, bytes]]
    acks: int
    snapshot: Snapshot
    requests: list[PreparedRequest]


@dataclass
class Ended:
    """Worker → parent, last: the worker's pipeline ended (aborted or stopped says why, if early)."""

    snapshot: Snapshot
    aborted: str | None
    stopped: str | None
    latencies: list[float]


@dataclass
class Failed:
    """Worker → parent: the worker's run raised (a bug, a store it cannot read); its records are dead letters."""

    message: str


class Shipper(Recorder):
    """The worker's recorder: instead of writing the store, ships outcomes to the parent, which records them."""

    def __init__(self, conn: Connection, summary: RunSummary, result: RunResult, own_rows: Sequence[int] | None = None) -> None:
        # no Recorder.__init__: nothing here touches a store; only what a pipeline uses is set
        self.conn = conn
        self.own_rows = own_rows  # a self-selected run: local row r is input row own_rows[r - 1]
        self.summary = summary
        self.result = result
        self.buffer: list[Outcome] = []
        self.fingerprints: list[tuple[str, str, bytes]] = []
        self.jobs_done: list[str] = []
        self.mirror = None
        self.acks = 0

    def skip(self, row: int) -> bool:
        return False  # the parent skips a resumed run's finished rows before routing

    def add(self, outcome: Outcome) -> None:
        self.buffer.append(outcome)
        if len(self.buffer) >= SHIP_EVERY:
            self.flush()

    def add_delivered(self, columns: DeliveredRows, primary_keys: dict[int, str]) -> int:
        """Delivered records as columns: made outcomes here, since the parent records what is shipped as outcomes."""
        pop = primary_keys.pop if primary_keys else None
        for row, key, destination_id, attempts in zip(columns.rows, columns.keys, columns.ids, columns.attempts,
                                                      strict=True):
            self.add(Outcome(row=row, status=Status.DELIVERED, key=key, destination_id=destination_id, attempts=attempts,
                             primary_key=None if pop is None else pop(row, None)))
        return len(columns.rows)

    def flush(self) -> None:
        """A pipeline flushes after each delivered batch: its outcomes go to the parent to be recorded now."""
        if self.buffer:
            self.ship()

    def ship(self) -> None:
        """Send what is buffered, with the chunks taken since the last shipment (the parent's credits)."""
        requests = self.result.requests
        self.result.requests = []
        if self.own_rows is not None:  # the outcomes leave named by their input rows
            own_rows = self.own_rows
            for o in self.buffer:
                o.row = own_rows[o.row - 1]
        send(self.conn, Shipment(pack_outcomes(self.buffer), self.fingerprints, self.acks, Snapshot.of(self.summary), requests))
        self.buffer, self.fingerprints, self.acks = [], [], 0

    def finish(self, *, stopped: bool = False) -> None:
        self.ship()  # the parent closes the run in the store


def send(conn: Connection, message: Any) -> None:
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def worker_main(sync: Sync, conn: Connection, spec: WorkerSpec, new_client: Callable[[], httpx.AsyncClient],
                shared: Sequence[Any] | None = None, selection: Selection | None = None) -> None:
    """The forked process's body: a fresh event loop running this worker's pipeline; exits when it ends.

    `shared` is the parent's in-memory input, inherited by the fork: chunks then carry rows only. With a
    `selection` of it, the worker takes its own records itself (`worker_selection`): no chunk comes."""
    parent_pid = os.getppid()
    gc.freeze()  # what the fork inherited is never collected here: the collector neither scans nor copies it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)  # the parent loop's wake-up pipe is not ours
    asyncio.events._set_running_loop(None)  # forked from inside the parent's running loop
    try:
        own_rows = None if selection is None else _take_own_rows(selection, spec.index, parent_pid)
        asyncio.run(_run_worker(sync, conn, spec, new_client, shared, own_rows))
    except BaseException as exc:  # anything at all: the parent must hear why
        with contextlib.suppress(Exception):
            send(conn, Failed(f"{type(exc).__name__}: {exc}"))
        os._exit(1)
    os._exit(0)


def _take_own_rows(selection: Selection, index: int, parent_pid: int) -> Sequence[int]:
    """This worker's rows, decided with the others before its loop runs (a stop request, SIGTERM, ends the process
    meanwhile: it has taken no record yet)."""
    own_rows = selection.own_rows(index, parent_pid)
    if own_rows is None:
        os._exit(PARENT_GONE_EXIT)  # the parent is gone: nothing this worker does can be recorded
    return own_rows


async def _run_worker(sync: Sync, conn: Connection, spec: WorkerSpec, new_client: Callable[[], httpx.AsyncClient],
                      shared: Sequence[Any] | None, own_rows: Sequence[int] | None) -> None:
    loop = asyncio.get_running_loop()
    stop = StopRequest(spec.grace_s)
    loop.add_signal_handler(signal.SIGTERM, stop.request, "SIGTERM")  # the parent forwards its stop requests
    inbox: asyncio.Queue[Chunk | None] = asyncio.Queue()
    threading.Thread(target=_read_inbox, args=(conn, loop, inbox), daemon=True).start()
    state = StateStore(spec.state_path) if spec.state_path is not None else None
    sync.use_state(state)
    sync.concurrency, sync.requests_per_second = spec.concurrency, spec.requests_per_second
    summary = RunSummary(run_id=spec.run_id, destination=sync.spec.id, action=sync.action_id, dry_run=spec.dry_run)
    result = RunResult(summary)
    shipper = Shipper(conn, summary, result, own_rows)
    # a dry run emits its delivered records only to callbacks: ship them through one when the parent wants them
    callbacks: list[OutcomeCallback] = [shipper.add] if spec.dry_run and spec.ship_outcomes else []
    recorder = shipper if spec.ship_outcomes and not spec.dry_run else None
    client = None if spec.dry_run else new_client()
    try:
        pipeline = WorkerPipeline(sync, client, summary, callbacks, None, spec.dry_run, spec.keep_requests, result)
        pipeline.arm(RunPlan(), recorder, state if spec.incremental else None, stop)
        chunks = _chunks(inbox, shipper, shared, spec.max_line_bytes) if own_rows is None or shared is None \
            else own_chunks(shipper, shared, own_rows)
        await pipeline.run(chunks)
    finally:
        if client is not None:
            await client.aclose()
    shipper.ship()
    send(conn, Ended(Snapshot.of(summary), summary.aborted if result.stopped is None else None, result.stopped,
                     result.latencies))


class WorkerPipeline(Pipeline):
    """A worker's pipeline: it takes its records a chunk at a time (a list, or lines parsed as it goes), each
    chunk through the fused loop.

    Its rows are local (1, 2, 3... in the order the records come), so the loop counts them as in one
    process; the batch being filled carries over from one chunk to the next (the loop leaves it in the
    batcher), and is flushed once, at the end of the input."""

    async def produce(self, records: Iterable[Any] | AsyncIterable[Any], queue: asyncio.Queue[Batch | None] | None) -> None:
        loop = self.batch_loop()
        if loop is None or not isinstance(records, AsyncIterable):  # this run's records take `feed`, one by one
            await super().produce(_one_by_one(records) if isinstance(records, AsyncIterable) else records, queue)
            return
        if self.stopping is not None:
            return
        async for chunk in records:
            await self.produce_fused(loop, chunk, queue)
            if self.aborted or self.stopping:
                break
        await self.input_ended(queue)


async def _one_by_one(chunks: AsyncIterable[Iterable[Any]]) -> AsyncIterator[Any]:
    async for chunk in chunks:
        for record in chunk:
            yield record


async def _chunks(inbox: asyncio.Queue[Chunk | None], shipper: Shipper, shared: Sequence[Any] | None,
                  max_line_bytes: int) -> AsyncIterator[Iterable[Any]]:
    """The chunks routed here, each as its items."""
    while True:
        # outcomes so far and the credit for the chunks taken: before waiting for more, else every other chunk
        if shipper.buffer or shipper.acks >= ACK_EVERY or inbox.empty():
            shipper.ship()
        chunk = await inbox.get()
        if chunk is None:
            return
        shipper.acks += 1
        yield items_of(chunk, shared, max_line_bytes)


async def own_chunks(shipper: Shipper, shared: Sequence[Any], own_rows: Sequence[int]) -> AsyncIterator[Iterable[Any]]:
    """A self-selected worker's records: its own rows of the inherited list, a chunk at a time (numbered 1, 2,
    3... by the loop, as routed chunks are; the shipper names them by their input rows)."""
    shipped = time.monotonic()
    for start in range(0, len(own_rows), CHUNK_ROWS):
        # outcomes so far, as between routed chunks; counts alone (nothing buffered) a few times a second: the parent
        # merges each shipment, and a shipment a chunk cost it about 1 us a record
        if shipper.buffer or time.monotonic() - shipped >= COUNTS_EVERY_S:
            shipper.ship()
            shipped = time.monotonic()
        await asyncio.sleep(0)  # a stop request (SIGTERM) is heard here, between chunks
        yield items_of((ROWS, own_rows[start:start + CHUNK_ROWS]), shared, 0)


def items_of(chunk: Chunk, shared: Sequence[Any] | None, max_line_bytes: int) -> Iterable[Any]:
    """A chunk's items: its records, the inherited list's items at its rows, or its raw lines parsed."""
    kind = chunk[0]
    if kind == ITEMS:
        items: list[Any] = chunk[1]
        return items
    if kind == LINES:
        return parse_lines(max_line_bytes, chunk[1], chunk[2])
    assert shared is not None
    items = list(map(shared.__getitem__, map((-1).__add__, chunk[1])))  # inherited: row r is item r - 1 (C loops)
    if set(map(type, items)) - {dict}:
        items = [as_item(row, item) for row, item in zip(chunk[1], items, strict=True)]
    return items


def as_item(row: int, record: Any) -> Any:
    """The record as a worker is to take it: an item that is neither a record nor `Malformed` becomes the
    `Malformed` naming its input row (a worker knows only its own rows), with one process's message."""
    if record.__class__ is dict or isinstance(record, Mapping | Malformed):
        return record
    return not_a_record(row, record)


def _read_inbox(conn: Connection, loop: asyncio.AbstractEventLoop,
                inbox: asyncio.Queue[Chunk | None]) -> None:
    """A thread draining the parent's chunks at once (the parent never blocks on a busy worker's pipe)."""
    while True:
        try:
            chunk = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            os._exit(PARENT_GONE_EXIT)  # the parent is gone: nothing this worker does can be recorded
        loop.call_soon_threadsafe(inbox.put_nowait, chunk)
        if chunk is None:
            return


__all__ = ["CHUNK_ROWS", "ITEMS", "LINES", "ROWS", "Chunk", "Ended", "Failed", "Shipment", "Snapshot", "WorkerPipeline", "WorkerSpec", "as_item",
           "items_of", "own_chunks", "worker_main"]
