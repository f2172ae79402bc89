"""Deliver one batch: send, classify the answer, retry what can still succeed, split what was refused.

Returns exactly one terminal outcome per record of the batch. What an answer means is decided by
`classify.py` (or the spec's classifier hook); this module only acts on it. Raises `AuthFailed`
when the answer says stop (401/403), since every further request would fail the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from destkit.mapping.json_exact import exact_value, may_hold_long_integer
from destkit.runtime.config.secrets import Secret, may_mention, redact
from destkit.runtime.delivery.batching import Batch
from destkit.runtime.delivery.classify import (
    MAYBE_APPLIED,
    TRANSIENT_RECORDS,
    Action,
    ErrorTable,
    Resolution,
    classify,
    classify_no_reply,
)
from destkit.runtime.delivery.clipping import MAX_CODE_CHARS, clip
from destkit.runtime.delivery.collector import collector_paused
from destkit.runtime.delivery.delivered import DeliveredRows
from destkit.runtime.delivery.exchange import DEFAULT_LIMITS, NoReply, Reply, ResponseLimits, exchange
from destkit.runtime.delivery.extensions import Classifier, ResultReader
from destkit.runtime.delivery.idempotency import IDEMPOTENT, Idempotency
from destkit.runtime.delivery.jobs import NO_LEDGER, JobFollower, JobLedger
from destkit.runtime.delivery.reading import ItemResult, ResponseReader
from destkit.runtime.delivery.retry import Clock, RateGate, RateHeaders, RetryPolicy, Sleep
from destkit.runtime.errors import AuthFailed
from destkit.runtime.outcomes import Outcome, Reason, Status
from destkit.runtime.record.compiler import fill_path
from destkit.runtime.spec.body_template import Envelope
from destkit.runtime.spec.models import JobSpec

log = logging.getLogger("destkit.deliver")

_SEND_AGAIN = frozenset({Action.RETRY, Action.RATE_LIMITED})
# how a delivery treats its delivered records: an Outcome each (False), none (True), or columns (`deliver`)
Lean = bool | DeliveredRows
Settled = tuple[list[Outcome], Batch | None]  # the outcomes an answer settles, and the batch of records to send again


@dataclass
class DeliveryStats:
    requests: int = 0
    retries: int = 0
    bytes_sent: int = 0
    latencies: list[float] = field(default_factory=list)
    throttle_waits: int = 0  # times the destination paced us (a 429): every sender held, `throttled_s` in all
    throttled_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Answer:
    """One attempt's answer: its status (None when there was none), decoded body and classification.

    `echoes_secret`: the raw answer may hold a secret in some form, so what is read from it is scrubbed.
    `unscanned`: a success's raw answer, not yet searched for secrets: that search (`Deliverer.echoes`) is
    made only when a string is read from it, which a lean run whose records all succeeded never does.
    """

    status: int | None
    body: Any
    resolution: Resolution
    echoes_secret: bool = False
    unscanned: bytes = b""


def decode_body(content: bytes) -> Any:
    """The decoded JSON; None when empty; the bytes themselves when they are not JSON."""
    if not content:
        return None
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        return content
    # an id past 64 bits would come back rounded from orjson: such a body is read again, exactly
    return exact_value(content, value) if may_hold_long_integer(content) else value


@dataclass(slots=True)
class Tries:
    """A batch's requests so far, and how many failed.

    A 429 that says when to come back (a Retry-After above 0) is no failure: the destination is pacing
    us, so it spends time (`max_seconds`), not attempts. A bare 429 (or "Retry-After: 0") gives no
    pace: it counts like a 503, which bounds the requests spent guessing one.
    """

    attempt: int = 0
    failures: int = 0

    def wait_after(self, resolution: Resolution, policy: RetryPolicy) -> float:
        """Count the answer; the seconds to wait before the next attempt (the backoff grows per failure)."""
        if resolution.action is Action.RATE_LIMITED and resolution.wait:
            return policy.delay(self.attempt, resolution.wait)
        self.failures += 1
        return policy.delay(self.failures, resolution.wait)

    def exhausted(self, policy: RetryPolicy) -> bool:
        return self.failures >= policy.max_attempts


class Deliverer:
    def __init__(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        envelope: Envelope,
        reader: ResultReader,
        errors: ErrorTable,
        policy: RetryPolicy,
        gate: RateGate,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        run_id: str = "",
        path_params: tuple[str, ...] = (),
        classifier: Classifier = classify,
        limits: ResponseLimits = DEFAULT_LIMITS,
        idempotency: Idempotency = IDEMPOTENT,
        secrets: Sequence[Secret] = (),
        rate_headers: RateHeaders | None = None,
        wall_clock: Clock = time.time,
        job: JobSpec | None = None,
        ledger: JobLedger = NO_LEDGER,
    ) -> None:
        self.rate_headers = rate_headers  # the spec's rate-limit header family: a spent budget pauses every sender
        self.wall_clock = wall_clock  # dates an epoch-seconds reset header
        self.path_params = path_params
        self.client = client
        self.method = method
        self.path = path
        self.envelope = envelope
        self.reader = reader
        self.errors = errors
        self.classifier = classifier
        self.policy = policy
        self.gate = gate
        self.limits = limits
        self.idempotency = idempotency
        self.headers = {**({} if envelope.empty else {"content-type": "application/json"}), **(headers or {})}
        self.params = dict(params) if params else None
        self.clock = clock
        self.sleep = sleep
        self.stats = DeliveryStats()
        self.run_id = run_id
        # scrubbed from every string the destination sends before it is an outcome; a list is kept as it is
        # (not copied), so the tokens an auth flow adds to it later are scrubbed too
        self.secrets: Sequence[Secret] = secrets if isinstance(secrets, list) else tuple(secrets)
        self.job = None if job is None else JobFollower(self, job, ledger)  # the answer names a job to follow
        self.urls: dict[str, httpx.URL] = {}  # each batch path joined to the client's base URL once (`url_of`)

    async def deliver(self, batch: Batch, budget: list[int] | None = None, *, lean: Lean = False) -> list[Outcome]:
        """Send until every record of `batch` has a terminal outcome; only unfinished records are resent.

        `budget` caps the extra requests spent splitting a refused batch (shared by its halves), so a
        refusal that no split can cure costs O(log n) requests, not 2n. `lean`: records delivered need
        no outcome object (nothing records or watches them), so the list may leave them out; every
        record missing from it was delivered. A `DeliveredRows` as `lean`: the same, but a record
        delivered in the common answer is added to it as columns, for a state store to record.
        """
        if budget is None:
            budget = [4 * max(len(batch), 2).bit_length() + 4]
        started = self.clock()
        done: list[Outcome] = []
        pending = batch
        tries = Tries()
        while True:
            tries.attempt += 1
            reply = await self._send(pending, batch.seq, tries.attempt)
            with collector_paused():  # no await inside: the answer's objects are made, read and freed (collector.py)
                answer, settled = self._read_answer(reply, pending, tries.attempt, lean)
            resolution = answer.resolution
            if resolution.action is Action.OK:
                finished, again = settled or await self._settle(pending, answer, tries.attempt, lean)
                done += finished
                if again is None:
                    return done
                pending, resolution = again, TRANSIENT_RECORDS
            elif resolution.action not in _SEND_AGAIN:
                return done + await self._conclude(pending, answer, tries.attempt, budget, lean)
            if not await self.wait_to_resend(resolution, tries, started):
                return done + self._give_up(pending, answer.status, resolution, tries.attempt)

    async def wait_to_resend(self, resolution: Resolution, tries: Tries, started: float) -> bool:
        """Count a transient answer and wait before sending again; False when out of attempts or time."""
        delay = tries.wait_after(resolution, self.policy)
        throttled = resolution.action is Action.RATE_LIMITED
        if throttled:  # every sender sharing the gate waits, this one included (in `_send`), then they spread out
            spread = min(self.policy.resume_spread, delay)  # a short pause is not stretched much
            self.gate.pause(delay, spread)
            delay += spread  # the latest this sender may resume
            self.stats.throttle_waits += 1
            self.stats.throttled_s += delay
        if tries.exhausted(self.policy) or self.clock() - started + delay > self.policy.max_seconds:
            return False
        self.stats.retries += 1
        if not throttled:
            await self.sleep(delay)
        return True

    def _read_answer(self, reply: Reply | Answer, pending: Batch, attempt: int,
                     lean: Lean) -> tuple[Answer, Settled | None]:
        """The answer to a batch request classified and, when it is a success whose records' results it holds
        (no job to follow), read: then it comes back without its decoded body, which is freed here."""
        answer = reply if isinstance(reply, Answer) else self.answer_of(reply)
        if answer.resolution.action is not Action.OK or self.job is not None:
            return answer, None
        settled = self.interpret(pending, answer, attempt, lean=lean)
        return Answer(answer.status, None, answer.resolution, answer.echoes_secret), settled

    async def _settle(self, pending: Batch, answer: Answer, attempt: int, lean: Lean = False) -> Settled:
        """A 2xx: read the records' results from it, or, when it names a job, from the job once it ends."""
        if self.job is None:
            return self.interpret(pending, answer, attempt, lean=lean)
        return await self.job.follow_answer(pending, answer, attempt)

    async def _send(self, pending: Batch, seq: int, attempt: int) -> Reply | Answer:
        """One request for the pending records, once the rate gate lets it go: its reply, to be classified
        (`answer_of`), or the classified answer when none came."""
        await self.gate.wait()
        content = self.envelope.join(pending.parts, pending.session)
        path = fill_path(self.path, self.path_params, pending.params)
        self.stats.bytes_sent += len(content)
        headers = self.headers
        if self.idempotency.key_header is not None:  # the same key on every attempt: the destination dedupes
            headers = {**headers, **self.idempotency.headers(self.method, path, content)}
        return await self.send_counted(self.method, self.url_of(path), content=content, headers=headers,
                                       params=self.params, may_resend=self.idempotency.may_resend,
                                       log_extra={"batch": seq, "attempt": attempt, "records": len(pending)})

    def url_of(self, path: str) -> httpx.URL | str:
        """`path` joined to the client's base URL as httpx joins it, made once per path: httpx parses both on every
        request otherwise (~0.1 ms of CPU a request). A client with query params of its own joins on each request."""
        url = self.urls.get(path)
        if url is None:
            if self.client.params:  # they would be in the URL made here and merged in again: one merge a request, as httpx does
                return path
            try:
                url = self.client.build_request(self.method, path).url
            except httpx.InvalidURL:  # the request itself raises it, counted, where it always has
                return path
            if len(self.urls) < 256:  # a path filled from the records' values may take many values: keep the first
                self.urls[path] = url
        return url

    async def fetch(self, url: str, log_extra: dict[str, object]) -> Answer:
        """A GET on the destination (a job's status or results page), once the rate gate lets it go."""
        await self.gate.wait()
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-type"}
        return await self.request("GET", url, content=b"", headers=headers, params=None, may_resend=True,
                                  log_extra=log_extra)

    async def fetch_settled(self, url: str, log_extra: dict[str, object]) -> Answer:
        """GET `url` until its answer is not transient, with the batch requests' retry policy: the answer
        (a success, a refusal, or the last transient one when out of attempts or time). A 401/403 raises
        `AuthFailed`, as for any request."""
        started = self.clock()
        tries = Tries()
        while True:
            tries.attempt += 1
            answer = await self.fetch(url, {**log_extra, "attempt": tries.attempt})
            action = answer.resolution.action
            if action is Action.STOP:
                raise AuthFailed(answer.status or 0, answer.resolution.message)
            if action not in _SEND_AGAIN or not await self.wait_to_resend(answer.resolution, tries, started):
                return answer

    async def request(self, method: str, path: str | httpx.URL, *, content: bytes, headers: Mapping[str, str],
                      params: Mapping[str, str] | None, may_resend: bool, log_extra: dict[str, object]) -> Answer:
        """One exchange, counted, logged, paced by the answer's rate-limit headers, and classified."""
        reply = await self.send_counted(method, path, content=content, headers=headers, params=params,
                                        may_resend=may_resend, log_extra=log_extra)
        return reply if isinstance(reply, Answer) else self.answer_of(reply)

    async def send_counted(self, method: str, path: str | httpx.URL, *, content: bytes, headers: Mapping[str, str],
                           params: Mapping[str, str] | None, may_resend: bool,
                           log_extra: dict[str, object]) -> Reply | Answer:
        """One exchange, counted, logged and paced by the answer's rate-limit headers: the reply, for `answer_of`
        to classify, or, when no answer came, its classification."""
        self.stats.requests += 1
        t0 = time.perf_counter()
        reply = await exchange(self.client, method, path, self.limits, content=content or None,
                               headers=headers, params=params)
        if isinstance(reply, NoReply):
            resolution = classify_no_reply(reply, may_resend=may_resend)
            log.warning("request failed", extra={"run_id": self.run_id, **log_extra, "reason": str(resolution.reason)})
            return Answer(reply.status, None, resolution)
        latency = time.perf_counter() - t0
        self.stats.latencies.append(latency)
        status = reply.status
        log.info("request", extra={"run_id": self.run_id, **log_extra, "status": status,
                                   "latency_ms": round(latency * 1000, 1)})
        self.gate.pause_for_budget(reply.headers, self.rate_headers, now=self.wall_clock(), cap=self.policy.max_retry_after)
        return reply

    def answer_of(self, reply: Reply) -> Answer:
        """An answer decoded and classified (its strings scrubbed of the secrets it may echo)."""
        status = reply.status
        body = decode_body(reply.content)
        resolution = self.classifier(status, reply.headers, body, self.errors)
        if not self.secrets:
            return Answer(status, body, resolution)
        if resolution.action is Action.OK:
            return Answer(status, body, resolution, unscanned=reply.content)
        return Answer(status, body, self._scrubbed(resolution), may_mention(reply.content, self.secrets))

    def echoes(self, answer: Answer) -> bool:
        """Whether the strings read from `answer` must be scrubbed (it may hold a secret in some form)."""
        return answer.echoes_secret or (bool(answer.unscanned) and may_mention(answer.unscanned, self.secrets))

    def _scrubbed(self, resolution: Resolution) -> Resolution:
        """The classification with the destination's code and message (and ours, which may quote a header) scrubbed,
        then clipped (see `clipping.py`)."""
        code, detail = resolution.destination_code, resolution.destination_message
        return dataclasses.replace(
            resolution, message=clip(redact(resolution.message, self.secrets)),
            destination_code=None if code is None else clip(redact(code, self.secrets), MAX_CODE_CHARS),
            destination_message=None if detail is None else clip(redact(detail, self.secrets)))

    async def _conclude(self, pending: Batch, answer: Answer, attempt: int, budget: list[int],
                        lean: Lean = False) -> list[Outcome]:
        """A refusal: stop the run, split the batch to isolate the bad records, or reject them all."""
        resolution = answer.resolution
        if resolution.action is Action.STOP:
            raise AuthFailed(answer.status or 0, resolution.message)
        if resolution.action is Action.DEAD_LETTER:
            return self.every(pending, status=Status.DEAD_LETTERED, reason=resolution.reason or Reason.UNEXPECTED_RESPONSE,
                             message=resolution.message, attempt=attempt, answer_status=answer.status)
        if resolution.action is Action.SPLIT and len(pending) > 1 and budget[0] > 0:
            return await self._split(pending, budget, lean)
        return self.every(pending, status=Status.REJECTED, reason=resolution.reason or Reason.DESTINATION_REJECTED,
                         message=resolution.message, attempt=attempt, answer_status=answer.status,
                         code=resolution.destination_code, detail=resolution.destination_message)

    def _give_up(self, pending: Batch, status: int | None, resolution: Resolution, attempt: int) -> list[Outcome]:
        """Out of attempts or time: dead-letter the records, to be sent again by the next run."""
        message = (f"{resolution.message}; gave up after {attempt} attempt{'s' if attempt > 1 else ''}. "
                   "The record is dead-lettered and will be sent again by the next run or `destkit retry`.")
        return self.every(pending, status=Status.DEAD_LETTERED, reason=resolution.reason or Reason.SERVER_ERROR,
                         message=message, attempt=attempt, answer_status=status,
                         code=resolution.destination_code, detail=resolution.destination_message)

    async def _split(self, batch: Batch, budget: list[int], lean: Lean = False) -> list[Outcome]:
        """A whole batch refused without per-record detail: halve it until the bad records stand alone."""
        budget[0] -= 2
        left, right = batch.halves()
        a, b = await asyncio.gather(self.deliver(left, budget, lean=lean), self.deliver(right, budget, lean=lean))
        return a + b

    def interpret(self, batch: Batch, answer: Answer, attempt: int, reader: ResultReader | None = None, *,
                  lean: Lean = False) -> tuple[list[Outcome], Batch | None]:
        """Terminal outcomes for the records the answer settles, and the batch of those to send again.

        `lean` (see `deliver`): the records delivered get no outcome object (or are added to it as columns)."""
        reader = reader or self.reader
        data = None if answer.body.__class__ is bytes else answer.body
        if type(reader) is ResponseReader:  # a subclass may read otherwise: it takes `read`
            if lean is True:
                failures = reader.failures(data, batch.match_keys)
                if isinstance(failures, str):
                    return self._unreadable(batch, answer, attempt, failures), None
                return self._settled(batch, failures, answer, attempt)
            if (ids := reader.delivered_ids(data, batch.match_keys)) is not None:
                if isinstance(lean, DeliveredRows):  # the whole batch, as columns
                    lean.add(batch.rows, batch.keys, self._scrubbed_ids(ids, answer), attempt)
                    return [], None
                return self._all_delivered(batch, ids, answer, attempt), None
        results = reader.read(data, batch.match_keys)
        if isinstance(results, str):
            return self._unreadable(batch, answer, attempt, results), None
        return self._each(batch, results, answer, attempt, lean is True)

    def _each(self, batch: Batch, results: list[ItemResult], answer: Answer, attempt: int,
              lean: bool) -> tuple[list[Outcome], Batch | None]:
        """`interpret` record by record: the outcomes the results settle (a delivered record's only when not
        `lean`), and the batch of the records to send again."""
        if self.echoes(answer):
            for r in results:
                scrub_item(r, self.secrets)
        out: list[Outcome] = []
        again: list[int] = []
        delivered = Status.DELIVERED
        for i, (row, key, r) in enumerate(zip(batch.rows, batch.keys, results, strict=True)):
            if r.ok:  # the hot path: one per delivered record
                if not lean:
                    out.append(Outcome(row=row, status=delivered, key=key if key is None or key.__class__ is str else str(key),
                                       message=r.note and clip(r.note), destination_id=r.destination_id, attempts=attempt))
            elif (outcome := _unsettled(row, key, r, answer.status, attempt)) is None:
                again.append(i)
            else:
                out.append(outcome)
        return out, (batch.subset(again) if again else None)

    def _all_delivered(self, batch: Batch, ids: list[str | None], answer: Answer, attempt: int) -> list[Outcome]:
        """Every record of the batch delivered, with its destination id (the common answer, read in bulk)."""
        ids = self._scrubbed_ids(ids, answer)
        delivered = Status.DELIVERED
        return [Outcome(row=row, status=delivered, key=key if key is None or key.__class__ is str else str(key),
                        destination_id=rid, attempts=attempt)
                for row, key, rid in zip(batch.rows, batch.keys, ids, strict=True)]

    def _scrubbed_ids(self, ids: list[str | None], answer: Answer) -> list[str | None]:
        """The destination ids read from `answer`, with any secret it echoes scrubbed."""
        if self.echoes(answer):
            return [None if rid is None else redact(rid, self.secrets) for rid in ids]
        return ids

    def _settled(self, batch: Batch, failures: list[tuple[int, ItemResult]], answer: Answer,
                 attempt: int) -> tuple[list[Outcome], Batch | None]:
        """A lean `interpret`: outcomes for the records that were not delivered (given by batch position) only."""
        out: list[Outcome] = []
        again: list[int] = []
        rows, keys = batch.rows, batch.keys
        echoes = bool(failures) and self.echoes(answer)
        for i, r in failures:
            if echoes:
                scrub_item(r, self.secrets)
            if (outcome := _unsettled(rows[i], keys[i], r, answer.status, attempt)) is None:
                again.append(i)
            else:
                out.append(outcome)
        return out, (batch.subset(again) if again else None)

    def _unreadable(self, batch: Batch, answer: Answer, attempt: int, why: str) -> list[Outcome]:
        """Every record dead-lettered: the answer was a success whose per-record results cannot be read."""
        if answer.body.__class__ is bytes:
            why = "its answer is not JSON (or is nested over 1,024 levels deep)"
        why = clip(redact(why, self.secrets))  # it may quote the answer
        return self.every(batch, status=Status.DEAD_LETTERED, reason=Reason.UNEXPECTED_RESPONSE,
                          message=f"the destination answered {answer.status} but {why}; {MAYBE_APPLIED}",
                          attempt=attempt, answer_status=answer.status)

    @staticmethod
    def every(batch: Batch, *, status: Status, reason: Reason, message: str, attempt: int,
             answer_status: int | None = None, code: str | None = None, detail: str | None = None) -> list[Outcome]:
        """The same outcome for every record of the batch."""
        return [Outcome(row=row, status=status, key=None if key is None else str(key), reason=reason, message=message,
                        destination_status=answer_status, destination_code=code, destination_message=detail,
                        attempts=attempt)
                for row, key in zip(batch.rows, batch.keys, strict=True)]


def scrub_item(result: ItemResult, secrets: Sequence[Secret]) -> None:
    """Every string of a per-record result that came from the destination, scrubbed of the secrets (in place)."""
    for name in ("destination_id", "code", "message", "note", "unexpected"):
        value = getattr(result, name)
        if value is not None:
            setattr(result, name, redact(value, secrets))


def _unsettled(row: int, key: object, result: ItemResult, status: int | None, attempt: int) -> Outcome | None:
    """The outcome of a record whose result is no success (rejected, or an item we cannot read), or None:
    it is to be sent again."""
    if result.retryable:
        return None
    if result.unexpected is not None:
        return _unexpected_record(row, key, result, status, attempt)
    return _refused_record(row, key, result, status, attempt)


def _refused_record(row: int, key: object, result: ItemResult, status: int | None, attempt: int) -> Outcome:
    return Outcome(row=row, status=Status.REJECTED, key=None if key is None else str(key),
                   reason=Reason.DESTINATION_REJECTED,
                   message="the destination refused this record; see destination_code and destination_message.",
                   destination_status=status, destination_code=clip(result.code, MAX_CODE_CHARS),
                   destination_message=clip(result.message), destination_id=result.destination_id, attempts=attempt)


def _unexpected_record(row: int, key: object, result: ItemResult, status: int | None, attempt: int) -> Outcome:
    return Outcome(row=row, status=Status.DEAD_LETTERED, key=None if key is None else str(key),
                   reason=Reason.UNEXPECTED_RESPONSE,
                   message=f"the destination answered {status} but this record's {clip(result.unexpected)}; the record may "
                   "or may not have been applied and is dead-lettered, to be sent again by the next run.",
                   destination_status=status, destination_id=result.destination_id, attempts=attempt)


__all__ = ["Answer", "Deliverer", "DeliveryStats", "ErrorTable", "Idempotency", "ResponseLimits", "Tries", "decode_body",
           "scrub_item"]
