"""Deliver one batch: send, classify the answer, retry what can still succeed, split what was refused.

Returns exactly one terminal outcome per record of the batch. Raises `AuthFailed` on 401/403,
which stops the run: every further request would fail the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
import orjson

from destkit.runtime.delivery.batching import Batch
from destkit.runtime.delivery.reading import ResponseReader
from destkit.runtime.delivery.retry import Clock, RateGate, RetryPolicy, Sleep, parse_retry_after
from destkit.runtime.errors import AuthFailed
from destkit.runtime.outcomes import Outcome, Reason, Status
from destkit.runtime.record.compiler import fill_path
from destkit.runtime.spec.body_template import Envelope
from destkit.runtime.spec.models import ErrorClasses

log = logging.getLogger("destkit.deliver")


def _status_set(values: list[int | str]) -> set[int]:
    out: set[int] = set()
    for v in values:
        if isinstance(v, int):
            out.add(v)
        else:
            first = int(v[0]) * 100
            out.update(range(first, first + 100))
    return out


@dataclass
class ErrorTable:
    rejected: set[int]
    auth: set[int]
    retry: set[int]
    split: set[int]

    @classmethod
    def from_spec(cls, classes: ErrorClasses) -> ErrorTable:
        return cls(_status_set(classes.rejected), _status_set(classes.auth), _status_set(classes.retry), _status_set(classes.split))


@dataclass
class DeliveryStats:
    requests: int = 0
    retries: int = 0
    bytes_sent: int = 0
    latencies: list[float] = field(default_factory=list)


def _destination_error(response: httpx.Response) -> tuple[str | None, str | None]:
    """The destination's own error code and message, if its body says them."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return None, text[:300] or None
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return (str(errors[0].get("code")) if errors[0].get("code") is not None else None,
                    str(errors[0].get("message")) if errors[0].get("message") is not None else None)
        for key in ("message", "msg", "error", "replyText"):
            if isinstance(data.get(key), str):
                return None, data[key]
    return None, None


class Deliverer:
    def __init__(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        envelope: Envelope,
        reader: ResponseReader,
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
    ) -> None:
        self.path_params = path_params
        self.client = client
        self.method = method
        self.path = path
        self.envelope = envelope
        self.reader = reader
        self.errors = errors
        self.policy = policy
        self.gate = gate
        self.headers = {**({} if envelope.empty else {"content-type": "application/json"}), **(headers or {})}
        self.params = dict(params) if params else None
        self.clock = clock
        self.sleep = sleep
        self.stats = DeliveryStats()
        self.run_id = run_id

    def _request_error(self, response: httpx.Response) -> tuple[str | None, str | None]:
        try:
            data = response.json()
        except ValueError:
            data = None
        by_spec = self.reader.request_error(data) if data is not None else None
        if by_spec is not None and any(by_spec):
            return by_spec
        by_item = self.reader.item_error(data) if data is not None else None
        if by_item is not None and any(by_item):
            return by_item
        return _destination_error(response)

    async def deliver(self, batch: Batch, budget: list[int] | None = None) -> list[Outcome]:
        """Send until every record of `batch` has a terminal outcome; only unfinished records are resent.

        `budget` caps the extra requests spent splitting a refused batch (shared by its halves), so a
        refusal that no split can cure costs O(log n) requests, not 2n.
        """
        if budget is None:
            budget = [4 * max(len(batch), 2).bit_length() + 4]
        started = self.clock()
        done: list[Outcome] = []
        pending = batch
        attempt = 0
        while True:
            attempt += 1
            await self.gate.wait()
            body = self.envelope.join(pending.parts)
            path = fill_path(self.path, self.path_params, pending.params)
            self.stats.requests += 1
            self.stats.bytes_sent += len(body)
            t0 = time.perf_counter()
            retry_after: float | None = None
            status: int | None = None
            code: str | None = None
            dmsg: str | None = None
            try:
                response = await self.client.request(self.method, path, content=body or None,
                                                     headers=self.headers, params=self.params)
            except httpx.TimeoutException as exc:
                retry_reason, message = Reason.TIMEOUT, f"the request timed out ({type(exc).__name__})"
                log.warning("request failed", extra={"run_id": self.run_id, "batch": batch.seq, "attempt": attempt,
                                                     "records": len(pending), "reason": retry_reason.value})
            except httpx.TransportError as exc:
                retry_reason, message = Reason.CONNECTION_ERROR, f"the connection failed ({type(exc).__name__})"
                log.warning("request failed", extra={"run_id": self.run_id, "batch": batch.seq, "attempt": attempt,
                                                     "records": len(pending), "reason": retry_reason.value})
            else:
                status = response.status_code
                latency = time.perf_counter() - t0
                self.stats.latencies.append(latency)
                log.info("request", extra={"run_id": self.run_id, "batch": batch.seq, "attempt": attempt,
                                           "status": status, "records": len(pending), "latency_ms": round(latency * 1000, 1)})
                if 200 <= status < 300:
                    finished, retry = self._interpret(pending, response, attempt)
                    done += finished
                    if retry is None:
                        return done
                    pending, retry_reason, message = retry, Reason.SERVER_ERROR, "the destination reported a transient per-record failure"
                elif status in self.errors.auth:
                    _, dmsg = _destination_error(response)
                    raise AuthFailed(status, dmsg or "unauthorized")
                elif 300 <= status < 400:
                    where = response.headers.get("location", "elsewhere")
                    return done + self._all(pending, Status.REJECTED, Reason.REDIRECT,
                                            f"the destination answered {status}, redirecting to {where}; redirects are not followed, check the base URL.",
                                            status, None, None, attempt)
                elif status in self.errors.retry:
                    retry_reason = Reason.RATE_LIMITED if status == 429 else Reason.SERVER_ERROR
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    code, dmsg = self._request_error(response)
                    message = f"the destination answered HTTP {status}"
                    if status == 429:
                        self.gate.pause(self.policy.delay(attempt, retry_after))
                else:
                    code, dmsg = self._request_error(response)
                    if status in self.errors.split and len(pending) > 1 and budget[0] > 0:
                        return done + await self._split(pending, budget)
                    return done + self._all(pending, Status.REJECTED, Reason.DESTINATION_REJECTED,
                                            f"the destination refused the request (HTTP {status}); see destination_message.",
                                            status, code, dmsg, attempt)
            elapsed = self.clock() - started
            delay = self.policy.delay(attempt, retry_after)
            if attempt >= self.policy.max_attempts or elapsed + delay > self.policy.max_seconds:
                return done + self._all(pending, Status.DEAD_LETTERED, retry_reason,
                                        f"{message}; gave up after {attempt} attempt{'s' if attempt > 1 else ''}. "
                                        "The record is dead-lettered and will be sent again by the next run or `destkit retry`.",
                                        status, code, dmsg, attempt)
            self.stats.retries += 1
            await self.sleep(delay)

    async def _split(self, batch: Batch, budget: list[int]) -> list[Outcome]:
        """A whole batch refused without per-record detail: halve it until the bad records stand alone."""
        budget[0] -= 2
        left, right = batch.halves()
        a, b = await asyncio.gather(self.deliver(left, budget), self.deliver(right, budget))
        return a + b

    def _interpret(self, batch: Batch, response: httpx.Response, attempt: int) -> tuple[list[Outcome], Batch | None]:
        """Terminal outcomes for the records the answer settles, and the batch of those to send again."""
        try:
            data = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            data = None
        results = self.reader.read(data, batch.keys)
        if isinstance(results, str):
            return self._all(batch, Status.DEAD_LETTERED, Reason.UNEXPECTED_RESPONSE,
                             f"the destination answered {response.status_code} but {results}; the records may or may not have "
                             "been applied and will be sent again by the next run (upserts are idempotent).",
                             response.status_code, None, None, attempt), None
        out: list[Outcome] = []
        again: list[int] = []
        delivered = Status.DELIVERED
        for i, (row, key, r) in enumerate(zip(batch.rows, batch.keys, results, strict=True)):
            if r.ok:
                out.append(Outcome(row, delivered, key if key is None or key.__class__ is str else str(key), None, None,
                                   r.note, None, None, None, r.destination_id, None, attempt))
            elif r.retryable:
                again.append(i)
            else:
                out.append(Outcome(row, Status.REJECTED, None if key is None else str(key), Reason.DESTINATION_REJECTED, None,
                                   "the destination refused this record; see destination_code and destination_message.",
                                   response.status_code, r.code, r.message, r.destination_id, attempts=attempt))
        return out, (batch.subset(again) if again else None)

    @staticmethod
    def _all(batch: Batch, status: Status, reason: Reason, message: str, http_status: int | None,
             code: str | None, dmsg: str | None, attempt: int) -> list[Outcome]:
        return [Outcome(row, status, None if key is None else str(key), reason, None, message, http_status, code, dmsg,
                        attempts=attempt) for row, key in zip(batch.rows, batch.keys, strict=True)]

