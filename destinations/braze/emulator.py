"""An emulator of Braze's REST API (user track, subscription group status), as a real Starlette ASGI app.

What it plays, and from where ([doc] a braze.com/docs page says it; [log] a public client log shows it;
[ours] the public record is silent and we chose):

* ``Authorization: Bearer <REST API key>`` on every request [doc]; a missing or other key is
  HTTP 401 ``{"message": "Invalid API key: ..."}`` [doc: 401 "Unauthorized - Invalid API key"; text ours].
* Rate limits per endpoint, announced on every authenticated answer as ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (epoch seconds) [doc]; over the budget the
  answer is HTTP 429 ``{"message": "Too Many Requests"}`` [doc: 429]. Defaults: ``/users/track`` 3,000
  requests per 3 seconds [doc], ``/subscription/status/set`` 5,000 per minute [doc]; a fixed window [ours].
* ``POST /users/track`` with ``{"attributes": [...], "events": [...], "purchases": [...]}``, at most
  75 objects of each kind [doc]. Each attributes object names its user (``external_id``, ``braze_id``,
  ``user_alias``, ``email`` or ``phone``) [doc] and is checked on its own (see ``store.attribute_error``):
  a bad one is listed in ``errors`` by its index, ``{"type": "'email' is not valid", "input_array":
  "attributes", "index": 3}`` [log: the shape; the type texts for attributes are ours], and the others
  are applied. The answer is HTTP 201 ``{"message": "success", "attributes_processed": N}`` plus
  ``errors`` when some failed [doc: "successful message with non-fatal errors"; the 201 with them per
  the task brief, 201 without them ours]. When nothing in the request was valid the answer is fatal:
  HTTP 400 ``{"message": "Valid data must be provided in the 'attributes', 'events', or 'purchases'
  fields.", "errors": [...]}`` [log]. Over 75 objects, or a body that is not a JSON object, is HTTP
  400 with a ``message`` [doc: 400 bad request; texts ours]. Events and purchases are counted, not kept.
* ``POST /subscription/status/set`` with ``subscription_group_id``, ``subscription_state``
  (``subscribed``/``unsubscribed``) and ``external_id``, ``email`` or ``phone`` (a string or an array of at
  most 50; email and phone not both) [doc]; HTTP 201 ``{"message": "success"}`` [doc example]. An
  unknown group id is HTTP 400 [ours: Braze's answer is unpublished]. States are kept per (group,
  identifier) whether or not the user exists [ours].

Users live in ``app.state.emulator.contacts``, keyed by external id (see ``store.EmulatorState``).
``faults=`` injects seeded failures (:mod:`destkit.destinations._kit`) into the two write endpoints.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from destkit.destinations._kit import (
    BodyLimits,
    Exchange,
    FaultPlan,
    ORJSONResponse,
    RecorderMiddleware,
    answer_faulted,
    http_error_status,
    injector_for,
    read_body,
    readback_routes,
    request_exchange,
)

from .demo import demo_profile
from .profile import testing_profile
from .store import FAULTABLE_PATHS, EmulatorState, JSONObject, RateWindow, RecordedRequest, attribute_error

__all__ = [
    "DEFAULT_GROUPS",
    "MAX_OBJECTS",
    "MAX_SUBSCRIPTION_IDS",
    "NO_VALID_DATA",
    "EmulatorOptions",
    "EmulatorState",
    "create_app",
    "demo_profile",
    "testing_profile",
]

MAX_OBJECTS = 75
"""Attributes (and events, and purchases) objects per /users/track request [doc]."""

MAX_SUBSCRIPTION_IDS = 50
"""Identifiers per /subscription/status/set request [doc]."""

DEFAULT_GROUPS: tuple[str, ...] = ("5bd0b4c3-7c8f-4a52-a8c0-0e0c0c0b1a01",)
"""Subscription groups of the emulated workspace (ids as the dashboard shows them)."""

NO_VALID_DATA = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
"""The fatal message when no object of a request is valid [log]."""

TRACK = "/users/track"
SUBSCRIPTION = "/subscription/status/set"
Limit = tuple[int, float]


@dataclass(frozen=True)
class EmulatorOptions:
    """How one app checks requests (``app.state.options``): the key, the groups, the budgets, the clock."""

    api_key: str
    groups: frozenset[str]
    limits: Mapping[str, Limit]
    body: BodyLimits
    clock: Callable[[], float]


def _store(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _options(request: Request) -> EmulatorOptions:
    options: EmulatorOptions = request.app.state.options
    return options


def _reply(status: int, body: JSONObject, headers: Mapping[str, str] | None = None) -> Response:
    return ORJSONResponse(body, status_code=status, headers=headers)


# --------------------------------------------------------------------------- auth and budgets


def _auth_refusal(request: Request) -> Response | None:
    """The 401 for a request without the workspace's REST API key; None when it carries it."""
    given = request.headers.get("authorization", "")
    if given == f"Bearer {_options(request).api_key}":
        return None
    return _reply(401, {"message": "Invalid API key: the Authorization header must be 'Bearer <REST API key>'"})


def _window(request: Request) -> RateWindow:
    """The rate budget of the request's endpoint (made on first use from the app's limits)."""
    state, path = _store(request), request.url.path
    if path not in state.windows:
        limit, seconds = _options(request).limits[path]
        state.windows[path] = RateWindow(limit, seconds)
    return state.windows[path]


def _with_budget(response: Response, window: RateWindow) -> Response:
    response.headers.update(window.headers())
    return response


def _fault_answer(kind: str, plan: FaultPlan) -> Response:
    if kind == "429":
        reset = str(int(time.time() + max(1.0, plan.retry_after)))
        return _reply(429, {"message": "Too Many Requests"},
                      {"X-RateLimit-Limit": "3000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    status = {"500": 500, "503": 503, "timeout": 504}.get(kind, 503)
    return _reply(status, {"message": HTTPStatus(status).phrase})


async def _guarded(request: Request, work: Callable[[bytes], Response]) -> Response:
    """Body, auth, budget, faults, then ``work(body)``; every authenticated answer carries the budget."""
    options = _options(request)
    raw = await read_body(request, options.body)
    if (denied := _auth_refusal(request)) is not None:
        return denied
    window = _window(request)
    if not window.take(options.clock()):
        return _with_budget(_reply(429, {"message": "Too Many Requests"}), window)
    if raw is None:
        return _with_budget(_reply(413, {"message": "Request body too large"}), window)

    def process(_faultable: bool) -> Response:
        return _with_budget(work(raw), window)

    return await answer_faulted(request, _store(request).faults, process, _fault_answer)


def _json_object(raw: bytes) -> JSONObject | None:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


# --------------------------------------------------------------------------- /users/track


def _objects(body: JSONObject, kind: str) -> list[Any] | str:
    """The request's list of ``kind`` objects (empty when absent), or why it is refused."""
    value = body.get(kind)
    if value is None:
        return []
    if not isinstance(value, list):
        return f"'{kind}' must be an array"
    if len(value) > MAX_OBJECTS:
        return f"Too many {kind}: at most {MAX_OBJECTS} per request, got {len(value)}"
    return value


def _apply_attributes(request: Request, attributes: list[Any]) -> tuple[int, list[JSONObject]]:
    """Apply each valid attributes object; (how many were applied, the minor errors of the others by index)."""
    errors, applied = [], 0
    for index, item in enumerate(attributes):
        problem = attribute_error(item)
        if problem is None:
            _store(request).apply(item)
            applied += 1
        else:
            errors.append({"type": problem, "input_array": "attributes", "index": index})
    return applied, errors


def _success(counts: Mapping[str, int], errors: list[JSONObject]) -> Response:
    """201 success with ``<kind>_processed`` for each kind the request had, and the minor errors if any."""
    answer: JSONObject = {"message": "success"}
    answer.update({f"{kind}_processed": n for kind, n in counts.items()})
    if errors:
        answer["errors"] = errors
    return _reply(201, answer)


def _track(request: Request, raw: bytes) -> Response:
    body = _json_object(raw)
    if body is None:
        return _reply(400, {"message": "The request body must be a JSON object"})
    lists = {kind: _objects(body, kind) for kind in ("attributes", "events", "purchases")}
    if refused := next((v for v in lists.values() if isinstance(v, str)), None):
        return _reply(400, {"message": refused})
    attributes, events, purchases = (v for v in lists.values() if isinstance(v, list))
    request_exchange(request).contact_count = len(attributes)
    applied, errors = _apply_attributes(request, attributes)
    if applied == 0 and not events and not purchases:
        return _reply(400, {"message": NO_VALID_DATA, "errors": errors})
    given = {"attributes": (attributes, applied), "events": (events, len(events)), "purchases": (purchases, len(purchases))}
    return _success({kind: n for kind, (objects, n) in given.items() if objects}, errors)


async def users_track(request: Request) -> Response:
    """``POST /users/track``: apply each valid attributes object, list the failed ones by index."""
    return await _guarded(request, lambda raw: _track(request, raw))


# --------------------------------------------------------------------------- /subscription/status/set


def _identifiers(body: JSONObject) -> tuple[str, list[str]] | str:
    """(kind, values) of the users a subscription request names, or why it is refused."""
    given = [k for k in ("external_id", "email", "phone") if body.get(k) is not None]
    if not given:
        return "one of external_id, email or phone is required"
    if "email" in given and "phone" in given:
        return "the endpoint accepts email or phone, not both"
    kind = given[0]
    values = body[kind] if isinstance(body[kind], list) else [body[kind]]
    if not values or not all(isinstance(v, str) and v for v in values):
        return f"'{kind}' must be a string or a non-empty array of strings"
    if len(values) > MAX_SUBSCRIPTION_IDS:
        return f"'{kind}' may include up to {MAX_SUBSCRIPTION_IDS} values, got {len(values)}"
    return kind, values


def _subscription_problem(request: Request, body: JSONObject) -> str | None:
    group, state = body.get("subscription_group_id"), body.get("subscription_state")
    if not isinstance(group, str) or not group:
        return "subscription_group_id is required"
    if group not in _options(request).groups:
        return f"Subscription group {group} not found"
    if state not in ("subscribed", "unsubscribed"):
        return "subscription_state must be 'subscribed' or 'unsubscribed'"
    return None


def _set_status(request: Request, raw: bytes) -> Response:
    body = _json_object(raw)
    if body is None:
        return _reply(400, {"message": "The request body must be a JSON object"})
    if (problem := _subscription_problem(request, body)) is not None:
        return _reply(400, {"message": problem})
    named = _identifiers(body)
    if isinstance(named, str):
        return _reply(400, {"message": named})
    kind, values = named
    request_exchange(request).contact_count = len(values)
    for value in values:
        _store(request).subscriptions[(body["subscription_group_id"], kind, value)] = body["subscription_state"]
    return _reply(201, {"message": "success"})


async def subscription_status_set(request: Request) -> Response:
    """``POST /subscription/status/set``: set the state of up to 50 users in one subscription group."""
    return await _guarded(request, lambda raw: _set_status(request, raw))


# --------------------------------------------------------------------------- the app


def _record(scope: Scope, status: int, exchange: Exchange) -> RecordedRequest:
    authorization = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
    return RecordedRequest(
        method=scope["method"],
        path=scope["path"],
        status=status,
        body_bytes=exchange.body_bytes,
        authorization=None if authorization is None else authorization.split(" ", 1)[0],  # the scheme, not the key
        object_count=exchange.contact_count,
        body=exchange.body,
        fault=exchange.fault,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    status, _headers = http_error_status(exc)
    return _reply(status, {"message": f"{request.method} {request.url.path}: {HTTPStatus(status).phrase}"})


def create_app(
    *,
    api_key: str = "test-rest-api-key",
    subscription_groups: Iterable[str] = DEFAULT_GROUPS,
    track_limit: Limit = (3000, 3.0),
    subscription_limit: Limit = (5000, 60.0),
    max_body_bytes: int = 4_000_000,
    faults: FaultPlan | str | None = None,
    keep_bodies: bool = False,
    state: EmulatorState | None = None,
    clock: Callable[[], float] | None = None,
) -> Starlette:
    """Build the emulator; its state is ``app.state.emulator``, its options ``app.state.options``.

    ``api_key`` is the REST API key the bearer check accepts; ``subscription_groups`` the workspace's
    group ids; ``track_limit`` and ``subscription_limit`` (requests, seconds) the endpoints' budgets
    (the documented ones by default); ``faults`` a seeded fault plan (or its text) for the write
    endpoints; ``clock`` (epoch seconds) what the budgets' windows run on.
    """
    emulator_state = state if state is not None else EmulatorState()
    emulator_state.faults = injector_for(faults, default_paths=FAULTABLE_PATHS)
    app = Starlette(
        routes=[
            Route(TRACK, users_track, methods=["POST"]),
            Route(SUBSCRIPTION, subscription_status_set, methods=["POST"]),
            *readback_routes(),
        ],
        middleware=[Middleware(RecorderMiddleware, requests=emulator_state.requests, make_record=_record)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.emulator = emulator_state
    app.state.options = EmulatorOptions(
        api_key=api_key,
        groups=frozenset(subscription_groups),
        limits={TRACK: track_limit, SUBSCRIPTION: subscription_limit},
        body=BodyLimits(max_body_bytes=max_body_bytes, keep_bodies=keep_bodies),
        clock=clock or time.time,
    )
    return app
