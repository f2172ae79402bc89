"""A sync: one destination action, configured and checked once, run over any stream of records.

`build_sync` does every check that needs no network (spec, settings, secrets, mapping, base URL);
`Sync.arun` reads the catalogs and checks the mapping's constants against them before the first
record, then streams records through map → validate → enforce → batch → deliver, emitting exactly
one outcome per record. Memory is O(batch size * concurrency), never O(audience).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
import uuid
from collections.abc import AsyncIterable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from destkit.mapping import (
    CompiledMapping,
    MappingReason,
    RecordError,
    Template,
)
from destkit.runtime.config.model import SyncConfig
from destkit.runtime.config.secrets import Secret, redact
from destkit.runtime.config.source_paths import source_columns
from destkit.runtime.delivery.auth import build_auth
from destkit.runtime.delivery.batching import Batcher
from destkit.runtime.delivery.catalogs import catalog_from_config, check_constants, fetch_catalog
from destkit.runtime.delivery.cookies import reading_cookies_when_set
from destkit.runtime.delivery.exchange import tls_context
from destkit.runtime.delivery.lanes import LanePool
from destkit.runtime.delivery.oauth2 import TokenEndpoint
from destkit.runtime.delivery.retry import RetryPolicy
from destkit.runtime.delivery.sender import ErrorTable, ResponseLimits
from destkit.runtime.engine.arrow_records import arrow_aware
from destkit.runtime.engine.locking import RunLock
from destkit.runtime.engine.mirror import Mirror, no_state_store
from destkit.runtime.engine.pipeline import Pipeline
from destkit.runtime.engine.policy import RunMode, RunPlan, plan_of_keywords, plan_run, sync_hash
from destkit.runtime.engine.recorder import Recorder
from destkit.runtime.engine.records_argument import check_records_argument
from destkit.runtime.engine.results import PreparedRequest, PreviewItem, ProgressCallback, RunResult
from destkit.runtime.engine.state import RunInfo, StateStore, config_hash
from destkit.runtime.engine.stopping import StopRequest
from destkit.runtime.engine.workers import WorkerJob, check_workers, run_in_workers
from destkit.runtime.errors import AuthFailed, ConfigError, InternalError, Issue
from destkit.runtime.outcomes import Outcome, OutcomeCallback, RunSummary
from destkit.runtime.record.checks import Catalog
from destkit.runtime.record.compiler import Process, compile_processor
from destkit.runtime.spec.body_template import Envelope, build_envelope
from destkit.runtime.spec.models import ActionSpec, DestinationSpec
from destkit.runtime.spec.vocabulary import key_field, path_parameters


def default_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """A pool of its own per connection (`LanePool`): httpx's walks all of them on every request (~2 µs a record
    at c=16). None (httpx's own pool) when the environment names a proxy (HTTPS_PROXY, ALL_PROXY, ...): httpx
    honours those only with its own transport, and a sync behind a proxy must still reach the destination."""
    return None if urllib.request.getproxies() else LanePool(limits=limits, verify=tls_context())


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
        self._scrub: list[Secret] = list(secrets.values())  # grows with the tokens an oauth2 flow is issued
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
        self.token_endpoint: TokenEndpoint | None = None  # an oauth2 block's checked token URL (build_sync sets it)
        self.catalogs: dict[str, Catalog] | None = None
        self._process: Process | None = None
        self.process_source = ""

    @property
    def processor(self) -> Process:
        """The compiled record path (map, check, serialize); `prepare` makes it."""
        if self._process is None:
            raise InternalError("the sync is not prepared: call `prepare` before building a pipeline")
        return self._process

    def secret_values(self) -> list[Secret]:
        """The resolved secrets and the tokens issued since, for scrubbing messages (each still prints as ***).

        The same list every time, so a deliverer holding it also scrubs a token fetched after it was made."""
        return self._scrub

    def __repr__(self) -> str:
        return f"Sync(destination={self.spec.id!r}, action={self.action_id!r}, base_url={self.base_url!r})"

    # --- set-up --------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        timeouts = self.spec.timeouts
        limits = httpx.Limits(max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency * 2)
        return reading_cookies_when_set(httpx.AsyncClient(
            base_url=self.base_url,
            auth=build_auth(self.action.auth or self.spec.auth, self._secrets, self.settings, self.token_endpoint,
                            self._scrub),
            timeout=httpx.Timeout(self.options.timeout or timeouts.read, connect=timeouts.connect),
            follow_redirects=False,
            transport=self.transport if self.transport is not None else default_transport(limits),
            limits=limits,
            headers={"user-agent": "destkit/0.1"},
            verify=tls_context(),  # one per process: building it costs ~50 ms of CPU per run
        ))

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
            self.path_params, self.resolve_destination_id)

    def use_state(self, state: StateStore | None) -> None:
        """The state store the record path looks destination ids up in (a worker process opens its own)."""
        self._store = state

    def resolve_destination_id(self, field_name: str, key: Any) -> str:
        """The id the destination gave `key` on an earlier delivery, from the state store."""
        found = None
        if self._store is not None and key is not None:
            found = self._store.destination_id(self.spec.id, str(key))
        if found is None:
            where = "no state store is in use" if self._store is None else "the state store has no id for it"
            raise RecordError(MappingReason.UNRESOLVED_ID, field_name,
                              f"{field_name} is not mapped and cannot be looked up for {self.key_field} {key!r} ({where}): "
                              f"deliver the record through destkit first, or map {field_name} from your data.")
        return found

    # --- running -------------------------------------------------------------------------------

    async def apreview(self, records: Iterable[Mapping[str, Any]], limit: int = 5, *, offline: bool = False) -> list[PreviewItem]:
        """The first `limit` records as the destination would receive them, or why they would not be sent."""
        check_records_argument(records)
        if offline:
            await self.prepare(None)
        else:
            async with self._client() as client:
                await self.prepare(client)
        summary = RunSummary(destination=self.spec.id, action=self.action_id, dry_run=True)
        items: list[PreviewItem] = []
        collected: list[Outcome] = []
        run = Pipeline(self, None, summary, [collected.append], None, True, False, RunResult(summary))
        for record in records:
            if len(items) >= limit:
                break
            before = len(collected)
            run.batcher = Batcher(self.envelope, 1, 2**62, dedupe=False)
            batch = run.feed(record)
            if batch is None:
                batch = run.batcher.flush()
            if len(collected) > before:
                items.append(PreviewItem(run.rows_read, None, collected[-1]))
            elif batch is not None:
                items.append(PreviewItem(run.rows_read, orjson.loads(batch.parts[0]), None,
                                         run.warnings.pop(run.rows_read, None)))
        return items

    def preview(self, records: Iterable[Mapping[str, Any]], limit: int = 5, *, offline: bool = False) -> list[PreviewItem]:
        return asyncio.run(self.apreview(records, limit, offline=offline))

    def run(self, records: Iterable[Any], **kwargs: Any) -> RunResult:
        """Blocking form of `arun`."""
        return asyncio.run(self.arun(records, **kwargs))

    def dry_run(self, records: Iterable[Any], *, keep_requests: bool = True, offline: bool = False,
                on_outcome: OutcomeCallback | None = None, workers: int = 1) -> RunResult:
        """Everything but sending: the request bodies that would go out, and every invalid record.

        Catalogs not given in the config are read from the destination (read-only) unless `offline`.
        """
        return asyncio.run(self.arun(records, dry_run=True, keep_requests=keep_requests, offline=offline, on_outcome=on_outcome,
                                     workers=workers))

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
        mode: RunMode | str = RunMode.SYNC,
        plan: RunPlan | None = None,
        resume: RunInfo | None = None,
        only_keys: Iterable[str] | None = None,
        kind: str | None = None,
        stop: StopRequest | None = None,
        include_unknown: bool = False,
        workers: int = 1,
    ) -> RunResult:
        """Stream `records` to the destination; one outcome per record reaches `on_outcome`.

        `records` are dicts, or Arrow data: a pyarrow Table, RecordBatch, RecordBatchReader or an
        iterable of RecordBatches, whose rows are converted (`engine.arrow_records`).

        With a `state` store the run is recorded (outcomes, checkpoint, dead letters, destination
        ids) under `input_ref` (the input's version, e.g. `engine.input_ref(path)` for a file), and
        `mode` applies the run policy of `destkit.runtime.engine.policy`, as the CLI does:
        ``"resume"`` continues the last unfinished run of this config and input, skipping every row
        that already has an outcome (`InputChanged` if that run read another version of the input);
        ``"retry"`` sends only the records whose latest outcome is rejected or dead-lettered (with
        `include_unknown`, also those dead-lettered as `unknown_delivery`), and reads nothing when
        there are none. `plan` is a plan made beforehand with `plan_run`; `result.plan` says what
        was done. A recorded run holds the run lock of its state store, config and input
        (`RunLocked` when another process holds it).

        `stop` (a `StopRequest`) ends the run early and cleanly: `result.stopped` says why. A
        failure that is not a record's (the state store or an outcome callback cannot be written)
        raises `RunFailed` at once, naming the cause; what was recorded stays recorded.
        Lower level, kept for earlier callers: `resume` (continue this run), `only_keys` (only
        records with these keys) and `kind` (what the store records the run as).

        `workers` > 1 spreads the run over that many forked processes (`destkit.runtime.engine.workers`):
        same outcomes, same recording, the destination's limits split between them.
        """
        check_records_argument(records)
        check_workers(self, workers)
        if self.options.mirror and state is None and not dry_run:
            raise no_state_store(self)
        # a pyarrow Table / RecordBatch(es) / reader: its rows as records, only the columns the run reads converted
        records = arrow_aware(records, source_columns(self.config.mapping, self.options.primary_key))
        lock = None if state is None or dry_run else RunLock.of(state, sync_hash(self), plan.input_ref if plan else input_ref)
        with lock if lock is not None else contextlib.nullcontext():
            if plan is None:
                plan = plan_of_keywords(input_ref, resume, only_keys, kind) or plan_run(
                    self, state, mode=mode, input_ref=input_ref, include_unknown=include_unknown)
            summary = RunSummary(run_id=run_id or uuid.uuid4().hex[:12], destination=self.spec.id,
                                 action=self.action_id, dry_run=dry_run)
            result = RunResult(summary, plan=plan)
            if plan.nothing_to_do:  # a retry with nothing to send again reads no record and records no run
                return result
            run = RunOptions(_callback_list(on_outcome), progress, dry_run, keep_requests, offline, stop, workers)
            await self._run_planned(records, state, lock, run, result)
        return result

    async def _run_planned(self, records: Iterable[Any] | AsyncIterable[Any], state: StateStore | None,
                           lock: RunLock | None, run: RunOptions, result: RunResult) -> None:
        summary, plan = result.summary, result.plan
        assert plan is not None
        t0 = time.perf_counter()
        self._store = state
        client = self._client() if self._needs_client(run.dry_run, run.offline) else None
        try:  # the client is closed only once every worker task has ended (`Pipeline.go` waits for them)
            if await self._prepared(None if (run.offline and run.dry_run) else client, summary):
                recorder = None if state is None or run.dry_run else self._recorder(state, plan, summary)
                if lock is not None:
                    lock.note_run(summary.run_id)
                mirror = None if recorder is None or not self.options.mirror else Mirror(self, recorder.state)
                if recorder is not None:
                    recorder.mirror = mirror
                # a mirror run is incremental: unchanged members are not sent again
                incremental = self.options.incremental or mirror is not None
                if run.workers > 1:  # the same run spread over processes (mirror runs never are: check_workers)
                    await run_in_workers(self, records, WorkerJob(
                        run.workers, recorder, plan, run.callbacks, run.progress, run.dry_run, run.keep_requests,
                        run.stop, state, incremental and state is not None, self._client), result)
                else:
                    runner = Pipeline(self, client, summary, run.callbacks, run.progress, run.dry_run,
                                      run.keep_requests, result)
                    runner.arm(plan, recorder, state if incremental else None, run.stop, mirror)
                    await runner.run(records)
        finally:
            if client is not None:
                await client.aclose()
        summary.duration_s = time.perf_counter() - t0

    def _needs_client(self, dry_run: bool, offline: bool) -> bool:
        """A dry run whose catalogs are all given needs no client (and skips its TLS set-up)."""
        if not dry_run:
            return True
        given = self.config.catalogs or {}
        return not offline and self._process is None and any(name not in given for name in self._needed_catalogs())

    async def _prepared(self, client: httpx.AsyncClient | None, summary: RunSummary) -> bool:
        """`prepare`; False, with the summary marked aborted, when the destination refuses the credentials."""
        try:
            await self.prepare(client)
        except AuthFailed as exc:
            summary.aborted = f"auth_failed: {redact(str(exc), self._scrub)}"
            return False
        return True

    def _recorder(self, state: StateStore, plan: RunPlan, summary: RunSummary) -> Recorder:
        """The recorder of this run in the store: the resumed run's, or a new run's under the summary's id."""
        recorder = Recorder(state, self.spec.id, summary)
        if plan.resume is not None:
            recorder.resume(plan.resume)
            summary.run_id = plan.resume.run_id
        else:
            summary.run_id = state.start_run(self.spec.id, self.action_id, config_hash(self.config.model_dump()),
                                             plan.input_ref, kind=plan.kind, run_id=summary.run_id)
        return recorder


@dataclass(frozen=True)
class RunOptions:
    """How `arun` was asked to run, handed on to its pipeline."""

    callbacks: list[OutcomeCallback]
    progress: ProgressCallback | None
    dry_run: bool
    keep_requests: bool
    offline: bool
    stop: StopRequest | None
    workers: int = 1


def _callback_list(on_outcome: OutcomeCallback | Iterable[OutcomeCallback] | None) -> list[OutcomeCallback]:
    if on_outcome is None:
        return []
    return [on_outcome] if callable(on_outcome) else list(on_outcome)


__all__ = ["PreparedRequest", "PreviewItem", "ProgressCallback", "RunResult", "Sync"]
