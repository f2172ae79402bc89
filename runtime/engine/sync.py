"""A sync: one destination action, configured and checked once, run over any stream of records.

`build_sync` does every check that needs no network (spec, settings, secrets, mapping, base URL);
`Sync.arun` reads the catalogs and checks the mapping's constants against them before the first
record, then streams records through map → validate → enforce → batch → deliver, emitting exactly
one outcome per record. Memory is O(batch size * concurrency), never O(audience).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from destkit.mapping import (
    CompiledMapping,
    RecordError,
    Template,
)
from destkit.runtime.config.model import SyncConfig
from destkit.runtime.config.secrets import Secret, redact
from destkit.runtime.delivery.auth import build_auth
from destkit.runtime.delivery.batching import Batch, Batcher
from destkit.runtime.delivery.catalogs import catalog_from_config, check_constants, fetch_catalog
from destkit.runtime.delivery.extensions import classifier_for, reader_for
from destkit.runtime.delivery.retry import RateGate, RetryPolicy
from destkit.runtime.delivery.sender import Deliverer, ErrorTable, Idempotency, ResponseLimits
from destkit.runtime.engine.recorder import Recorder
from destkit.runtime.engine.sources import Malformed
from destkit.runtime.engine.state import RunInfo, StateStore, config_hash
from destkit.runtime.errors import AuthFailed, ConfigError, Issue
from destkit.runtime.outcomes import Outcome, OutcomeCallback, Reason, RunSummary, Status
from destkit.runtime.record.checks import Catalog, unsendable
from destkit.runtime.record.compiler import Process, compile_processor, fill_path
from destkit.runtime.spec.body_template import Envelope, build_envelope
from destkit.runtime.spec.models import ActionSpec, DestinationSpec
from destkit.runtime.spec.vocabulary import key_field, path_parameters

ProgressCallback = Callable[[RunSummary], None]


@dataclass
class PreparedRequest:
    """A request a dry run would have sent (headers without credentials)."""

    method: str
    url: str
    body: bytes
    records: int

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class PreviewItem:
    """One previewed record: the body it would be sent as, or the outcome that keeps it back."""

    row: int
    body: Any | None
    outcome: Outcome | None
    warnings: list[dict[str, str]] | None = None


@dataclass
class RunResult:
    summary: RunSummary
    requests: list[PreparedRequest] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds per answered request, in order

    @property
    def ok(self) -> bool:
        return self.summary.aborted is None and self.summary.not_delivered == 0


class Sync:
    """A checked, compiled sync. Build once with `build_sync`, run over many record streams."""

    def __init__(self, config: SyncConfig, spec: DestinationSpec, action: ActionSpec, settings: dict[str, Any],
                 secrets: dict[str, Secret], mapping: CompiledMapping, base_url: str, *,
                 transport: httpx.AsyncBaseTransport | None = None, retry: RetryPolicy | None = None) -> None:
        self.config = config
        self.spec = spec
        self.action_id = config.action
        self.action = action
        self.settings = settings
        self._secrets = secrets
        self.mapping = mapping
        self.base_url = base_url
        self.transport = transport
        self.options = config.options
        self.retry = retry or RetryPolicy(max_attempts=config.options.max_attempts,
                                          max_seconds=config.options.max_retry_seconds,
                                          max_retry_after=config.options.max_retry_after)
        rate = spec.rate_limit_for(action)
        self.concurrency = config.options.concurrency or rate.concurrency
        self.requests_per_second = config.options.requests_per_second or rate.requests_per_second
        self.envelope: Envelope = build_envelope(action.request.body, settings)
        self.key_field = key_field(action)
        context = {"settings": settings}
        self.path = Template(action.request.path).render(context)
        self.path_params = path_parameters(self.path)
        self.method = Template(action.request.method).render(context).upper()
        self.query = {k: Template(v).render(context) for k, v in action.request.query.items()}
        self.headers = {k: Template(v).render(context) for k, v in action.request.headers.items()}
        self._store: StateStore | None = None
        self.catalogs: dict[str, Catalog] | None = None
        self._process: Process | None = None
        self.process_source = ""

    def __repr__(self) -> str:
        return f"Sync(destination={self.spec.id!r}, action={self.action_id!r}, base_url={self.base_url!r})"

    # --- set-up --------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        timeouts = self.spec.timeouts
        return httpx.AsyncClient(
            base_url=self.base_url,
            auth=build_auth(self.action.auth or self.spec.auth, self._secrets, self.settings),
            timeout=httpx.Timeout(self.options.timeout or timeouts.read, connect=timeouts.connect),
            follow_redirects=False,
            transport=self.transport,
            limits=httpx.Limits(max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency * 2),
            headers={"user-agent": "destkit/0.1"},
        )

    def _needed_catalogs(self) -> list[str]:
        names = []
        for f in self.action.fields.values():
            for ref in (f.catalog, f.keys_catalog, f.items.catalog if f.items else None):
                if ref and ref not in names:
                    names.append(ref)
        return names

    async def prepare(self, client: httpx.AsyncClient | None) -> None:
        """Read catalogs, check constants against them and compile the record path. Idempotent."""
        if self._process is not None:
            return
        catalogs: dict[str, Catalog] = {}
        given = self.config.catalogs or {}
        auth_statuses = ErrorTable.from_spec(self.spec.errors_for(self.action)).auth
        for name in self._needed_catalogs():
            spec = self.spec.catalogs[name]
            if name in given:
                catalogs[name] = catalog_from_config(name, spec, given[name])
            elif client is not None:
                catalogs[name] = await fetch_catalog(client, name, spec, auth_statuses, ResponseLimits.from_options(self.options))
            else:
                raise ConfigError([Issue(f"catalogs.{name}", f"the {name} catalog is needed to check records but no network is allowed.",
                                         f"list the values under `catalogs: {{{name}: [...]}}` in the config.")])
        issues = check_constants(catalogs, self.action.fields, self.mapping.constants, self.mapping.object_keys)
        if issues:
            raise ConfigError([Issue(i.key, i.message, i.fix, self.config.source_file, self.config.line_of(i.key)) for i in issues])
        policies = {name: self.options.policy_for(name, c.reason) for name, c in catalogs.items()}
        self.catalogs = catalogs
        self._process, self.process_source = compile_processor(
            self.action, self.settings, catalogs, policies, frozenset(self.mapping.fields), self.key_field, self.mapping,
            self.path_params, self._resolve_destination_id)

    def _resolve_destination_id(self, field_name: str, key: Any) -> str:
        """The id the destination gave `key` on an earlier delivery, from the state store."""
        found = None
        if self._store is not None and key is not None:
            found = self._store.destination_id(self.spec.id, str(key))
        if found is None:
            where = "no state store is in use" if self._store is None else "the state store has no id for it"
            raise RecordError(Reason.UNRESOLVED_ID, field_name,
                              f"{field_name} is not mapped and cannot be looked up for {self.key_field} {key!r} ({where}): "
                              f"deliver the record through destkit first, or map {field_name} from your data.")
        return found

    # --- running -------------------------------------------------------------------------------

    async def apreview(self, records: Iterable[Mapping[str, Any]], limit: int = 5, *, offline: bool = False) -> list[PreviewItem]:
        """The first `limit` records as the destination would receive them, or why they would not be sent."""
        if offline:
            await self.prepare(None)
        else:
            async with self._client() as client:
                await self.prepare(client)
        summary = RunSummary(destination=self.spec.id, action=self.action_id, dry_run=True)
        items: list[PreviewItem] = []
        collected: list[Outcome] = []
        run = _Run(self, None, summary, [collected.append], None, True, False, RunResult(summary))
        for record in records:
            if len(items) >= limit:
                break
            before = len(collected)
            run.batcher = Batcher(self.envelope, 1, 2**62, dedupe=False)
            batch = run.feed(record)
            if batch is None:
                batch = run.batcher.flush()
            if len(collected) > before:
                items.append(PreviewItem(summary.received, None, collected[-1]))
            elif batch is not None:
                items.append(PreviewItem(summary.received, orjson.loads(batch.parts[0]), None,
                                         run.warnings.pop(summary.received, None)))
        return items

    def preview(self, records: Iterable[Mapping[str, Any]], limit: int = 5, *, offline: bool = False) -> list[PreviewItem]:
        return asyncio.run(self.apreview(records, limit, offline=offline))

    def run(self, records: Iterable[Any], **kwargs: Any) -> RunResult:
        """Blocking form of `arun`."""
        return asyncio.run(self.arun(records, **kwargs))

    def dry_run(self, records: Iterable[Any], *, keep_requests: bool = True, offline: bool = False,
                on_outcome: OutcomeCallback | None = None) -> RunResult:
        """Everything but sending: the request bodies that would go out, and every invalid record.

        Catalogs not given in the config are read from the destination (read-only) unless `offline`.
        """
        return asyncio.run(self.arun(records, dry_run=True, keep_requests=keep_requests, offline=offline, on_outcome=on_outcome))

    async def arun(
        self,
        records: Iterable[Any] | AsyncIterable[Any],
        *,
        on_outcome: OutcomeCallback | Iterable[OutcomeCallback] | None = None,
        progress: ProgressCallback | None = None,
        dry_run: bool = False,
        keep_requests: bool = False,
        offline: bool = False,
        run_id: str | None = None,
        state: StateStore | None = None,
        input_ref: str = "",
        resume: RunInfo | None = None,
        only_keys: set[str] | None = None,
        kind: str = "sync",
    ) -> RunResult:
        """Stream `records` to the destination; one outcome per record reaches `on_outcome`.

        With a `state` store the run is recorded (outcomes, checkpoint, dead letters, destination
        ids) and `resume` continues an unfinished run, skipping every row that already has an
        outcome. `only_keys` restricts the run to records with those keys (`destkit retry`).
        """
        callbacks: list[OutcomeCallback] = (
            [] if on_outcome is None else [on_outcome] if callable(on_outcome) else list(on_outcome))
        summary = RunSummary(run_id=run_id or uuid.uuid4().hex[:12], destination=self.spec.id, action=self.action_id, dry_run=dry_run)
        result = RunResult(summary)
        t0 = time.perf_counter()
        self._store = state
        # a dry run whose catalogs are all given needs no client (and skips its TLS set-up)
        needs_client = not dry_run or (not offline and self._process is None and any(
            name not in (self.config.catalogs or {}) for name in self._needed_catalogs()))
        client = self._client() if needs_client else None
        try:
            try:
                await self.prepare(None if (offline and dry_run) else client)
            except AuthFailed as exc:
                summary.aborted = f"auth_failed: {redact(str(exc), self._secrets.values())}"
                summary.duration_s = time.perf_counter() - t0
                return result
            runner = _Run(self, client, summary, callbacks, progress, dry_run, keep_requests, result)
            runner.only_keys = only_keys
            if state is not None and self.options.incremental:
                runner.incremental = state
            recorder = None
            if state is not None and not dry_run:
                recorder = Recorder(state, self.spec.id, summary)
                if resume is not None:
                    recorder.resume(resume)
                    summary.run_id = resume.run_id
                    runner.skip = recorder.skip
                else:
                    summary.run_id = state.start_run(self.spec.id, self.action_id, config_hash(self.config.model_dump()),
                                                     input_ref, kind=kind, run_id=run_id)
                runner.recorder = recorder
            try:
                await runner.go(records)
            finally:
                result.latencies = runner.deliverer.stats.latencies
                if recorder is not None:
                    recorder.flush()
            if recorder is not None:
                recorder.finish()
        finally:
            if client is not None:
                await client.aclose()
        summary.duration_s = time.perf_counter() - t0
        return result


class _Run:
    """The state of one run: producer (sync core) feeding worker tasks (HTTP shell)."""

    def __init__(self, sync: Sync, client: httpx.AsyncClient | None, summary: RunSummary, callbacks: list[OutcomeCallback],
                 progress: ProgressCallback | None, dry_run: bool, keep_requests: bool, result: RunResult) -> None:
        self.sync = sync
        self.summary = summary
        self.callbacks = callbacks
        self.progress = progress
        self.dry_run = dry_run
        self.keep_requests = keep_requests
        self.result = result
        action = sync.action
        self.batcher = Batcher(sync.envelope, action.batch.max_records, action.batch.max_bytes, dedupe=action.batch.key is not None)
        self.max_record_bytes = min(sync.options.max_record_bytes, action.batch.max_bytes - len(sync.envelope.prefix) - len(sync.envelope.suffix))
        errors = sync.spec.errors_for(action)
        self.deliverer = Deliverer(
            client,  # type: ignore[arg-type]  # None only in dry runs, which never send
            sync.method, sync.path, sync.envelope, reader_for(action.response),
            ErrorTable.from_spec(errors, action.response), sync.retry, RateGate(sync.requests_per_second),
            headers=sync.headers, params=sync.query or None, run_id=summary.run_id, path_params=sync.path_params,
            classifier=classifier_for(errors), limits=ResponseLimits.from_options(sync.options), idempotency=Idempotency.of(action))
        self.aborted: str | None = None
        self.secrets = list(sync._secrets.values())
        self.warnings: dict[int, list[dict[str, str]]] = {}
        self.include_payloads = sync.options.include_payloads
        self.incremental: StateStore | None = None  # set by arun when options.incremental and a state store
        self.pending_fingerprints: dict[int, tuple[str, bytes]] = {}
        self.recorder: Recorder | None = None
        self.key_last: dict[object, int] = {}  # key → the last batch registered with it
        self.unfinished: set[int] = set()
        self.key_turn = asyncio.Condition()
        self.skip: Callable[[int], bool] | None = None
        self.only_keys: set[str] | None = None

    # outcomes

    def emit(self, outcome: Outcome) -> None:
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

    def emit_batch(self, outcomes: list[Outcome]) -> None:
        delivered = 0
        callbacks, recorder = self.callbacks, self.recorder
        pending = self.pending_fingerprints
        for o in outcomes:
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
        if self.progress:
            self.progress(self.summary)

    def emit_delivered_dry(self, batch: Batch) -> None:
        if self.callbacks or self.warnings:
            outcomes = [Outcome(row, Status.DELIVERED, None if key is None else str(key))
                        for row, key in zip(batch.rows, batch.keys, strict=True)]
            self.attach_warnings(outcomes)
            for o in outcomes:
                self.emit(o)
        else:
            self.summary.counts[Status.DELIVERED.value] += len(batch)
        self.summary.batches += 1
        self.summary.requests += 1
        body_size = self.batcher.size_of(batch)
        self.summary.bytes_sent += body_size
        if self.keep_requests:
            path = fill_path(self.sync.path, self.sync.path_params, batch.params)
            self.result.requests.append(PreparedRequest(self.sync.method, self.sync.base_url + path,
                                                        self.sync.envelope.join(batch.parts), len(batch)))
        if self.progress:
            self.progress(self.summary)

    def abort_batch(self, batch: Batch, reason: Reason, message: str) -> None:
        for row, key in zip(batch.rows, batch.keys, strict=True):
            self.emit(Outcome(row, Status.DEAD_LETTERED, None if key is None else str(key), reason, None, message))

    # the pipeline

    async def go(self, records: Iterable[Any] | AsyncIterable[Any]) -> None:
        queue: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=self.sync.concurrency)
        workers = [] if self.dry_run else [asyncio.create_task(self.worker(queue)) for _ in range(self.sync.concurrency)]

        async def put(batch: Batch | None) -> None:
            if batch is not None and self.incremental is not None:
                batch = self.skip_unchanged(batch)
            if batch is None:
                return
            if self.dry_run:
                self.emit_delivered_dry(batch)
            elif self.aborted:
                self.abort_batch(batch, Reason.AUTH_FAILED, self.aborted)
            else:
                await queue.put(batch)
                await asyncio.sleep(0)

        try:
            if isinstance(records, AsyncIterable):
                async for record in records:
                    batch = self.feed(record)
                    if batch is not None:
                        await put(batch)
                    if self.aborted:
                        break
            else:
                for record in records:
                    batch = self.feed(record)
                    if batch is not None:
                        await put(batch)
                        if self.aborted:
                            break
            rest = self.batcher.flush()
            if rest is not None:
                await put(rest)
        finally:
            for _ in workers:
                await queue.put(None)
            if workers:
                await asyncio.gather(*workers)
        if self.aborted:
            self.summary.aborted = self.aborted

    def feed(self, record: Any) -> Batch | None:
        """The synchronous core for one record: map, validate, enforce, serialize, batch."""
        summary = self.summary
        summary.received += 1
        row = summary.received
        if self.skip is not None and self.skip(row):
            return None
        if self.only_keys is not None:
            if record.__class__ is not dict or self._key_of(record) not in self.only_keys:
                summary.received -= 1
                return None
            row = summary.received
        if record.__class__ is not dict:
            if isinstance(record, Malformed):
                self.emit(Outcome(row, Status.INVALID, None, Reason.MALFORMED_INPUT, None, record.message))
                return None
            if not isinstance(record, Mapping):
                self.emit(Outcome(row, Status.INVALID, None, Reason.MALFORMED_INPUT, None,
                                  f"record {row} is a {type(record).__name__}, not an object of fields; fix the input."))
                return None
        warnings: list[tuple[str, str, str]] = []
        try:
            key, part, params = self.sync._process(record, warnings)  # type: ignore[misc]
        except RecordError as exc:
            self.emit(self._with_payload(Outcome(row, Status.INVALID, self._key_of(record), exc.code, exc.field,
                                                 exc.message), record))
            return None
        except Exception:  # a transform failed (the mapping names the field) or a value no check expected
            self.emit(self._with_payload(self._explain_failure(row, record), record))
            return None
        if b"null" in part and (error := unsendable(self.sync.mapping.apply(record))) is not None:
            # orjson writes NaN and infinity as null, which would clear the value in the destination
            self.emit(Outcome(row, Status.INVALID, None if key is None else str(key), error.code, error.field, error.message))
            return None
        if len(part) > self.max_record_bytes:
            self.emit(Outcome(row, Status.INVALID, None if key is None else str(key), Reason.TOO_LARGE, None,
                              f"the record's body is {len(part)} bytes, over the limit of {self.max_record_bytes}; trim large fields."))
            return None
        if warnings:
            self.warnings[row] = [{"reason": c, "field": f, "message": m} for c, f, m in warnings]
        return self.batcher.add(row, key, part, params)

    def _with_payload(self, outcome: Outcome, record: Mapping[str, Any]) -> Outcome:
        """With options.include_payloads, an invalid record's report line shows what it mapped to."""
        if self.include_payloads:
            try:
                outcome.payload = {k: v for k, v in self.sync.mapping.apply(record).items() if v is not None}
            except Exception:
                outcome.payload = {"source": dict(record)}
        return outcome

    def _explain_failure(self, row: int, record: Mapping[str, Any]) -> Outcome:
        """The slow path after the fused function raised something other than RecordError."""
        key = self._key_of(record)
        try:
            payload = self.sync.mapping.apply(record)
        except RecordError as exc:
            return Outcome(row, Status.INVALID, key, exc.code, exc.field, exc.message)
        error = unsendable(payload)
        if error is not None:
            return Outcome(row, Status.INVALID, key, error.code, error.field, error.message)
        return Outcome(row, Status.INVALID, key, Reason.TYPE_MISMATCH, None,
                       "a value has an unexpected type; check the record's fields against the action's schema.")

    def _key_of(self, record: Mapping[str, Any]) -> str | None:
        if self.sync.key_field is None:
            return None
        value = self.sync.mapping.field_value(record, self.sync.key_field)
        return None if value is None or value == "" else str(value)

    async def _wait_turn(self, batch: Batch) -> None:
        """Batches sharing a key are delivered in input order, even across workers and retries.

        Called right after the batch is taken from the queue (queue order is input order), before
        any await. Each key remembers the last batch registered with it; a batch waits until every
        such earlier batch has finished, so a retried older value can never land after a newer one.
        """
        last = self.key_last
        seq = batch.seq
        keys = [k for k in batch.keys if k is not None]  # records without a key have no order to keep
        deps = {last[k] for k in keys if k in last}
        last.update(dict.fromkeys(keys, seq))
        self.unfinished.add(seq)
        if deps & self.unfinished:
            async with self.key_turn:
                await self.key_turn.wait_for(lambda: not (deps & self.unfinished))

    async def _done_turn(self, batch: Batch) -> None:
        last = self.key_last
        seq = batch.seq
        self.unfinished.discard(seq)
        for k in batch.keys:
            if k is not None and last.get(k) == seq:
                del last[k]
        async with self.key_turn:
            self.key_turn.notify_all()

    async def worker(self, queue: asyncio.Queue[Batch | None]) -> None:
        ordered = self.sync.action.batch.key is not None
        while True:
            batch = await queue.get()
            if batch is None:
                return
            if ordered:
                await self._wait_turn(batch)
            try:
                await self._deliver_batch(batch)
            finally:
                if ordered:
                    await self._done_turn(batch)

    async def _deliver_batch(self, batch: Batch) -> None:
        if self.aborted:
            self.abort_batch(batch, Reason.AUTH_FAILED, self.aborted)
            return
        try:
            outcomes = await self.deliverer.deliver(batch)
        except AuthFailed as exc:
            self.aborted = f"auth_failed: {redact(str(exc), self.secrets)}"
            self.abort_batch(batch, Reason.AUTH_FAILED, self.aborted)
            return
        except Exception as exc:  # never lose a batch to a bug in the shell
            outcomes = [Outcome(row, Status.DEAD_LETTERED, None if key is None else str(key), Reason.CONNECTION_ERROR, None,
                                f"delivery failed unexpectedly ({type(exc).__name__}); the record will be retried by the next run.")
                        for row, key in zip(batch.rows, batch.keys, strict=True)]
        finally:
            stats = self.deliverer.stats
            self.summary.requests, self.summary.retries, self.summary.bytes_sent = stats.requests, stats.retries, stats.bytes_sent
        self.attach_warnings(outcomes)
        if self.include_payloads:
            sent = dict(zip(batch.rows, batch.parts, strict=True))
            for o in outcomes:
                if o.status is not Status.DELIVERED and o.row in sent:
                    o.payload = orjson.loads(sent[o.row])
        self.emit_batch(outcomes)

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
                self.emit(Outcome(row, Status.SKIPPED, key, Reason.UNCHANGED, None,
                                  "nothing changed since this record was last delivered; not sent."))
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


__all__ = ["PreparedRequest", "PreviewItem", "RunResult", "Sync"]
