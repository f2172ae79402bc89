"""One run's pipeline: the synchronous core maps, checks and batches each record; worker tasks deliver
the batches; every record ends as exactly one outcome, emitted to the summary, the recorder and the
callbacks.

`feed` is the per-record hot path: the common record (a valid dict) takes no detour through
helpers; batches that share a key are delivered in input order even across workers and retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from destkit.runtime.config.secrets import redact
from destkit.runtime.delivery.batching import Batch, Batcher, SessionCounters
from destkit.runtime.delivery.delivered import DeliveredRows
from destkit.runtime.delivery.extensions import classifier_for, reader_for
from destkit.runtime.delivery.reading import match_value_reader
from destkit.runtime.delivery.retry import RateGate
from destkit.runtime.delivery.sender import Deliverer, ErrorTable, Idempotency, Lean, ResponseLimits
from destkit.runtime.engine.jobs import StoredJobs
from destkit.runtime.engine.key_order import KeyOrder
from destkit.runtime.engine.mirror import Mirror, removals_unsafe
from destkit.runtime.engine.policy import RunPlan
from destkit.runtime.engine.primary_key import primary_key_reader
from destkit.runtime.engine.recorder import Recorder
from destkit.runtime.engine.refusals import Refusals, unreadable_item
from destkit.runtime.engine.results import PreparedRequest, ProgressCallback, RunFailed, RunResult
from destkit.runtime.engine.state import StateStore
from destkit.runtime.engine.stopping import StopRequest
from destkit.runtime.engine.tasks import run_together
from destkit.runtime.errors import AuthFailed, RecordError
from destkit.runtime.outcomes import Outcome, OutcomeCallback, Reason, RunSummary, Status, watches_delivered
from destkit.runtime.record.compiler import fill_path
from destkit.runtime.record.loop import BatchLoop, LoopVariant, loop_of

if TYPE_CHECKING:  # the sync builds pipelines, so this module may not import it at run time
    from destkit.runtime.engine.sync import Sync


class Pipeline:
    """The state of one run: producer (sync core) feeding worker tasks (HTTP shell)."""

    def __init__(self, sync: Sync, client: httpx.AsyncClient | None, summary: RunSummary, callbacks: list[OutcomeCallback],
                 progress: ProgressCallback | None, dry_run: bool, keep_requests: bool, result: RunResult) -> None:
        self.sync = sync
        self.client = client
        self.summary = summary
        self.callbacks = callbacks
        # a delivered record needs an Outcome object only for a callback that looks at it
        self.delivered_watched = any(watches_delivered(cb) for cb in callbacks)
        self.progress = progress
        self.dry_run = dry_run
        self.keep_requests = keep_requests
        self.result = result
        action = sync.action
        self.batcher = Batcher(sync.envelope, action.batch.max_records, action.batch.max_bytes, dedupe=action.batch.key is not None,
                               match_value=match_value_reader(action.response, action.request))
        self.max_record_bytes = min(sync.options.max_record_bytes, action.batch.max_bytes - len(sync.envelope.prefix) - len(sync.envelope.suffix))
        errors = sync.spec.errors_for(action)
        self.deliverer = Deliverer(
            client,  # type: ignore[arg-type]  # None only in dry runs, which never send
            sync.method, sync.path, sync.envelope, reader_for(action.response),
            ErrorTable.from_spec(errors, action.response), sync.retry, RateGate(sync.requests_per_second),
            headers=sync.headers, params=sync.query or None, run_id=summary.run_id, path_params=sync.path_params,
            classifier=classifier_for(errors), limits=ResponseLimits.from_options(sync.options),
            idempotency=Idempotency.of(action), secrets=sync.secret_values(),
            rate_headers=sync.spec.rate_limit_for(action).headers, job=action.response.job)
        self.jobs: StoredJobs | None = None  # set by `arm` when the action answers with jobs and the run is recorded
        self.aborted: str | None = None
        # a body naming `$session.*` values: each request is numbered as it is handed out (one held back);
        # the session is named after the run (a dry run, which opens none, shows one fixed id)
        self.counters = SessionCounters(SessionCounters.id_of("dry run" if dry_run else summary.run_id)) \
            if sync.envelope.session else None
        self.secrets = sync.secret_values()
        self.process = sync.processor  # the compiled record path: prepared before a pipeline is built
        self.warnings: dict[int, list[dict[str, str]]] = {}
        self.include_payloads = sync.options.include_payloads
        self.refusals = Refusals(sync)
        self.incremental: StateStore | None = None  # set by arun when options.incremental and a state store
        self.pending_fingerprints: dict[int, tuple[str, bytes]] = {}
        self.recorder: Recorder | None = None
        self.key_order = KeyOrder()  # batches sharing a key are delivered in input order
        self.skip: Callable[[int], bool] | None = None
        self.only_keys: frozenset[str] | None = None  # a retry: only records with these keys
        self.rows_read = 0  # the input's row of the record being fed
        self.stop: StopRequest | None = None
        self.stopping: str | None = None  # why a stop was requested: nothing new is sent
        self.grace_timer: asyncio.TimerHandle | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.mirror: Mirror | None = None  # options.mirror: membership kept, departed members removed after the input
        self._primary_key = primary_key_reader(sync.options.primary_key) if callbacks or not dry_run else None
        self.primary_keys: dict[int, str] = {}  # options.primary_key of the records in flight, popped as each is emitted

    # outcomes

    def emit(self, outcome: Outcome) -> None:
        if self.primary_keys:
            outcome.primary_key = self.primary_keys.pop(outcome.row, outcome.primary_key)
        if self.secrets and outcome.status is not Status.DELIVERED:
            # a destination may echo what it was sent, credentials included
            if outcome.destination_message:
                outcome.destination_message = redact(outcome.destination_message, self.secrets)
            if outcome.message:
                outcome.message = redact(outcome.message, self.secrets)
        self.summary.add(outcome)
        if self.recorder is not None:
            self.recorder.add(outcome)
        for cb in self.callbacks:
            cb(outcome)

    def emit_batch(self, outcomes: list[Outcome], unlisted: int = 0, columns: DeliveredRows | None = None) -> None:
        """A delivered batch's outcomes; `unlisted`: records delivered in a lean delivery, with no outcome object;
        `columns`: records delivered as columns (`lean`), for the recorder."""
        delivered = unlisted
        callbacks, recorder = self.callbacks, self.recorder
        pending, primary_keys = self.pending_fingerprints, self.primary_keys
        if columns is not None and columns.rows and recorder is not None:
            delivered += recorder.add_delivered(columns, primary_keys)
        for o in outcomes:
            if primary_keys:
                o.primary_key = primary_keys.pop(o.row, o.primary_key)
            if pending:
                fp = pending.pop(o.row, None)
                if fp is not None and o.status is Status.DELIVERED and recorder is not None:
                    recorder.fingerprints.append((self.sync.action_id, fp[0], fp[1]))
            if o.status is Status.DELIVERED and o.warnings is None:  # the common case, kept cheap
                delivered += 1
                if recorder is not None:
                    recorder.add(o)
                for cb in callbacks:
                    cb(o)
            else:
                self.emit(o)
        self.summary.counts[Status.DELIVERED.value] += delivered
        if self.recorder is not None:
            self.recorder.flush()
        self.summary.batches += 1
        self.observe()
        if self.progress:
            self.progress(self.summary)

    def emit_delivered_dry(self, batch: Batch) -> None:
        if self.delivered_watched or self.warnings:
            outcomes = [Outcome(row=row, status=Status.DELIVERED, key=None if key is None else str(key))
                        for row, key in zip(batch.rows, batch.keys, strict=True)]
            self.attach_warnings(outcomes)
            for o in outcomes:
                self.emit(o)
        else:
            self.summary.counts[Status.DELIVERED.value] += len(batch)
            self.forget_primary_keys(batch.rows)
        self.summary.batches += 1
        self.summary.requests += 1
        body_size = self.batcher.size_of(batch)
        self.summary.bytes_sent += body_size
        if self.keep_requests:
            path = fill_path(self.sync.path, self.sync.path_params, batch.params)
            self.result.requests.append(PreparedRequest(self.sync.method, self.sync.base_url + path,
                                                        self.sync.envelope.join(batch.parts, batch.session), len(batch)))
        self.observe()
        if self.progress:
            self.progress(self.summary)

    def forget_primary_keys(self, rows: list[int]) -> None:
        """Delivered rows that get no outcome object: their primary keys are not kept for one."""
        if self.primary_keys:
            pop = self.primary_keys.pop
            for row in rows:
                pop(row, None)

    def observe(self) -> None:
        """Once per batch: the run's figures so far into its timeline (bounded: time buckets, not records)."""
        s, stats = self.summary, self.deliverer.stats
        self.result.timeline.observe(s.counts, s.requests, s.retries, stats.throttle_waits, stats.latencies,
                                    stats.throttled_s)

    def abort_batch(self, batch: Batch, reason: Reason, message: str) -> None:
        for row, key in zip(batch.rows, batch.keys, strict=True):
            self.emit(Outcome(row=row, status=Status.DEAD_LETTERED, key=None if key is None else str(key), reason=reason,
                              message=message))

    # the pipeline

    def arm(self, plan: RunPlan, recorder: Recorder | None, incremental: StateStore | None,
            stop: StopRequest | None = None, mirror: Mirror | None = None) -> None:
        """Apply the run policy: only the plan's keys, the resumed run's finished rows skipped, recording."""
        self.only_keys = plan.only_keys
        self.incremental = incremental
        self.recorder = recorder
        self.stop = stop
        self.mirror = mirror
        self.summary.mirror = mirror is not None
        if recorder is not None and plan.resume is not None:
            self.skip = recorder.skip
            if self.counters is not None:  # a resumed run is a new session: its counters start again
                self.counters = SessionCounters(SessionCounters.id_of(f"{plan.resume.run_id}:{plan.resume.checkpoint}"))
        if recorder is not None and self.deliverer.job is not None:
            self.jobs = StoredJobs(recorder, self.summary, self.primary_keys)
            self.deliverer.job.ledger = self.jobs
            if plan.resume is not None:
                self.jobs.reopen(plan.resume.run_id)

    async def run(self, records: Iterable[Any] | AsyncIterable[Any]) -> None:
        """`go`, then close the run in the store; what was recorded before a crash stays recorded."""
        try:
            await self.go(records)
        except BaseException:
            self.result.latencies = self.deliverer.stats.latencies
            if self.recorder is not None:
                with contextlib.suppress(Exception):  # best effort: the first failure is the one to raise
                    self.recorder.flush()
            raise
        self.result.latencies = self.deliverer.stats.latencies
        self.observe()  # the records that ended after the last batch (invalid ones at the end of the input)
        if self.stopping is not None:
            self.result.stopped = self.stopping
            if self.summary.aborted is None:  # an auth failure says more
                self.summary.aborted = f"stopped by {self.stopping} before the end of the input; resume the run to finish it"
        if self.recorder is not None:
            self.recorder.flush()
            await self.remove_departed()
            self.recorder.finish(stopped=self.stopping is not None)
        elif self.stopping is not None:  # the rows read but never sent are not this run's
            self.summary.received = sum(self.summary.count(s) for s in Status)

    async def remove_departed(self) -> None:
        """Mirror mode, once the input is done: remove the members this run did not see, if it read the whole input."""
        mirror = self.mirror
        if mirror is None:
            return
        why = self.cut_short()
        if why is not None:
            self.summary.removals_skipped = why
            return
        assert self.client is not None  # a mirror is armed only for runs that send
        stop = self.stop  # the input's stop subscription has ended: a request during the removals is read here
        await mirror.remove_departed(self.client, self.summary.run_id, self.summary, self.callbacks,
                                     lambda: stop is not None and stop.requested)
        if stop is not None and stop.requested:  # the rest of the departed members are removed by the next run
            self.result.stopped = stop.reason
        if mirror.aborted and self.summary.aborted is None:
            self.summary.aborted = mirror.aborted

    def cut_short(self) -> str | None:
        """Why this run did not see its whole input (so an absent key proves nothing), or None."""
        if self.aborted or self.summary.aborted:
            return "the run was aborted before the end of its input: no member was removed"
        if self.stopping is not None:
            return "the run was stopped before the end of its input: no member was removed"
        if self.only_keys is not None:
            return "a retry reads only the records that failed: no member was removed"
        return removals_unsafe(self.summary.reasons[Reason.MALFORMED_INPUT.value], self.rows_read,
                               self.sync.options.allow_empty_mirror)

    async def go(self, records: Iterable[Any] | AsyncIterable[Any]) -> None:
        """The producer (this task's `produce`) feeding worker tasks; any failure of either stops both at once."""
        unsubscribe = self.stop.subscribe(self._on_stop) if self.stop is not None else None
        if self.stop is not None and self.stop.requested:
            self._on_stop(self.stop.forced)
        try:
            if self.dry_run:
                await self.produce(records, None)
            else:
                await self._produce_and_deliver(records)
        finally:
            if unsubscribe is not None:
                unsubscribe()
            if self.grace_timer is not None:
                self.grace_timer.cancel()
        if self.aborted:
            self.summary.aborted = self.aborted

    async def _produce_and_deliver(self, records: Iterable[Any] | AsyncIterable[Any]) -> None:
        queue: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=self.sync.concurrency)
        workers = [asyncio.create_task(self.worker(queue)) for _ in range(self.sync.concurrency)]
        producer = asyncio.create_task(self.feed_workers(records, queue, len(workers)))
        self.tasks = [producer, *workers]
        if self.jobs is not None and self.jobs.reopened:  # a resumed run's open jobs, polled alongside
            self.tasks.append(asyncio.create_task(self.jobs.finish_reopened(self)))
        await run_together(self.tasks)
        source_error = None if producer.cancelled() else producer.result()
        if source_error is not None:
            raise source_error

    async def feed_workers(self, records: Iterable[Any] | AsyncIterable[Any], queue: asyncio.Queue[Batch | None],
                           workers: int) -> Exception | None:
        """Produce, then tell each worker to end. A source's own error is returned, not raised, once the
        workers have been told to end: the batches already read are delivered before the run raises it."""
        source_error: Exception | None = None
        try:
            await self.produce(records, queue)
        except RunFailed:
            raise
        except Exception as exc:  # the source failed (an unreadable file, a crashed stream)
            source_error = exc
            if self.counters is not None:  # the batch held back for its last_batch flag goes too (not flagged)
                for batch in self.counters.release():
                    await self._hand_out(batch, queue)
        for _ in range(workers):
            await queue.put(None)
        return source_error

    async def produce(self, records: Iterable[Any] | AsyncIterable[Any], queue: asyncio.Queue[Batch | None] | None) -> None:
        """Feed every record and hand out its batches; stops early on an auth failure or a stop request.

        An error of the source itself (raised by iterating `records`) propagates as is; one raised
        while recording what was read (the state store, an outcome callback) is a `RunFailed`.
        """
        if self.stopping is not None:
            return
        if isinstance(records, AsyncIterable):
            async for record in records:
                try:
                    batch = self.feed(record)
                    if batch is not None:
                        await self.put(batch, queue)
                except Exception as exc:
                    raise self.failure(exc) from exc
                if self.aborted or self.stopping:
                    break
        elif (loop := self.batch_loop()) is not None:
            await self.produce_fused(loop, records, queue)
        else:
            for record in records:
                try:
                    batch = self.feed(record)
                    if batch is not None:
                        await self.put(batch, queue)
                except Exception as exc:  # free when nothing is raised: the hot path pays nothing
                    raise self.failure(exc) from exc
                if batch is not None and (self.aborted or self.stopping):  # only an await can change them
                    break
        await self.input_ended(queue)

    async def input_ended(self, queue: asyncio.Queue[Batch | None] | None) -> None:
        """The whole input was read: hand out the batch being filled (a stopped run sends nothing new)."""
        if self.stopping is None:
            try:
                await self.put(self.batcher.flush(), queue, final=True)
            except Exception as exc:
                raise self.failure(exc) from exc

    def batch_loop(self) -> BatchLoop | None:
        """The fused loop, when every record takes the common path's steps (the one place a run's
        variant is chosen: a retry's filter, mirror bookkeeping and matching results by a field take
        `feed`, record by record; options.primary_key and a resume's skips are carried inside the loop)."""
        loop = loop_of(self.process)
        if (loop is None or loop.dedupe != self.batcher.dedupe or self.batcher.match_value is not None
                or self.only_keys is not None or self.mirror is not None):
            return None
        primary_key = self.sync.options.primary_key if self._primary_key is not None else None
        return loop.variant(LoopVariant(primary_key, skips=self.skip is not None))

    async def produce_fused(self, loop: BatchLoop, records: Iterable[Any], queue: asyncio.Queue[Batch | None] | None) -> None:
        """Hand out each batch the fused loop fills. An error of the input comes out of it as is; its
        handlers raise `RunFailed` for anything else."""
        batches = loop.run(records, self)
        try:
            for batch in batches:
                try:
                    await self.put(batch, queue)
                except Exception as exc:
                    raise self.failure(exc) from exc
                if self.aborted or self.stopping:  # only an await can change them
                    break
        finally:
            batches.close()  # the batch being filled is back in the batcher before it is flushed

    # the fused loop's handlers (`LoopHub`): rare records, and the row count

    def synced(self, row: int) -> None:
        """Rows up to `row` were read (the loop counts them in a local and writes them back here)."""
        self.summary.received += row - self.rows_read
        self.rows_read = row

    def feed_other(self, record: Any) -> Batch | None:
        """An item that is not a dict: `feed` takes it."""
        try:
            return self.feed(record)
        except Exception as exc:
            raise self.failure(exc) from exc

    def reject(self, row: int, record: Any, error: Exception) -> None:
        """The outcome of a record the record function refused or failed on. When only the summary sees it
        (no store, no callback), a check's refusal is just counted: its key, value and message go unread."""
        try:
            if error.__class__ is RecordError and self.recorder is None and not self.callbacks:
                self.primary_keys.pop(row, None)
                self.summary.add(Outcome(row=row, status=Status.INVALID, reason=Reason(error.code)))
            else:
                self.emit(self.refusals.refused(row, record, error))
        except Exception as exc:
            raise self.failure(exc) from exc

    def too_large(self, row: int, key: Any, size: int) -> None:
        try:
            self.emit(self.refusals.too_large(row, None if key is None else str(key), size, self.max_record_bytes))
        except Exception as exc:
            raise self.failure(exc) from exc

    def warn(self, row: int, warnings: list[tuple[str, str, str]]) -> None:
        self.warnings[row] = [{"reason": c, "field": f, "message": m} for c, f, m in warnings]

    async def put(self, batch: Batch | None, queue: asyncio.Queue[Batch | None] | None, *, final: bool = False) -> None:
        """Hand a batch out to be sent (`final`: the input has ended, `batch` is the batcher's last)."""
        if batch is not None and self.incremental is not None:
            batch = self.skip_unchanged(batch)
        if self.counters is not None:
            for ready in self.counters.number(batch, final=final):
                await self._hand_out(ready, queue)
        elif batch is not None:
            await self._hand_out(batch, queue)

    async def _hand_out(self, batch: Batch, queue: asyncio.Queue[Batch | None] | None) -> None:
        if queue is None:
            self.emit_delivered_dry(batch)
        elif self.aborted:
            self.abort_batch(batch, Reason.AUTH_FAILED, self.aborted)
        else:
            await queue.put(batch)
            await asyncio.sleep(0)

    def failure(self, exc: BaseException) -> RunFailed:
        """The `RunFailed` for an error that is not a record's: it names the file and the cause, without secrets."""
        return RunFailed.of(exc, self.secrets)

    # stopping early

    def _on_stop(self, forced: bool) -> None:
        """A stop request: send nothing new; cut off what is in flight when forced or after the grace period."""
        assert self.stop is not None
        if self.stopping is None:
            self.stopping = self.stop.reason or "a stop request"
            self.grace_timer = asyncio.get_running_loop().call_later(self.stop.grace_s, self._cut_off)
        if forced:
            self._cut_off()

    def _cut_off(self) -> None:
        """End every task now: batches in flight are abandoned unrecorded, so a resumed run sends them again."""
        for task in self.tasks:
            task.cancel()

    def feed(self, record: Any) -> Batch | None:
        """The synchronous core for one record: map, validate, enforce, serialize, batch.

        The per-record hot path: a valid dict record outside a retry takes no detour; the rare
        cases (a retry's filter, an unreadable line, an invalid or unsendable record) are helpers.
        A record's row is its place in the input, in a retry too.
        """
        summary = self.summary
        self.rows_read += 1
        row = self.rows_read
        if self.skip is not None and self.skip(row):
            summary.received += 1  # finished before the resume: the store's outcome counts for it
            return None
        if self.only_keys is not None and not self._to_retry(record):
            return None  # a record a retry leaves out is not part of the retry run
        summary.received += 1
        if self._primary_key is not None and (primary_key := self._primary_key(record)) is not None:
            self.primary_keys[row] = primary_key
        if record.__class__ is not dict and (unreadable := unreadable_item(row, record)) is not None:
            self.emit(unreadable)
            return None
        warnings: list[tuple[str, str, str]] = []
        try:
            key, part, params = self.process(record, warnings)
        except Exception as exc:  # free when nothing is raised: the hot path pays nothing
            self.emit(self.refusals.refused(row, record, exc))
            return None
        if len(part) > self.max_record_bytes:
            self.emit(self.refusals.too_large(row, None if key is None else str(key), len(part), self.max_record_bytes))
            return None
        if warnings:
            self.warn(row, warnings)
        if self.mirror is not None:
            self.mirror.hold(row, record)
        return self.batcher.add(row, key, part, params)

    def _to_retry(self, record: Any) -> bool:
        """A retry sends only the records whose key the last run rejected or dead-lettered."""
        assert self.only_keys is not None
        return record.__class__ is dict and self.refusals.key_of(record) in self.only_keys

    async def worker(self, queue: asyncio.Queue[Batch | None]) -> None:
        """Deliver batches until told to end; any error that is not a record's stops the run (`RunFailed`)."""
        ordered = self.sync.action.batch.key is not None
        while True:
            batch = await queue.get()
            if batch is None:
                return
            if self.stopping is not None:
                continue  # not sent, so no outcome: the resumed run sends it
            if ordered:
                await self.key_order.wait(batch)
            try:
                await self._deliver_batch(batch)
            except Exception as exc:  # recording the outcomes failed (a full disk): nothing more can be kept
                raise self.failure(exc) from exc
            finally:
                if ordered:
                    await self.key_order.done(batch)

    async def _deliver_batch(self, batch: Batch) -> None:
        if self.aborted:
            self.abort_batch(batch, Reason.AUTH_FAILED, self.aborted)
            return
        lean = self.lean(batch)
        columns = lean if isinstance(lean, DeliveredRows) else None
        try:
            outcomes = await self.deliverer.deliver(batch, lean=lean)
        except AuthFailed as exc:
            self.aborted = f"auth_failed: {redact(str(exc), self.secrets)}"
            self.abort_batch(batch, Reason.AUTH_FAILED, self.aborted)
            return
        except Exception as exc:  # never lose a batch to a bug in the shell
            message = f"delivery failed unexpectedly ({type(exc).__name__}); the record will be retried by the next run."
            columns = None  # every record is dead-lettered: none of them was delivered after all
            outcomes = [Outcome(row=row, status=Status.DEAD_LETTERED, key=None if key is None else str(key),
                                reason=Reason.CONNECTION_ERROR, message=message)
                        for row, key in zip(batch.rows, batch.keys, strict=True)]
        finally:
            stats = self.deliverer.stats
            self.summary.requests, self.summary.retries, self.summary.bytes_sent = stats.requests, stats.retries, stats.bytes_sent
        self.attach_warnings(outcomes)
        if self.jobs is not None:
            self.jobs.settled(batch)
        if self.include_payloads:
            sent = dict(zip(batch.rows, batch.parts, strict=True))
            for o in outcomes:
                if o.status is not Status.DELIVERED and o.row in sent:
                    o.payload = orjson.loads(sent[o.row])
        self.emit_batch(outcomes, len(batch) - len(outcomes) if lean is True else 0, columns)
        if lean is True:
            self.forget_primary_keys(batch.rows)  # the delivered ones had no outcome to carry theirs

    def lean(self, batch: Batch) -> Lean:
        """Whether the batch's delivered records need no outcome object: nothing watches or annotates them
        (no callback, mirror, job, incremental fingerprint, or warning of theirs). Then with no store
        they need nothing (True); a store records them as columns (a `DeliveredRows`)."""
        if (self.delivered_watched or self.jobs is not None or self.mirror is not None or self.incremental is not None
                or (self.warnings and any(r in self.warnings for r in batch.rows))):
            return False
        return True if self.recorder is None else DeliveredRows()

    def skip_unchanged(self, batch: Batch) -> Batch | None:
        """Incremental sync: records whose body is what was last delivered for their key are `skipped`."""
        store = self.incremental
        assert store is not None
        action_id = self.sync.action_id
        fps = [hashlib.blake2b(part, digest_size=16).digest() for part in batch.parts]
        keys = [str(k) for k in batch.keys]
        known = store.fingerprints(self.sync.spec.id, action_id, [k for k in keys if k != "None"])
        keep: list[int] = []
        for i, (row, key, fp) in enumerate(zip(batch.rows, keys, fps, strict=True)):
            if known.get(key) == fp:
                self.emit(Outcome(row=row, status=Status.SKIPPED, key=key, reason=Reason.UNCHANGED,
                                  message="nothing changed since this record was last delivered; not sent."))
            else:
                keep.append(i)
                self.pending_fingerprints[row] = (key, fp)
        if not keep:
            return None
        return batch if len(keep) == len(batch) else batch.subset(keep)

    def attach_warnings(self, outcomes: list[Outcome]) -> None:
        if self.warnings:
            for o in outcomes:
                w = self.warnings.pop(o.row, None)
                if w:
                    o.warnings = w


__all__ = ["Pipeline"]
