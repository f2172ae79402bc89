"""Mirror mode: the destination's audience follows the input, adds and removals both.

While the input streams, each valid record is also rendered as its removal request would send it
(`hold`); once the destination confirms a record (delivered, or skipped as unchanged), it is a
member and that removal body is kept in the state store's membership table, with the run that saw
it (`note`, written with the run's outcomes). After a run that read its whole input, the members it
did not see left the audience: they are sent to the action's removal request, a page at a time,
each with an outcome of its own (`operation: remove`); only confirmed removals leave the table, so
a failed one is tried again by the next run.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from destkit.mapping import Template
from destkit.mapping.errors import TransformError
from destkit.runtime.config.secrets import redact
from destkit.runtime.delivery.batching import Batch, Batcher, SessionCounters
from destkit.runtime.delivery.extensions import classifier_for, reader_for
from destkit.runtime.delivery.retry import RateGate
from destkit.runtime.delivery.sender import Deliverer, ErrorTable, Idempotency, ResponseLimits
from destkit.runtime.engine.membership import Member, Membership, MembershipChanges, audience_of
from destkit.runtime.engine.state import StateStore
from destkit.runtime.errors import AuthFailed, ConfigError, Issue
from destkit.runtime.outcomes import Operation, Outcome, OutcomeCallback, Reason, RunSummary, Status
from destkit.runtime.record.compiler import Process, compile_processor
from destkit.runtime.record.normalize import DIGESTS, as_names, build_normalizer
from destkit.runtime.spec.body_template import REMOVE, build_envelope
from destkit.runtime.spec.models import ActionSpec
from destkit.runtime.spec.vocabulary import path_parameters

if TYPE_CHECKING:  # the sync builds mirrors, so this module may not import it at run time
    from destkit.runtime.engine.sync import Sync


def removal_of(sync: Sync) -> ActionSpec:
    """The action as its removals are sent; a ConfigError naming the fix when it has no `remove:`."""
    removal = sync.action.removal()
    if removal is None:
        raise ConfigError([no_remove_request(sync.action_id, sync.config.source_file, sync.config.line_of("options.mirror"))])
    return removal


def no_remove_request(action_id: str, file: str | None = None, line: int | None = None) -> Issue:
    return Issue("options.mirror", f"mirror removes members who left the audience, but the action '{action_id}' "
                 "declares no removal request.", "remove `mirror: true`, or use an action whose spec declares `remove:`.",
                 file, line)


def no_state_store(sync: Sync) -> ConfigError:
    return ConfigError([Issue("options.mirror", "mirror needs a state store: it removes the members delivered by an "
                              "earlier run that are absent now, and only a state store remembers them.",
                              "run with a state store (drop --no-state, or pass state= to arun), or remove `mirror: true`.",
                              sync.config.source_file, sync.config.line_of("options.mirror"))])


@dataclass(frozen=True)
class RemovalRequest:
    """The removal request, rendered with the settings, and the function that renders a member's record for it."""

    method: str
    path: str
    path_params: tuple[str, ...]
    query: dict[str, str]
    headers: dict[str, str]
    action: ActionSpec
    process: Process


def removal_request(sync: Sync, removal: ActionSpec) -> RemovalRequest:
    context = {"settings": sync.settings}
    request = removal.request
    path = Template(request.path).render(context)
    params = path_parameters(path)
    catalogs = sync.catalogs or {}
    policies = {name: sync.options.policy_for(name, c.reason) for name, c in catalogs.items()}
    process, _ = compile_processor(removal, sync.settings, catalogs, policies, frozenset(sync.mapping.fields),
                                   sync.key_field, sync.mapping, params, sync.resolve_destination_id, operation=REMOVE)
    return RemovalRequest(Template(request.method).render(context).upper(), path, params,
                          {k: Template(v).render(context) for k, v in request.query.items()},
                          {k: Template(v).render(context) for k, v in request.headers.items()}, removal, process)


def member_key_of(sync: Sync) -> Callable[[str], str]:
    """The key a member is kept by (the key field's `normalize:` and `hash:` applied), from a key as the source
    had it; the same for a key already made so. A value a step refuses is left as it is."""
    field = sync.action.fields.get(sync.key_field) if sync.key_field is not None else None
    if field is None or (field.normalize is None and field.hash is None):
        return str
    normalize = build_normalizer(as_names(field.normalize))
    digest = DIGESTS[field.hash] if field.hash is not None else None

    def member_key(key: str) -> str:
        if digest is not None and digest[0].fullmatch(key.strip()):
            return key.strip().lower()  # already a digest: sent (and kept) as it is
        try:
            made = normalize(key)
        except TransformError:
            return key
        if made is None:
            return key
        return made if digest is None else digest[1](made)

    return member_key


class Mirror:
    """One run's mirror: membership bookkeeping while the input streams, then the removals."""

    def __init__(self, sync: Sync, store: StateStore) -> None:
        self.sync = sync
        self.removal = removal_request(sync, removal_of(sync))
        self.member_key = member_key_of(sync)
        self.membership = Membership(store, sync.spec.id, sync.action_id,
                                     audience_of(sync.spec.id, sync.action_id, sync.settings))
        self.pending: dict[int, Member] = {}  # row → its member, until the row's outcome says whether it is one
        self.changes = MembershipChanges()
        self.aborted: str | None = None
        self.secrets = sync.secret_values()

    # while the input streams

    def hold(self, row: int, record: Any) -> None:
        """Render a valid record as its removal would send it, until its outcome is known."""
        try:
            key, body, params = self.removal.process(record, [])
        except Exception:  # a record the removal cannot render stays a member only while seen
            return
        if key is not None:
            self.pending[row] = Member(str(key), body, params)

    def note(self, outcome: Outcome) -> None:
        """A record's outcome: a confirmed member (delivered, or unchanged since), or a key seen this run."""
        member = self.pending.pop(outcome.row, None)
        if outcome.key is None:
            return
        confirmed = outcome.status is Status.DELIVERED or (
            outcome.status is Status.SKIPPED and outcome.reason is Reason.UNCHANGED)
        if member is not None and confirmed:
            self.changes.confirmed.append(member)
        else:  # an invalid record's key is as the source had it; the member's is normalised
            self.changes.seen.append(self.member_key(outcome.key))

    def writer(self, run_id: str) -> Callable[[sqlite3.Connection], None] | None:
        """What writes the membership changes so far, in the transaction that records their outcomes."""
        changes = self.changes
        if not changes:
            return None
        return lambda db: self.membership.write(db, run_id, changes)

    def take_changes(self) -> MembershipChanges:
        changes, self.changes = self.changes, MembershipChanges()
        return changes

    # after the input

    async def remove_departed(self, client: httpx.AsyncClient, run_id: str, summary: RunSummary,
                              callbacks: list[OutcomeCallback], stopped: Callable[[], bool]) -> None:
        """Send every member run `run_id` did not see to the removal request, `concurrency` batches at a time.

        `stopped()` is checked between rounds: a stop request ends the removals (the rest wait for the next run).
        """
        deliverer = self._deliverer(client, run_id)
        action = self.removal.action
        batcher = Batcher(deliverer.envelope, action.batch.max_records, action.batch.max_bytes, dedupe=False)
        # a body naming `$session.*` values: the removals are a session of their own, numbered like the adds
        counters = SessionCounters(SessionCounters.id_of(f"{run_id}:removals")) if deliverer.envelope.session else None
        ready: list[Batch] = []
        number = 0
        for page in self.membership.departed(run_id):
            for member in page:
                number += 1
                batch = batcher.add(number, member.key, member.body, member.params)
                if batch is not None:
                    ready.extend(_numbered(counters, batch))
            if len(ready) >= self.sync.concurrency:
                await self._send_round(deliverer, ready, summary, callbacks)
                ready = []
            if self.aborted or stopped():
                return
        ready.extend(_numbered(counters, batcher.flush(), final=True))
        await self._send_round(deliverer, ready, summary, callbacks)

    def _deliverer(self, client: httpx.AsyncClient, run_id: str) -> Deliverer:
        sync, request, action = self.sync, self.removal, self.removal.action
        errors = sync.spec.errors_for(action)
        return Deliverer(
            client, request.method, request.path, build_envelope(action.request.body, sync.settings, REMOVE),
            reader_for(action.response), ErrorTable.from_spec(errors, action.response), sync.retry,
            RateGate(sync.requests_per_second), headers=request.headers, params=request.query or None, run_id=run_id,
            path_params=request.path_params, classifier=classifier_for(errors),
            limits=ResponseLimits.from_options(sync.options), idempotency=Idempotency.of(action),
            secrets=self.secrets, rate_headers=sync.spec.rate_limit_for(action).headers)

    async def _send_round(self, deliverer: Deliverer, batches: list[Batch], summary: RunSummary,
                          callbacks: list[OutcomeCallback]) -> None:
        if not batches or self.aborted:
            return
        before = (deliverer.stats.requests, deliverer.stats.retries, deliverer.stats.bytes_sent)
        results = await asyncio.gather(*(self._deliver(deliverer, b) for b in batches))
        stats = deliverer.stats
        summary.requests += stats.requests - before[0]
        summary.retries += stats.retries - before[1]
        summary.bytes_sent += stats.bytes_sent - before[2]
        summary.batches += len(batches)
        removed: list[str] = []
        for outcomes in results:
            for o in outcomes:
                self._emit(o, summary, callbacks)
                if o.status is Status.DELIVERED and o.key is not None:
                    removed.append(o.key)
        self.membership.forget(removed)

    async def _deliver(self, deliverer: Deliverer, batch: Batch) -> list[Outcome]:
        """One removal batch's outcomes; an auth failure stops the removals (the rest are tried next run)."""
        if self.aborted:
            return _dead(batch, Reason.AUTH_FAILED, self.aborted)
        try:
            return await deliverer.deliver(batch)
        except AuthFailed as exc:
            self.aborted = f"auth_failed: {redact(str(exc), self.secrets)}"
            return _dead(batch, Reason.AUTH_FAILED, self.aborted)
        except Exception as exc:  # never lose a batch to a bug in the shell
            return _dead(batch, Reason.CONNECTION_ERROR, f"removal failed unexpectedly ({type(exc).__name__}); "
                         "the member will be removed by the next run.")

    def _emit(self, outcome: Outcome, summary: RunSummary, callbacks: list[OutcomeCallback]) -> None:
        outcome.row = 0  # a removal is no input row
        outcome.operation = Operation.REMOVE
        if self.secrets and outcome.status is not Status.DELIVERED:
            if outcome.destination_message:
                outcome.destination_message = redact(outcome.destination_message, self.secrets)
            if outcome.message:
                outcome.message = redact(outcome.message, self.secrets)
        summary.add_removal(outcome)
        for cb in callbacks:
            cb(outcome)


def _numbered(counters: SessionCounters | None, batch: Batch | None, *, final: bool = False) -> list[Batch]:
    """The batches ready to send: all of them without session counters, else as the counters release them."""
    if counters is None:
        return [] if batch is None else [batch]
    return counters.number(batch, final=final)


def _dead(batch: Batch, reason: Reason, message: str) -> list[Outcome]:
    return [Outcome(row=row, status=Status.DEAD_LETTERED, key=None if key is None else str(key), reason=reason,
                    message=message) for row, key in zip(batch.rows, batch.keys, strict=True)]


def removals_unsafe(unreadable: int, rows: int, allow_empty: bool) -> str | None:
    """Why a mirror run that read its whole input must still remove nobody, or None (one process and Spark's
    stage 2 ask the same): an unreadable row has no key, so any member may be that row; and an input of no
    row (an export that came out empty) would remove them all, unless `options.allow_empty_mirror`."""
    if unreadable:
        return (f"{unreadable:,} row{'s' if unreadable > 1 else ''} of the input could not be read (malformed_input): "
                "no member was removed; fix the input and run again")
    if rows == 0 and not allow_empty:
        return ("the input held no records: no member was removed (it would have removed them all); set "
                "options.allow_empty_mirror: true to empty the audience")
    return None


__all__ = ["Mirror", "no_remove_request", "no_state_store", "removal_of", "removals_unsafe"]
