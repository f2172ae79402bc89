"""`--workers N`: one run spread over N forked worker processes, each mapping and sending its share.

The parent reads the input and routes each record to worker `crc32(key) % N`, where the key is the
value the action's key field maps to (records without one go by row), so records sharing a key go to
one worker and keep their order there, as in a one-process run. Records travel in chunks of
`CHUNK_RECORDS` (an in-memory list is inherited by the fork: only its rows are sent; a JSON Lines file
is sent as raw lines, which the workers parse: `worker_lines`, a block of lines that each open with their key
split between the workers by C loops); each worker holds at most
`MAX_INFLIGHT_CHUNKS` chunks not yet taken (memory stays bounded). A worker numbers its records
1, 2, 3... as it takes them and feeds each chunk through the fused loop; the parent keeps, for each
record sent and not yet answered, its local row's input row and key, and puts the input row back on
every outcome that comes back. A plain run (no resume, no retry, no outcome or progress callback)
over an in-memory list routes nothing: the workers decide together which records are whose
(`worker_selection`: mostly a worker's own part of the list; a key found in several parts goes by
its hash), each takes its own from the inherited list and names their outcomes by their input rows.
Workers ship back their counts and, when the parent records or calls back with them, their
outcomes; the parent alone writes the state store, calls the callbacks and progress, and merges
the summary.

The destination's limits are split so that it sees them in total: worker i gets
`concurrency // N` slots (plus one for the first `concurrency % N` workers) and
`requests_per_second / N`; a run that sends uses no more workers than there are slots. Limits read
from response headers are obeyed per worker. Mirror runs, actions answered with jobs and bodies
that number their session's requests keep one process (a clear `UsageError` says so).

A worker that dies leaves its records without an answer dead-lettered as `unknown_delivery` (a
retry with `--include-unknown` sends them again) and ends the run (self-selected workers, which no
routing holds back, are stopped as by a stop request); a stop request is forwarded to
every worker as SIGTERM, and each finishes its batches in flight within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import signal
import threading
import zlib
from collections import Counter
from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from itertools import compress
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from destkit.runtime.config.secrets import Secret, redact
from destkit.runtime.engine.input_files import LineBlocks, cut_short
from destkit.runtime.engine.results import RunFailed, RunResult
from destkit.runtime.engine.sources import JsonLines, jsonl_item
from destkit.runtime.engine.tasks import run_together
from destkit.runtime.engine.worker_lines import BLOCK_BYTES, NOT_READ, KeyReader, plain_key_name, split_by_key
from destkit.runtime.engine.worker_process import (
    ITEMS,
    LINES,
    ROWS,
    Ended,
    Failed,
    Shipment,
    WorkerSpec,
    as_item,
    unpack_outcomes,
)
from destkit.runtime.engine.worker_routing import (
    MAX_WORKERS,
    WorkerHandle,
    WorkerJob,
    check_workers,
    child_main,
    receive_outcomes,
    worker_limits,
    worker_of,
)
from destkit.runtime.engine.worker_selection import Selection
from destkit.runtime.errors import InternalError
from destkit.runtime.outcomes import Outcome, Reason, RunSummary, Status

if TYPE_CHECKING:
    from destkit.runtime.engine.sync import Sync

CHUNK_RECORDS = 1000  # records per message to a worker (pickled: cheaper than orjson for the same dicts, measured)
MAX_INFLIGHT_CHUNKS = 4  # chunks sent to a worker and not yet taken by its pipeline


class WorkerPool:
    """The parent of a run with workers: routes records out, takes outcomes in, records and merges."""

    def __init__(self, sync: Sync, job: WorkerJob, result: RunResult, shared: Sequence[Any] | None = None,
                 lines: JsonLines | None = None) -> None:
        self.sync = sync
        self.shared = shared  # an in-memory list: the workers inherit it, only rows are sent
        self.job = job
        self.result = result
        self.summary = result.summary
        self.local = RunSummary()  # the outcomes the parent gives itself (a dead worker's records)
        self.n = job.workers if job.dry_run else min(job.workers, sync.concurrency)
        # each outcome comes back when the parent records it or calls back with it; else counts are enough
        self.track = job.recorder is not None or bool(job.callbacks)
        self.workers: list[WorkerHandle] = []
        self.inbox: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
        self.rows_read = 0
        resumed = job.recorder is not None and job.plan.resume is not None
        self.skip = job.recorder.skip if resumed and job.recorder is not None else None
        self.only_keys = job.plan.only_keys
        # a JSON Lines file in a plain run: raw lines go out, their keys read off their bytes where that is exact
        self.key_reader = KeyReader.for_sync(sync) if lines is not None and self.skip is None and self.only_keys is None \
            else None
        self.lines = lines if self.key_reader is not None else None
        self.selection = self.self_selection(shared)
        self.stopping: str | None = None
        self.halting = False  # self-selected workers were told to stop (the run was aborted)
        self.aborted: str | None = None
        self.latencies: list[float] = []
        self.secrets: list[Secret] = sync.secret_values()
        self.receiver: threading.Thread | None = None

    # starting and ending the processes

    def start(self) -> None:
        """Fork the workers (they inherit the prepared sync: nothing is pickled, nothing rebuilt)."""
        context = multiprocessing.get_context("fork")
        for index in range(self.n):
            parent_end, child_end = context.Pipe(duplex=True)
            slots, rps = worker_limits(self.sync.concurrency, self.sync.requests_per_second, self.n, index)
            spec = WorkerSpec(index, self.summary.run_id, slots, rps, self.job.dry_run, self.job.keep_requests, self.track,
                              None if self.job.state is None else self.job.state.path, self.job.incremental,
                              self.job.stop.grace_s if self.job.stop is not None else 20.0,
                              0 if self.lines is None else self.lines.max_line_bytes)
            inherited = [w.conn for w in self.workers] + [parent_end]  # the child closes the parent's ends
            process = context.Process(target=child_main, args=(self.sync, child_end, spec, self.job.new_client, inherited,
                                                           self.shared, self.selection),
                                      name=f"destkit-worker-{index}", daemon=True)
            process.start()
            child_end.close()
            self.workers.append(self.handle(index, process, parent_end))

    def handle(self, index: int, process: BaseProcess, conn: Connection) -> WorkerHandle:
        w = WorkerHandle(index, process, conn)
        if self.selection is not None:  # the workers take their own records: the whole list is read at once
            w.selected = True
            if index == 0:
                self.synced(len(self.selection.records))
        return w

    def self_selection(self, shared: Sequence[Any] | None) -> Selection | None:
        """An in-memory list in a plain run that no callback watches: each worker takes its own rows of it, nothing
        is routed. Self-selected workers run ahead of the parent: a callback (progress, outcomes) that acts on the
        run, e.g. stops it, would find the workers further on than with routing, so such runs keep routing."""
        job = self.job
        if shared is None or self.skip is not None or self.only_keys is not None or job.callbacks or job.progress:
            return None
        return Selection(shared, self.plain_key_of(), plain_key_name(self.sync), self.n, multiprocessing.get_context("fork"))

    def plain_key_of(self) -> Callable[[Any], Any] | None:
        """The function reading a record's key field (None: the sync has no key, records go by row)."""
        field = self.sync.key_field
        if field is None:
            return None
        return self.sync.mapping.per_field.get(field) or (lambda record: self.key_of(record))

    def close(self) -> None:
        """Make sure no worker outlives the run (after a failure of the parent's, they are killed)."""
        for w in self.workers:
            if w.process.is_alive() and not w.ended:
                with contextlib.suppress(OSError):
                    w.process.kill()
        for w in self.workers:
            w.process.join(5)
        if self.selection is not None:
            self.selection.close()
        if self.receiver is not None:  # every child end is closed now: the thread reads the last EOF and ends
            self.receiver.join(5)
        for w in self.workers:
            w.conn.close()

    # the run

    async def run(self, records: Iterable[Any] | AsyncIterable[Any]) -> None:
        loop = asyncio.get_running_loop()
        self.receiver = threading.Thread(target=receive_outcomes, args=([w.conn for w in self.workers], loop, self.inbox),
                                         name="destkit-worker-outcomes", daemon=True)
        self.receiver.start()
        stop = self.job.stop  # listened to until every worker has ended, as a one-process run does
        unsubscribe = stop.subscribe(self.on_stop) if stop is not None else None
        if stop is not None and stop.requested:
            self.on_stop(stop.forced)
        dispatch = asyncio.create_task(self.dispatch(records))
        try:
            await run_together([dispatch, asyncio.create_task(self.consume())])
        finally:
            if unsubscribe is not None:
                unsubscribe()
        source_error = dispatch.result()
        if source_error is not None:  # as a one-process run: what was recorded stays, the run is not closed
            self.merge()
            raise source_error
        self.finish()

    async def dispatch(self, records: Iterable[Any] | AsyncIterable[Any]) -> Exception | None:
        """Route every record, then tell each worker the input ended. A source's error is returned once
        the records read before it are handed out, as a one-process run delivers them before raising."""
        source_error: Exception | None = None
        try:
            await self.route_all(records)
        except RunFailed:
            raise
        except Exception as exc:  # the source failed (an unreadable file, a crashed stream)
            source_error = exc
        if not self.halted:
            for w in self.workers:
                if w.chunk:
                    await self.send(w)
        for w in self.workers:
            if w.alive:
                with contextlib.suppress(OSError):
                    w.conn.send_bytes(pickle.dumps(None))
        return source_error

    async def route_all(self, records: Iterable[Any] | AsyncIterable[Any]) -> None:
        if self.halted or self.selection is not None:  # self-selected: the workers take their records themselves
            return
        if self.lines is not None and self.key_reader is not None:
            await self.route_lines(self.lines, self.key_reader)
            return
        route = self.router()
        if isinstance(records, AsyncIterable):
            async for record in records:
                full = route(record)
                if full is not None:
                    await self.send(full)
                    if self.halted:
                        return
        else:
            for record in records:
                full = route(record)
                if full is not None:
                    await self.send(full)
                    if self.halted:
                        return

    @property
    def halted(self) -> bool:
        return self.stopping is not None or self.aborted is not None

    def route(self, record: Any) -> WorkerHandle | None:
        """Give the record its row and its worker; the worker when its chunk is full. Rows are the input's,
        as in a one-process run: a resumed run's finished rows and a retry's other records are left out."""
        self.rows_read += 1
        row = self.rows_read
        if self.skip is not None and self.skip(row):
            self.summary.received += 1  # finished before the resume: the store's outcome counts for it
            return None
        key = self.key_of(record)
        if self.only_keys is not None and (record.__class__ is not dict or key not in self.only_keys):
            return None  # a retry reads only the records whose key failed last time
        self.summary.received += 1
        w = self.workers[worker_of(key, row, self.n)]
        w.chunk.append(row if self.shared is not None else as_item(row, record))
        if self.track:
            w.local += 1
            w.outstanding[w.local] = (row, key)
        return w if len(w.chunk) >= CHUNK_RECORDS else None

    def key_of(self, record: Any) -> str | None:
        """The record's destination key, as the pipeline names it (None for no key, or no record)."""
        field = self.sync.key_field
        if field is None or not (isinstance(record, dict | Mapping)):
            return None
        value = self.sync.mapping.field_value(record, field)
        return None if value is None or value == "" else str(value)

    def router(self) -> Callable[[Any], WorkerHandle | None]:
        """`route` for this run: for a plain run (no resume, no retry) its hot path in one function with its
        lookups bound, since it runs once a record in the one process every record goes through."""
        if self.skip is not None or self.only_keys is not None or self.sync.key_field is None:
            return self.route
        key_of = self.sync.mapping.per_field.get(self.sync.key_field)
        if key_of is None:
            return self.route
        workers, n, summary, track, shared = self.workers, self.n, self.summary, self.track, self.shared is not None
        crc32 = zlib.crc32

        def route_plain(record: Any) -> WorkerHandle | None:
            self.rows_read = row = self.rows_read + 1
            summary.received += 1
            key = None
            if isinstance(record, dict | Mapping):
                try:
                    value = key_of(record)
                except Exception:  # the pipeline names the failure; here the record just has no key
                    value = None
                if value is not None and value != "":
                    key = str(value)
            elif not shared:
                record = as_item(row, record)  # the worker's message would name its own row
            w = workers[row % n if key is None else crc32(key.encode()) % n]
            w.chunk.append(row if shared else record)
            if track:
                w.local = local = w.local + 1
                w.outstanding[local] = (row, key)
            return w if len(w.chunk) >= CHUNK_RECORDS else None

        return route_plain

    async def route_lines(self, source: JsonLines, reader: KeyReader) -> None:
        """Route a JSON Lines file's raw lines, a block at a time (each worker parses its own lines): a block whose
        every key reads off its bytes at once in C loops (`route_block`), any other line by line (`route_line`)."""
        lineno, row = 0, self.rows_read  # counted here, written back before each await (`synced`)
        blocks = LineBlocks(source.path, source.max_line_bytes, BLOCK_BYTES)
        try:
            for text, lines in blocks:
                keys = reader.leading_keys(text, len(lines))
                if keys is not None:  # a key (or b"") each: no blank line, so the rows run with the lines
                    full = self.route_block(lines, keys, lineno, row)
                    lineno, row = lineno + len(lines), row + len(lines)
                else:
                    full = []
                    for raw, key in zip(lines, reader.keys(lines), strict=True):
                        lineno += 1
                        routed = self.route_line(raw, key, lineno, row + 1, source.max_line_bytes)
                        if routed is not None:
                            row += 1
                            if len(routed.chunk) == CHUNK_RECORDS:
                                full.append(routed)
                self.synced(row)
                for w in full:
                    await self.send(w)
                    if self.halted:
                        return
            if blocks.error is not None:  # a compressed file cut short: one row stands for the lines after the cut
                self.route_line(cut_short(source.path, lineno + 1, blocks.error), None, lineno + 1, row + 1, 0)
                row += 1
            source.read_to_end()
        finally:  # the file failing to read: the rows routed before count
            self.synced(row)

    def route_block(self, lines: list[Any], keys: list[bytes], lineno: int, row: int) -> list[WorkerHandle]:
        """Hand out a block's lines, whose keys were all read off their bytes (none empty) and which are rows
        `row + 1`... in order (b"": no key): each worker's share taken by C loops (`split_by_key`). The workers whose
        chunk is now full."""
        full = []
        for w, owned in zip(self.workers, split_by_key(keys, self.n, row), strict=True):
            positions = list(compress(range(1, len(lines) + 1), owned))
            if not positions:
                continue
            w.chunk += compress(lines, owned)
            w.linenos += map(lineno.__add__, positions)
            if self.track:
                decoded = [key.decode(errors="replace") if key else None for key in compress(keys, owned)]
                w.outstanding.update(zip(range(w.local + 1, w.local + len(positions) + 1),
                                         zip(map(row.__add__, positions), decoded, strict=True), strict=True))
                w.local += len(positions)
            if len(w.chunk) >= CHUNK_RECORDS:
                full.append(w)
        return full

    def route_line(self, raw: Any, key: Any, lineno: int, row: int, limit: int) -> WorkerHandle | None:
        """Hand out one line as row `row`, its key read off its bytes or, when only a parse can tell (or it is no
        object's line), parsed here. None for a blank line, which is no record and has no row."""
        entry: Any = raw
        if key is NOT_READ:
            entry = jsonl_item(lineno, raw, limit)
            if entry is None:
                return None
            key = self.key_bytes(entry)
        w = self.workers[row % self.n if key is None else zlib.crc32(key) % self.n]
        w.chunk.append(entry)
        w.linenos.append(lineno)
        if self.track:
            w.local = local = w.local + 1
            w.outstanding[local] = (row, None if key is None else key.decode(errors="replace"))
        return w

    def key_bytes(self, item: Any) -> bytes | None:
        key = self.key_of(item)
        return None if key is None else key.encode()

    def synced(self, row: int) -> None:
        """Rows up to `row` were routed (counted in a local while routing, as the fused loop does)."""
        self.summary.received += row - self.rows_read
        self.rows_read = row

    async def send(self, w: WorkerHandle) -> None:
        """Send the worker its chunk once it has taken enough of the earlier ones (back-pressure)."""
        while w.inflight >= MAX_INFLIGHT_CHUNKS and w.alive and not self.halted:
            w.credit.clear()
            await w.credit.wait()
        if not w.alive or self.halted:
            return  # never sent: the rows stay without an outcome (a resumed run reads them)
        chunk, linenos = w.chunk, w.linenos
        w.chunk, w.linenos = [], []
        message = (ROWS, chunk) if self.shared is not None else (LINES, linenos, chunk) if self.lines is not None \
            else (ITEMS, chunk)
        try:
            w.conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            return  # the worker is gone; its end of the pipe says so to `consume`
        w.inflight += 1
        w.sent += len(chunk)
        await asyncio.sleep(0)  # let the outcomes that came back be recorded

    def on_stop(self, forced: bool) -> None:
        """A stop request: read no more, and forward it to every worker (a second one cuts off their batches)."""
        assert self.job.stop is not None
        self.stopping = self.stopping or self.job.stop.reason or "a stop request"
        for w in self.workers:
            w.credit.set()
            if w.alive and w.process.pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(w.process.pid, signal.SIGTERM)

    # what comes back

    async def consume(self) -> None:
        """Take what the workers ship until each has ended or died."""
        while any(w.alive for w in self.workers):
            index, message = await self.inbox.get()
            try:
                self.take(self.workers[index], message)
            except Exception as exc:  # recording failed (a full disk, a callback that raised)
                raise RunFailed.of(exc, self.secrets) from exc

    def take(self, w: WorkerHandle, message: Any) -> None:
        if isinstance(message, Shipment):
            w.inflight -= message.acks
            w.credit.set()
            self.outcomes(w, message)
        elif isinstance(message, Ended):
            self.ended(w, message)
        elif isinstance(message, Failed):
            w.failure = message.message
        elif message is None and w.alive:  # the pipe closed without the worker saying it ended
            self.died(w)

    def outcomes(self, w: WorkerHandle, shipment: Shipment) -> None:
        w.snapshot = shipment.snapshot
        recorder, callbacks = self.job.recorder, self.job.callbacks
        for o in self.answered(w, unpack_outcomes(shipment.outcomes)):
            if recorder is not None:
                recorder.add(o)
            for cb in callbacks:
                cb(o)
        if recorder is not None:
            recorder.fingerprints.extend(shipment.fingerprints)
            recorder.flush()
        self.result.requests.extend(shipment.requests)
        self.merge()
        s = self.summary
        self.result.timeline.observe(s.counts, s.requests, s.retries, 0, ())
        if self.job.progress is not None:
            self.job.progress(s)

    def answered(self, w: WorkerHandle, outcomes: list[Outcome]) -> list[Outcome]:
        """The outcomes, named by their input rows, each checked to answer a record the worker owed once."""
        if w.selected:  # self-selected: the worker named them; the parent notes which rows are answered
            answered = w.answered
            for o in outcomes:
                if o.row in answered:
                    raise InternalError(f"worker process {w.index} sent a second outcome for row {o.row}")
                answered.add(o.row)
            return outcomes
        outstanding = w.outstanding
        for o in outcomes:
            sent = outstanding.pop(o.row, None)
            if sent is None:
                raise InternalError(f"worker process {w.index} sent an outcome for its record {o.row}, which it was not "
                                    "sent or has already answered")
            o.row = sent[0]  # the worker's local row → the input's row
        return outcomes

    def ended(self, w: WorkerHandle, ended: Ended) -> None:
        w.ended = True
        w.snapshot = ended.snapshot
        self.latencies.extend(ended.latencies)
        if ended.aborted and self.aborted is None:
            self.aborted = ended.aborted  # an auth failure: read no more, as a one-process run
            self.halt_self_selected()
        for other in self.workers:
            other.credit.set()
        self.merge()

    def died(self, w: WorkerHandle) -> None:
        """A worker died: the records it owed an outcome for are dead letters, and the run ends."""
        w.gone = True
        w.process.join(1)
        code = w.process.exitcode
        for other in self.workers:
            other.credit.set()
        if (self.stopping is not None or self.halting) and code == -signal.SIGTERM:
            return  # stopped before its pipeline began: it sent nothing, the resumed run reads its rows
        cause = w.failure or f"exit code {code}"
        message = (f"worker process {w.index} ended unexpectedly ({redact(cause, self.secrets)}) before this record's "
                   f"outcome came back; it may have been delivered: retry with --include-unknown to send it again.")
        if self.aborted is None:
            self.aborted = f"worker process {w.index} ended unexpectedly ({redact(cause, self.secrets)})"
            self.halt_self_selected()
        if self.track:
            for row, key in self.owed(w):
                self.dead_letter(Outcome(row=row, status=Status.DEAD_LETTERED, key=key, reason=Reason.UNKNOWN_DELIVERY,
                                         message=message))
            w.outstanding.clear()
        else:  # a dry run without callbacks: only the counts are kept
            sent = w.sent if self.selection is None else len(self.selection.rows_of(w.index))
            lost = sent - w.done_count()
            self.local.counts[Status.DEAD_LETTERED.value] += lost
            self.local.reasons[Reason.UNKNOWN_DELIVERY.value] += lost
        if self.job.recorder is not None:
            self.job.recorder.flush()
        self.merge()

    def owed(self, w: WorkerHandle) -> list[tuple[int, str | None]]:
        """The rows (and keys) a dead worker owed an outcome for: routed and unanswered, or, self-selected, its own
        rows less those answered (found again in the list: a record's key is read only for its dead letter)."""
        if self.selection is None:
            return list(w.outstanding.values())
        shared, answered = self.selection.records, w.answered
        return [(row, self.key_of(shared[row - 1])) for row in self.selection.rows_of(w.index) if row not in answered]

    def halt_self_selected(self) -> None:
        """The run ends early (an auth failure, a dead worker): self-selected workers, which no routing stops, are
        told to read no more, as a stop request would (each finishes its batches in flight)."""
        if self.selection is None or self.halting:
            return
        self.halting = True
        for w in self.workers:
            if w.alive and w.process.pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(w.process.pid, signal.SIGTERM)

    def dead_letter(self, outcome: Outcome) -> None:
        self.local.add(outcome)
        if self.job.recorder is not None:
            self.job.recorder.add(outcome)
        for cb in self.job.callbacks:
            cb(outcome)

    def merge(self) -> None:
        """The summary's figures: the parent's own outcomes plus each worker's latest snapshot."""
        s, local = self.summary, self.local
        counts, reasons, warnings = Counter(local.counts), Counter(local.reasons), Counter(local.warnings)
        batches = requests = retries = bytes_sent = 0
        for w in self.workers:
            snap = w.snapshot
            if snap is not None:
                counts.update(snap.counts)
                reasons.update(snap.reasons)
                warnings.update(snap.warnings)
                batches, requests = batches + snap.batches, requests + snap.requests
                retries, bytes_sent = retries + snap.retries, bytes_sent + snap.bytes_sent
        s.counts, s.reasons, s.warnings = counts, reasons, warnings
        s.batches, s.requests, s.retries, s.bytes_sent = batches, requests, retries, bytes_sent

    def finish(self) -> None:
        """Close the run as a one-process run would: stopped or aborted, and in the store."""
        s, result = self.summary, self.result
        self.merge()
        result.latencies = self.latencies
        s.aborted = s.aborted or self.aborted
        if self.stopping is not None:
            result.stopped = self.stopping
            if s.aborted is None:
                s.aborted = f"stopped by {self.stopping} before the end of the input; resume the run to finish it"
        halted = self.halted
        recorder = self.job.recorder
        if recorder is not None:
            recorder.flush()
            recorder.finish(stopped=halted)  # rows routed but never taken are the resumed run's
        elif halted:
            s.received = sum(s.count(status) for status in Status)


async def run_in_workers(sync: Sync, records: Iterable[Any] | AsyncIterable[Any], job: WorkerJob, result: RunResult) -> None:
    """Run the planned run over `job.workers` processes; the summary and the store end as a one-process run's."""
    shared = records if isinstance(records, list | tuple) else None  # read by index in the workers: never sent
    pool = WorkerPool(sync, job, result, shared, records if isinstance(records, JsonLines) else None)
    pool.start()
    try:
        try:
            await pool.run(records)
        except BaseException:
            if job.recorder is not None:
                with contextlib.suppress(Exception):  # best effort: the first failure is the one to raise
                    job.recorder.flush()
            raise
    finally:
        pool.close()


__all__ = ["CHUNK_RECORDS", "MAX_WORKERS", "WorkerJob", "check_workers", "run_in_workers", "worker_limits", "worker_of"]
