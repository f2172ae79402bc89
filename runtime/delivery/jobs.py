"""Follow a destination's async job: poll it until it ends, then page through its per-record results.

A batch answered with a job (`response.job`) stays in flight while the job runs: the worker that
sent it awaits the polls (asyncio sleeps, so the other workers go on sending), every poll and page
passes the rate gate and gets the batch requests' retry policy, and the batch's outcomes are the
job's per-record results. A job that fails, or does not end within `poll.timeout`, leaves its
records `dead_lettered` as `job_unfinished`. The `JobLedger` hears of each accepted job, so a
state store can keep its id and a resumed run polls it instead of sending its records again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import httpx

from destkit.runtime.delivery.batching import Batch
from destkit.runtime.delivery.classify import Action
from destkit.runtime.delivery.extensions import ResultReader, reader_for
from destkit.runtime.delivery.reading import compile_path
from destkit.runtime.outcomes import Outcome, Reason, Status
from destkit.runtime.spec.jobs import JOB_ID
from destkit.runtime.spec.models import JobSpec

if TYPE_CHECKING:  # the Deliverer owns its job follower, so this module may not import it at run time
    from destkit.runtime.delivery.sender import Answer, Deliverer

MAX_PAGES = 10_000  # a results list that never ends is a broken destination, not a long list
_AGAIN = "They are dead-lettered, to be sent again by the next run or `destkit retry`."


class JobLedger(Protocol):
    """Hears of each job a destination accepted, with the batch whose records it holds."""

    def accepted(self, batch: Batch, job_id: str) -> None: ...


class _NoLedger:
    def accepted(self, batch: Batch, job_id: str) -> None:
        return None


NO_LEDGER: JobLedger = _NoLedger()


@dataclasses.dataclass(frozen=True, slots=True)
class Unfinished:
    """Why a job's records get no result from it: the reason code, a sentence, and the last answer's status."""

    reason: Reason
    message: str
    status: int | None = None
    code: str | None = None
    detail: str | None = None


def truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, and an empty string, list or object are false; anything else is true."""
    return value is not None and value is not False and value != "" and value != [] and value != {}


class JobFollower:
    """Follows the jobs of one action's batches, as its `response.job` says."""

    def __init__(self, deliverer: Deliverer, spec: JobSpec, ledger: JobLedger = NO_LEDGER) -> None:
        self.deliverer = deliverer
        self.spec = spec
        self.ledger = ledger
        self._id = compile_path(spec.id)
        self._until = compile_path(spec.poll.until)
        self._failed = compile_path(spec.poll.failed) if spec.poll.failed else None
        results = spec.results
        self._items: Callable[[Any], Any] | None = None
        self._next: Callable[[Any], Any] | None = None
        self.reader: ResultReader | None = None
        if results is not None:
            self._items = compile_path(results.results) if results.results else None
            self._next = compile_path(results.next) if results.next else None
            # the pages' items are gathered into one list, read as an answer's list of results
            self.reader = reader_for(results.model_copy(update={"results": "@"})) if results.results else None

    async def follow_answer(self, batch: Batch, answer: Answer, attempt: int) -> tuple[list[Outcome], Batch | None]:
        """The submit answer named a job: note it with the ledger, then follow it to the records' outcomes."""
        job_id = self.job_id(answer.body)
        if job_id is None:
            return self._every(batch, attempt, Unfinished(
                Reason.UNEXPECTED_RESPONSE, f"the destination answered {answer.status} but named no job at "
                f"'{self.spec.id}'; the records may or may not have been applied. {_AGAIN}", answer.status)), None
        self.ledger.accepted(batch, job_id)
        return await self.follow(batch, job_id, attempt)

    def job_id(self, body: Any) -> str | None:
        value = self._id(body) if isinstance(body, dict | list) else None
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            return None
        return str(value)

    async def follow(self, batch: Batch, job_id: str, attempt: int, *,
                     wait_first: bool = True) -> tuple[list[Outcome], Batch | None]:
        """The outcomes the job gives the batch's records, and the batch of those to send again (retry codes).

        `wait_first`: wait one interval before the first poll (a job just submitted is rarely done).
        """
        ended = await self.until_ended(job_id, wait_first)
        if isinstance(ended, Unfinished):
            return self._every(batch, attempt, ended), None
        if self.spec.results is None:  # the job's end is every record's result
            return [Outcome(row=row, status=Status.DELIVERED, key=_key(key), attempts=attempt)
                    for row, key in zip(batch.rows, batch.keys, strict=True)], None
        results = await self.read_results(job_id)
        if isinstance(results, Unfinished):
            return self._every(batch, attempt, results), None
        if self.reader is None:  # a results endpoint without a list: its answer applies to every record
            return [Outcome(row=row, status=Status.DELIVERED, key=_key(key), attempts=attempt)
                    for row, key in zip(batch.rows, batch.keys, strict=True)], None
        return self.deliverer.interpret(batch, results, attempt, self.reader)

    async def until_ended(self, job_id: str, wait_first: bool) -> Answer | Unfinished:
        """Poll until `until` (completed: its last status answer) or `failed` holds, or the timeout passes."""
        poll = self.spec.poll
        clock, sleep = self.deliverer.clock, self.deliverer.sleep
        url = job_path(poll.path, job_id)
        deadline = clock() + poll.timeout
        polls = 0
        if wait_first:
            await sleep(min(poll.interval, poll.timeout))
        while True:
            polls += 1
            answer = await self.deliverer.fetch_settled(url, {"job": job_id, "poll": polls})
            ended = self._ended(job_id, answer)
            if ended is not None:
                return ended
            if clock() + poll.interval > deadline:
                return Unfinished(Reason.JOB_UNFINISHED, f"the destination's job {job_id} did not end within "
                                  f"job.poll.timeout ({poll.timeout:g} s, {polls} polls); it may still apply the "
                                  f"records. {_AGAIN}", answer.status)
            await sleep(poll.interval)

    def _ended(self, job_id: str, answer: Answer) -> Answer | Unfinished | None:
        """What one status answer says: completed (the answer), failed or unreadable (Unfinished), or running (None)."""
        resolution = answer.resolution
        if resolution.action is not Action.OK:
            return _unreadable(f"the status of the destination's job {job_id}", answer)
        body = answer.body
        if not isinstance(body, dict | list):
            return Unfinished(Reason.UNEXPECTED_RESPONSE, f"the status of the destination's job {job_id} is not JSON; "
                              f"the records may or may not have been applied. {_AGAIN}", answer.status)
        if self._failed is not None and truthy(self._failed(body)):
            return Unfinished(Reason.JOB_UNFINISHED, f"the destination's job {job_id} ended without completing "
                              f"(job.poll.failed holds); its records were not applied. {_AGAIN}", answer.status)
        return answer if truthy(self._until(body)) else None

    async def read_results(self, job_id: str) -> Answer | Unfinished:
        """Every page of the job's results: the last page's answer, its body the items of all pages in order."""
        assert self.spec.results is not None
        url: str | None = job_path(self.spec.results.path, job_id)
        items: list[Any] = []
        seen: set[str] = set()
        echoes = False
        answer: Answer | None = None
        while url is not None:
            if len(seen) >= MAX_PAGES or url in seen:
                return Unfinished(Reason.UNEXPECTED_RESPONSE, f"the results of the destination's job {job_id} never "
                                  f"end (over {MAX_PAGES} pages, or a page links back); {_AGAIN}")
            seen.add(url)
            answer = await self.deliverer.fetch_settled(url, {"job": job_id, "page": len(seen)})
            if answer.resolution.action is not Action.OK:
                return _unreadable(f"the results of the destination's job {job_id}", answer)
            page = self._page_items(answer.body) if self._items is not None else []
            next_url = self._next_url(answer.body)
            if isinstance(page, str):
                return _bad_page(job_id, page, answer)
            if isinstance(next_url, Unfinished):
                return _bad_page(job_id, next_url.message, answer)
            items += page
            echoes = echoes or self.deliverer.echoes(answer)
            url = next_url
        assert answer is not None
        return dataclasses.replace(answer, body=items, echoes_secret=echoes, unscanned=b"")

    def _page_items(self, body: Any) -> list[Any] | str:
        """One page's result items (none listed: an empty list), or why the page holds no list."""
        assert self._items is not None and self.spec.results is not None
        found = self._items(body) if isinstance(body, dict | list) else None
        if found is None:
            return []
        if not isinstance(found, list):
            return f"'{self.spec.results.results}' is not a list"
        return found

    def _next_url(self, body: Any) -> str | Unfinished | None:
        """The next page's URL (or path); None on the last page. A link to another origin is never followed:
        the request would carry the destination's credentials there."""
        if self._next is None:
            return None
        link = self._next(body) if isinstance(body, dict | list) else None
        if link is None or link == "":
            return None
        if not isinstance(link, str):
            return Unfinished(Reason.UNEXPECTED_RESPONSE, "the next page's link is not text")
        url = httpx.URL(link)
        base = self.deliverer.client.base_url
        if url.is_absolute_url and (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            return Unfinished(Reason.UNEXPECTED_RESPONSE, f"the next page is on another origin ({url.scheme}://"
                              f"{url.host}), which is never sent the credentials")
        return link

    def _every(self, batch: Batch, attempt: int, why: Unfinished) -> list[Outcome]:
        return self.deliverer.every(batch, status=Status.DEAD_LETTERED, reason=why.reason, message=why.message,
                                    attempt=attempt, answer_status=why.status, code=why.code, detail=why.detail)


def job_path(template: str, job_id: str) -> str:
    """A job path with its id in place, URL-encoded (an id is the destination's text, not ours)."""
    return template.replace("{" + JOB_ID + "}", quote(job_id, safe=""))


def _unreadable(what: str, answer: Answer) -> Unfinished:
    """A status or results request that failed for good: the records' fate is unknown."""
    resolution = answer.resolution
    transient = resolution.action in (Action.RETRY, Action.RATE_LIMITED)
    reason = (resolution.reason or Reason.SERVER_ERROR) if transient else Reason.UNEXPECTED_RESPONSE
    return Unfinished(reason, f"{what} could not be read ({resolution.message}); the records may or may not have "
                      f"been applied. {_AGAIN}", answer.status, resolution.destination_code,
                      resolution.destination_message)


def _bad_page(job_id: str, why: str, answer: Answer) -> Unfinished:
    return Unfinished(Reason.UNEXPECTED_RESPONSE, f"the results of the destination's job {job_id}: {why}; the records "
                      f"may or may not have been applied. {_AGAIN}", answer.status)


def _key(key: object) -> str | None:
    return None if key is None else str(key)


__all__ = ["MAX_PAGES", "NO_LEDGER", "JobFollower", "JobLedger", "Unfinished", "job_path", "truthy"]
