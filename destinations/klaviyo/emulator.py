"""An in-memory emulator of Klaviyo's Bulk Import Profiles and list-membership API, as a Starlette app.

What it reproduces, and from where ([doc] a developers.klaviyo.com page, [ours] our choice where the
docs are silent; see specs/klaviyo.yaml):

* Every request needs ``Authorization: Klaviyo-API-Key <key>`` (else 401 ``not_authenticated``) and a
  ``revision`` header (else 400) [doc]. Every error is JSON:API: ``{"errors": [{"id", "status", "code",
  "title", "detail", "source": {"pointer"}}]}`` [doc].
* ``POST /api/profile-bulk-import-jobs``: up to 10,000 profiles and 5 MB [doc] (over: 400 / 413), an
  optional list relationship (an unknown list: 404 [ours]); answers 202 with the job, ``status: queued``
  [doc]. A job is ``processing`` until it has been polled ``polls_to_complete`` times, then ``complete``
  [ours: the real duration varies], and only then are its profiles upserted (by email, lower-cased [ours])
  and added to the list. ``cancel_jobs=True`` cancels every job instead.
* ``GET /api/profile-bulk-import-jobs/{id}/import-errors``: one ``import-error`` per refused profile
  (an invalid email, a phone number not in E.164) with ``source.pointer`` into the request and
  ``original_payload`` (the profile's attributes as sent) [doc shape; codes ours], cursor-paginated,
  20 a page [doc], ``links.next`` an absolute URL [doc].
* ``DELETE /api/lists/{id}/relationships/profiles``: up to 1,000 profile ids [ours]; 204 [doc].
  ``GET`` on the same path lists the list's profile ids (a read-back for tests).
* Rate limits per endpoint family: a burst per second and a steady limit per minute [doc: 10/s, 150/min];
  every answer carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds),
  and a request over a limit gets 429 ``throttled`` with ``Retry-After`` [doc].

The state is ``app.state.emulator`` (profiles, lists, jobs, request counts).
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .demo import demo_profile
from .profile import testing_profile
from .store import (
    MAX_BODY_BYTES,
    MAX_PROFILES,
    MAX_REMOVALS,
    PAGE_SIZE,
    EmulatorState,
    ImportJob,
    finish_job,
    new_id,
)

__all__ = ["MAX_BODY_BYTES", "MAX_PROFILES", "EmulatorState", "ImportJob", "create_app", "demo_profile",
           "finish_job", "testing_profile"]


@dataclass(frozen=True)
class Options:
    api_key: str
    polls_to_complete: int
    cancel_jobs: bool
    burst_per_second: int
    steady_per_minute: int
    clock: Callable[[], float]


def _errors(status: int, code: str, title: str, detail: str, pointer: str = "/data/") -> Response:
    body = {"errors": [{"id": str(uuid.uuid4()), "status": status, "code": code, "title": title, "detail": detail,
                        "source": {"pointer": pointer}, "meta": {}}]}
    return Response(orjson.dumps(body), status, media_type="application/vnd.api+json")


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/vnd.api+json")


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _options(request: Request) -> Options:
    options: Options = request.app.state.options
    return options


def _gatekeeper(request: Request, family: str) -> Response | dict[str, str]:
    """Auth, revision header and rate limits: a refusal, or the rate-limit headers the answer carries."""
    options, state = _options(request), _state(request)
    if request.headers.get("authorization") != f"Klaviyo-API-Key {options.api_key}":
        return _errors(401, "not_authenticated", "Authentication credentials were not provided.",
                       "Missing or invalid private key.")
    if not request.headers.get("revision"):
        return _errors(400, "invalid", "Invalid input.", "The revision header is required.")
    now = options.clock()
    window = state.windows.setdefault(family, deque())
    while window and window[0] <= now - 60:
        window.popleft()
    in_second = sum(1 for t in window if t > now - 1)
    reset = max(1, int(60 - (now - window[0]))) if window else 60
    if in_second >= options.burst_per_second or len(window) >= options.steady_per_minute:
        state.requests["throttled"] += 1
        wait = 1 if in_second >= options.burst_per_second else reset
        response = _errors(429, "throttled", "Request was throttled.",
                           f"Request was throttled. Expected available in {wait} second{'s' if wait > 1 else ''}.")
        response.headers.update({"Retry-After": str(wait), **_limit_headers(options, 0, reset)})
        return response
    window.append(now)
    return _limit_headers(options, options.steady_per_minute - len(window), reset)


def _limit_headers(options: Options, remaining: int, reset: int) -> dict[str, str]:
    return {"RateLimit-Limit": f"{options.steady_per_minute}, {options.burst_per_second};w=1",
            "RateLimit-Remaining": str(max(remaining, 0)), "RateLimit-Reset": str(reset)}


def _with(headers: dict[str, str], response: Response) -> Response:
    response.headers.update(headers)
    return response


async def submit_job(request: Request) -> Response:
    gate = _gatekeeper(request, "bulk-import")
    if isinstance(gate, Response):
        return gate
    state = _state(request)
    state.requests["submit"] += 1
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return _with(gate, _errors(413, "payload_too_large", "Payload too large.",
                                   f"The request body is over {MAX_BODY_BYTES} bytes."))
    parsed = _import_body(raw)
    if isinstance(parsed, Response):
        return _with(gate, parsed)
    profiles, list_id = parsed
    if list_id is not None and list_id not in state.lists:
        return _with(gate, _errors(404, "not_found", "Not found.", f"A list with id {list_id} does not exist.",
                                   "/data/relationships/lists/data/0/id"))
    job = ImportJob(id=new_id(f"job-{len(state.jobs)}-{time.time_ns()}"), profiles=profiles, list_id=list_id)
    state.jobs[job.id] = job
    return _with(gate, _json({"data": _job_resource(request, job)}, 202))


def _import_body(raw: bytes) -> tuple[list[dict[str, Any]], str | None] | Response:
    """The profiles and list id of an import body, or the 400 that refuses it as a whole."""
    try:
        body = orjson.loads(raw)
        data = body["data"]
        assert data["type"] == "profile-bulk-import-job"
        profiles = data["attributes"]["profiles"]["data"]
        assert isinstance(profiles, list) and all(isinstance(p, dict) for p in profiles)
    except (orjson.JSONDecodeError, KeyError, TypeError, AssertionError):
        return _errors(400, "invalid", "Invalid input.", "The payload provided in the request is invalid.")
    if not profiles or len(profiles) > MAX_PROFILES:
        return _errors(400, "invalid", "Invalid input.", f"A job holds 1 to {MAX_PROFILES} profiles, "
                       f"not {len(profiles)}.", "/data/attributes/profiles/data")
    lists = ((data.get("relationships") or {}).get("lists") or {}).get("data") or []
    return profiles, (str(lists[0].get("id")) if lists else None)


def _job_resource(request: Request, job: ImportJob) -> dict[str, Any]:
    failed = len(job.errors)
    done = job.status == "complete"
    return {"type": "profile-bulk-import-job", "id": job.id,
            "attributes": {"status": job.status, "total_count": len(job.profiles),
                           "completed_count": len(job.profiles) - failed if done else 0,
                           "failed_count": failed, "completed_at": None, "started_at": None},
            "links": {"self": f"{request.base_url}api/profile-bulk-import-jobs/{job.id}"}}


async def get_job(request: Request) -> Response:
    gate = _gatekeeper(request, "bulk-import")
    if isinstance(gate, Response):
        return gate
    state, options = _state(request), _options(request)
    state.requests["poll"] += 1
    job = state.jobs.get(request.path_params["job_id"])
    if job is None:
        return _with(gate, _errors(404, "not_found", "Not found.", "No import job with this id."))
    if job.status in ("queued", "processing"):
        job.polls += 1
        job.status = "processing"
        if job.polls >= options.polls_to_complete:
            finish_job(state, job, cancel=options.cancel_jobs)
    return _with(gate, _json({"data": _job_resource(request, job)}))


async def get_import_errors(request: Request) -> Response:
    gate = _gatekeeper(request, "bulk-import")
    if isinstance(gate, Response):
        return gate
    state = _state(request)
    state.requests["errors"] += 1
    job = state.jobs.get(request.path_params["job_id"])
    if job is None:
        return _with(gate, _errors(404, "not_found", "Not found.", "No import job with this id."))
    start = int(request.query_params.get("page[cursor]", "0") or 0)
    size = min(int(request.query_params.get("page[size]", str(PAGE_SIZE))), 100)
    page = job.errors[start:start + size]
    base = f"{request.base_url}api/profile-bulk-import-jobs/{job.id}/import-errors"
    more = start + size < len(job.errors)
    return _with(gate, _json({"data": page, "links": {"self": f"{base}?page[cursor]={start}",
                                                       "next": f"{base}?page[cursor]={start + size}" if more else None,
                                                       "prev": None}}))


async def list_relationships(request: Request) -> Response:
    gate = _gatekeeper(request, "lists")
    if isinstance(gate, Response):
        return gate
    state = _state(request)
    list_id = request.path_params["list_id"]
    if list_id not in state.lists:
        return _with(gate, _errors(404, "not_found", "Not found.", f"A list with id {list_id} does not exist."))
    if request.method == "GET":
        return _with(gate, _json({"data": [{"type": "profile", "id": i} for i in sorted(state.lists[list_id])]}))
    state.requests["remove"] += 1
    try:
        data = orjson.loads(await request.body())["data"]
        ids = [str(item["id"]) for item in data if item["type"] == "profile"]
        assert len(ids) == len(data)
    except (orjson.JSONDecodeError, KeyError, TypeError, AssertionError):
        return _with(gate, _errors(400, "invalid", "Invalid input.", "The payload provided in the request is invalid."))
    if not ids or len(ids) > MAX_REMOVALS:
        return _with(gate, _errors(400, "invalid", "Invalid input.",
                                   f"A request removes 1 to {MAX_REMOVALS} profiles, not {len(ids)}."))
    state.lists[list_id].difference_update(ids)
    return _with(gate, Response(status_code=204))


def create_app(*, api_key: str = "pk_test_key", lists: tuple[str, ...] = ("Y6nRLr",), polls_to_complete: int = 2,
               cancel_jobs: bool = False, burst_per_second: int = 10, steady_per_minute: int = 150,
               clock: Callable[[], float] = time.monotonic, state: EmulatorState | None = None) -> Starlette:
    """Build the emulator; its state is ``app.state.emulator``.

    ``api_key`` is the private key it accepts; ``lists`` the account's list ids; a job completes on
    its ``polls_to_complete``-th poll (or is cancelled, with ``cancel_jobs``); ``burst_per_second``
    and ``steady_per_minute`` are the rate limits of each endpoint family [doc: 10 and 150].
    """
    emulator = state if state is not None else EmulatorState()
    for list_id in lists:
        emulator.lists.setdefault(list_id, set())
    app = Starlette(routes=[
        Route("/api/profile-bulk-import-jobs", submit_job, methods=["POST"]),
        Route("/api/profile-bulk-import-jobs/{job_id}", get_job, methods=["GET"]),
        Route("/api/profile-bulk-import-jobs/{job_id}/import-errors", get_import_errors, methods=["GET"]),
        Route("/api/lists/{list_id}/relationships/profiles", list_relationships, methods=["GET", "DELETE"]),
    ])
    app.state.emulator = emulator
    app.state.options = Options(api_key, max(1, polls_to_complete), cancel_jobs, burst_per_second,
                                steady_per_minute, clock)
    return app
