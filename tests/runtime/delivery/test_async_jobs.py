"""Async jobs (`response.job`): a batch answered 202 + job id is polled, then its results are paged.

The destination is a generic job emulator (a small Starlette app): `POST /imports` answers 202 with a
job id; `GET /jobs/{id}` says `processing` until the job has been polled `polls_to_end` times, then
`complete` (or `cancelled`); `GET /jobs/{id}/errors` lists the refused rows by index, two per page,
linked by `links.next`. It counts every submit, poll and page, so a test can tell a resumed run that
polls from one that sends its records again.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.runtime import Outcome, Reason, Status, build_sync
from destkit.runtime.authoring.check import check_spec_text
from destkit.runtime.delivery.retry import RetryPolicy
from destkit.runtime.engine import StateStore, StopRequest, Sync
from destkit.runtime.errors import SpecError
from destkit.runtime.spec.loader import parse_spec

TOKEN = "job-token-123"
EMAILS = [f"user{i}@example.com" for i in range(1, 7)]
FAST_RETRY = RetryPolicy(base=0.001, cap=0.005, max_retry_after=0.05, resume_spread=0.0, rng=random.Random(3))

SPEC = """
spec_version: 1
id: jobby
name: Jobby
base_url: https://jobs.example.com
auth: {kind: bearer, token: "{{ secrets.token }}"}
secrets: {token: {}}
actions:
  import_rows:
    title: Import rows
    fields:
      email: {type: string, required: true}
    batch: {max_records: 4}
    request:
      path: /imports
      body: {rows: $records}
      record: {email: $email}
    response:
      job:
        id: data.id
        poll: {path: "/jobs/{job_id}", until: "data.status == 'complete'", failed: "data.status == 'cancelled'",
               interval: 0.01, timeout: 5}
        results: {path: "/jobs/{job_id}/errors", items: data, next: links.next, only: failures,
                  match: {index: index}, error: {code: code, message: detail}}
"""


class JobDesk:
    """The emulator's state: jobs, how they end, and a count of every request by kind."""

    def __init__(self, *, polls_to_end: int = 2, end: str = "complete", failing: dict[str, str] | None = None,
                 poll_faults: list[int] | None = None) -> None:
        self.polls_to_end = polls_to_end
        self.end = end  # complete, cancelled, or never
        self.failing = failing or {}
        self.poll_faults = list(poll_faults or [])
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()
        self.submitted: list[list[str]] = []

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/imports", self.submit, methods=["POST"]),
                                 Route("/jobs/{job_id}", self.status, methods=["GET"]),
                                 Route("/jobs/{job_id}/errors", self.errors, methods=["GET"])])

    async def submit(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"errors": [{"detail": "bad token"}]}, 401)
        self.requests["submit"] += 1
        rows = [r["email"] for r in orjson.loads(await request.body())["rows"]]
        self.submitted.append(rows)
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = {"rows": rows, "polls": 0}
        return JSONResponse({"data": {"id": job_id, "status": "queued"}}, 202)

    async def status(self, request: Request) -> Response:
        self.requests["poll"] += 1
        if self.poll_faults:
            status = self.poll_faults.pop(0)
            return JSONResponse({"errors": [{"detail": "busy"}]}, status, headers={"Retry-After": "0.01"})
        job = self.jobs[request.path_params["job_id"]]
        job["polls"] += 1
        ended = self.end != "never" and job["polls"] >= self.polls_to_end
        return JSONResponse({"data": {"status": self.end if ended else "processing"}})

    async def errors(self, request: Request) -> Response:
        self.requests["page"] += 1
        job_id = request.path_params["job_id"]
        rows = self.jobs[job_id]["rows"]
        refused = [{"index": i, "code": self.failing[e], "detail": f"{e} refused"}
                   for i, e in enumerate(rows) if e in self.failing]
        page = int(request.query_params.get("page", "1"))
        more = len(refused) > page * 2
        return JSONResponse({"data": refused[(page - 1) * 2:page * 2],
                             "links": {"next": f"https://jobs.example.com/jobs/{job_id}/errors?page={page + 1}"
                                       if more else None}})


def job_sync(desk: JobDesk, spec_text: str = SPEC, **options: Any) -> Sync:
    config = {"destination": "jobby", "action": "import_rows", "secrets": {"token": TOKEN},
              "mapping": {"email": "email"}, "options": options}
    return build_sync(config, spec=parse_spec(spec_text, "jobby.yaml"), base_url="https://jobs.example.com",
                      transport=httpx.ASGITransport(app=desk.app()), retry=FAST_RETRY)


def records(emails: list[str] = EMAILS[:4]) -> list[dict[str, str]]:
    return [{"email": e} for e in emails]


def by_row(outcomes: list[Outcome]) -> list[tuple[int, Status, Reason | None]]:
    return [(o.row, o.status, o.reason) for o in sorted(outcomes, key=lambda o: o.row)]


def run(sync: Sync, rows: list[dict[str, str]], **kwargs: Any) -> list[Outcome]:
    seen: list[Outcome] = []
    sync.run(rows, on_outcome=seen.append, **kwargs)
    return seen


# --- a job that completes -----------------------------------------------------------------------


def test_a_completed_job_without_refusals_delivers_every_record_after_polling_it() -> None:
    desk = JobDesk(polls_to_end=3)
    outcomes = run(job_sync(desk, concurrency=1), records())
    assert by_row(outcomes) == [(row, Status.DELIVERED, None) for row in (1, 2, 3, 4)]
    assert desk.requests == Counter({"submit": 1, "poll": 3, "page": 1})


def test_refusals_listed_on_the_second_results_page_reject_exactly_those_records() -> None:
    desk = JobDesk(failing={EMAILS[0]: "invalid", EMAILS[1]: "invalid", EMAILS[3]: "duplicate"})
    outcomes = run(job_sync(desk, concurrency=1), records())
    assert by_row(outcomes) == [(1, Status.REJECTED, Reason.DESTINATION_REJECTED),
                                (2, Status.REJECTED, Reason.DESTINATION_REJECTED),
                                (3, Status.DELIVERED, None),
                                (4, Status.REJECTED, Reason.DESTINATION_REJECTED)]
    fourth = next(o for o in outcomes if o.row == 4)
    assert (fourth.destination_code, fourth.destination_message) == ("duplicate", f"{EMAILS[3]} refused")
    assert desk.requests["page"] == 2


def test_a_5xx_and_a_429_on_the_poll_are_retried_like_any_request() -> None:
    desk = JobDesk(poll_faults=[503, 429])
    outcomes = run(job_sync(desk, concurrency=1), records())
    assert by_row(outcomes) == [(row, Status.DELIVERED, None) for row in (1, 2, 3, 4)]
    assert desk.requests["poll"] == 4
    assert desk.requests["submit"] == 1


def test_a_next_page_on_another_origin_is_never_followed() -> None:
    spec = SPEC.replace("next: links.next", "next: \"'https://elsewhere.example.net/steal'\"")
    outcomes = run(job_sync(JobDesk(), spec, concurrency=1), records())
    assert {(o.status, o.reason) for o in outcomes} == {(Status.DEAD_LETTERED, Reason.UNEXPECTED_RESPONSE)}
    assert "another origin (https://elsewhere.example.net)" in (outcomes[0].message or "")


# --- a job that does not complete -----------------------------------------------------------------


def test_a_cancelled_job_dead_letters_its_records_as_job_unfinished() -> None:
    outcomes = run(job_sync(JobDesk(end="cancelled"), concurrency=1), records())
    assert by_row(outcomes) == [(row, Status.DEAD_LETTERED, Reason.JOB_UNFINISHED) for row in (1, 2, 3, 4)]
    assert outcomes[0].message is not None
    assert outcomes[0].message.startswith("the destination's job job-1 ended without completing")


def test_a_job_that_outlasts_its_timeout_dead_letters_its_records_as_job_unfinished() -> None:
    desk = JobDesk(end="never")
    outcomes = run(job_sync(desk, SPEC.replace("timeout: 5", "timeout: 0.1"), concurrency=1), records())
    assert by_row(outcomes) == [(row, Status.DEAD_LETTERED, Reason.JOB_UNFINISHED) for row in (1, 2, 3, 4)]
    assert outcomes[0].message is not None
    assert outcomes[0].message.startswith("the destination's job job-1 did not end within job.poll.timeout (0.1 s")
    assert desk.requests["page"] == 0


def test_an_answer_without_a_job_id_dead_letters_the_batch_as_unexpected() -> None:
    outcomes = run(job_sync(JobDesk(), SPEC.replace("id: data.id", "id: data.job_id"), concurrency=1), records())
    assert {(o.status, o.reason) for o in outcomes} == {(Status.DEAD_LETTERED, Reason.UNEXPECTED_RESPONSE)}
    assert "named no job at 'data.job_id'" in (outcomes[0].message or "")


def test_a_slow_job_does_not_hold_back_the_next_batch() -> None:
    class SlowFirst(JobDesk):
        async def status(self, request: Request) -> Response:
            self.polls_to_end = 30 if request.path_params["job_id"] == "job-1" else 1
            return await super().status(request)

    outcomes = run(job_sync(SlowFirst(), concurrency=2), records(EMAILS))
    assert [o.row for o in outcomes] == [5, 6, 1, 2, 3, 4]


# --- resume ---------------------------------------------------------------------------------------


def stop_once_jobs_are_polled(sync: Sync, desk: JobDesk, store: StateStore) -> None:
    """Run until both batches' jobs were accepted and polled, then stop without waiting for them."""
    async def scenario() -> None:
        stop = StopRequest(grace_s=0)
        task = asyncio.create_task(sync.arun(records(EMAILS), state=store, input_ref="v1", stop=stop))
        while desk.requests["poll"] < 2:
            await asyncio.sleep(0.005)
        stop.request("a test")
        stop.request("a test")
        await task
    asyncio.run(scenario())


def test_a_resumed_run_polls_the_open_jobs_instead_of_sending_their_records_again(tmp_path: Path) -> None:
    desk = JobDesk(end="never", failing={EMAILS[4]: "invalid"})
    store = StateStore(tmp_path / "state.sqlite")
    stop_once_jobs_are_polled(job_sync(desk, concurrency=2), desk, store)
    assert desk.requests["submit"] == 2
    assert sorted(j.job_id for j in store.open_jobs(store.runs("jobby", "import_rows")[0].run_id)) == ["job-1", "job-2"]

    desk.end = "complete"
    result = job_sync(desk, concurrency=2).run(records(EMAILS), state=store, input_ref="v1", mode="resume")
    assert desk.requests["submit"] == 2  # nothing was sent again
    summary = result.summary
    assert (summary.received, summary.delivered, summary.count(Status.REJECTED)) == (6, 5, 1)
    assert [(o.row, o.status) for o in store.outcomes(summary.run_id) if o.status is not Status.DELIVERED] == [
        (5, Status.REJECTED)]
    assert store.open_jobs(summary.run_id) == []


def test_a_jobs_results_close_it_in_the_state_store(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    result = job_sync(JobDesk(), concurrency=1).run(records(), state=store, input_ref="v1")
    assert result.summary.delivered == 4
    assert store.open_jobs(result.summary.run_id) == []


# --- the spec -------------------------------------------------------------------------------------


def test_a_job_path_with_another_parameter_is_refused_when_the_spec_loads() -> None:
    with pytest.raises(SpecError, match=r"uses \{id\}, but the only parameter of a job path is \{job_id\}"):
        parse_spec(SPEC.replace('"/jobs/{job_id}"', '"/jobs/{id}"'), "jobby.yaml")


def test_results_read_from_the_submit_answer_and_a_job_cannot_both_be_given() -> None:
    with pytest.raises(SpecError, match="with job, the per-record results are read from the job"):
        parse_spec(SPEC.replace("      job:\n", "      results: data\n      job:\n"), "jobby.yaml")


def test_spec_check_reports_a_job_expression_that_is_not_jmespath() -> None:
    check = check_spec_text(SPEC.replace("until: \"data.status == 'complete'\"", "until: \"data.status ==\""))
    assert [(f.issue.key, f.issue.message.split(":")[0]) for f in check.errors] == [
        ("actions.import_rows.response.job.poll.until", "'data.status ==' is not a valid JMESPath expression")]


def test_spec_check_passes_the_job_spec() -> None:
    check = check_spec_text(SPEC)
    assert check.errors == []


def test_spec_check_reports_a_job_results_match_key_that_is_not_the_record_key() -> None:
    spec = SPEC.replace("match: {index: index}", "match: {key: user_id}")
    check = check_spec_text(spec)
    assert [f.issue.key for f in check.errors] == ["actions.import_rows.response.job.results.match.key"]
    assert "match.key 'user_id' is not it" in check.errors[0].issue.message
