"""An in-memory emulator of Meta's Custom Audiences users endpoint, as a real Starlette ASGI app.

What it reproduces, and from where ([doc] a Meta page says it, [ours] the record is silent):

* ``POST`` and ``DELETE /{version}/{audience_id}/users`` with ``{"payload": {"schema": [...], "data":
  [[...], ...]}, "session": {...}}`` [doc]. The token comes as ``Authorization: Bearer`` or the
  ``access_token`` query parameter [doc]; a wrong one is HTTP 400 with error code 190 (OAuthException)
  [doc]. An audience the emulator does not hold is 400 code 100, subcode 33 [doc].
* Every row has exactly one value per schema column [doc]; a row of another length refuses the whole
  request (400 code 100) [ours]. More than ``max_rows`` (10,000) rows is 400 code 100 [doc limit].
* Hashed columns (EMAIL, PHONE, FN, LN, COUNTRY, ...) must hold a 64-hex SHA-256 digest or ""; a value
  that is not one (a plain email, say) is an invalid entry: counted in ``num_invalid_entries``, with
  samples in ``invalid_entry_samples`` (column → the value) [doc fields; the samples' shape is ours],
  and not added. EXTERN_ID is taken as sent [doc: hashing it is optional].
* The session [doc]: ``session_id`` an integer, ``batch_seq`` from 1, ``last_batch_flag`` a boolean.
  A session that ended (its last batch received) refuses a new ``batch_seq`` (400 code 100) [ours];
  a ``batch_seq`` sent again is accepted (a resend) [ours]. ``state.sessions`` keeps what each saw.
* The answer [doc]: ``{"audience_id", "session_id", "num_received", "num_invalid_entries",
  "invalid_entry_samples"}``.
* Throttling as Meta does it: HTTP 400 with error code 80003 [doc] (and an
  ``X-Business-Use-Case-Usage`` header [doc]) once ``throttle_after`` requests have been answered,
  for ``throttle_requests`` requests; seeded ``faults=`` (:mod:`destkit.destinations._kit`) draw 80003
  for a 429 and 5xx/timeouts as themselves.

Membership is kept per audience as a set of identities (a row's non-empty ``(column, value)`` pairs):
``POST`` adds them, ``DELETE`` removes them, so tests can check who is in an audience.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
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
    FaultInjector,
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

from .profile import PROFILE_AUDIENCE, PROFILE_TOKEN, demo_profile, testing_profile

__all__ = [
    "HASHED_COLUMNS",
    "PLAIN_COLUMNS",
    "THROTTLE_CODES",
    "EmulatorOptions",
    "EmulatorState",
    "Member",
    "RecordedRequest",
    "Session",
    "create_app",
    "demo_profile",
    "testing_profile",
]

JSONObject = dict[str, Any]
Identity = tuple[tuple[str, str], ...]

HASHED_COLUMNS = frozenset({"EMAIL", "PHONE", "GEN", "DOBY", "DOBM", "DOBD", "LN", "FN", "FI", "CT", "ST", "ZIP",
                            "COUNTRY"})
"""The schema keys whose values must be SHA-256 hashes [doc]."""

PLAIN_COLUMNS = frozenset({"EXTERN_ID", "MADID", "PAGE_SCOPED_USER_ID"})
"""The schema keys sent as they are [doc: hashing optional or not applicable]."""

THROTTLE_CODES = (4, 17, 32, 613, 80003)
"""Error codes Meta throttles with [doc]; the emulator answers 80003, the custom-audience one."""

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Member:
    """One identity in an audience: its non-empty (column, value) pairs."""

    audience_id: str
    identity: Identity

    def to_dict(self) -> JSONObject:
        return {"audience_id": self.audience_id, **dict(self.identity)}


@dataclass
class Session:
    """What one upload session sent: its batch numbers, the last one's, and how many rows in all."""

    batch_seqs: list[int] = field(default_factory=list)
    last_batch_seq: int | None = None
    rows: int = 0


@dataclass
class RecordedRequest:
    """One request as the emulator saw it (``body`` only with ``keep_bodies=True``)."""

    method: str
    path: str
    status: int
    body_bytes: int
    rows: int | None = None
    auth_error: str | None = None
    body: bytes | None = None
    fault: str | None = None
    outcome: str | None = None


@dataclass
class EmulatorState:
    """Everything the emulator stores, exposed so tests can read back what happened."""

    audiences: dict[str, set[Identity]] = field(default_factory=dict)
    sessions: dict[int, Session] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(default_paths=("/",)))
    upsert_counts: dict[str, int] = field(default_factory=dict)
    answered: int = 0  # requests past auth and validation, for the throttle budget
    throttled: int = 0

    @property
    def contacts(self) -> dict[str, Member]:
        """Every member of every audience (for the shared read-back routes)."""
        return {f"{aid}:{i}": Member(aid, identity) for aid, members in self.audiences.items()
                for i, identity in enumerate(sorted(members))}

    def members(self, audience_id: str, column: str) -> set[str]:
        """The values of ``column`` among the audience's members (e.g. every EMAIL hash)."""
        return {value for identity in self.audiences.get(audience_id, set()) for key, value in identity if key == column}


@dataclass(frozen=True)
class EmulatorOptions:
    """How one app checks requests (``app.state.options``)."""

    access_token: str
    max_rows: int
    body: BodyLimits
    throttle_after: int | None
    throttle_requests: int


def _store(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _options(request: Request) -> EmulatorOptions:
    options: EmulatorOptions = request.app.state.options
    return options


# --------------------------------------------------------------------------- answers


def graph_error(code: int, message: str, *, status: int = 400, subcode: int | None = None,
                kind: str = "OAuthException", headers: dict[str, str] | None = None) -> Response:
    """A Graph API error answer [doc shape]."""
    error: JSONObject = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjK"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return ORJSONResponse({"error": error}, status_code=status, headers=headers)


def _throttled() -> Response:
    usage = orjson.dumps({"act_1": [{"type": "custom_audience", "call_count": 100, "total_cputime": 40,
                                     "total_time": 35, "estimated_time_to_regain_access": 1}]}).decode()
    return graph_error(80003, "There have been too many calls to this ad-account. Wait a bit and try again.",
                       subcode=2446079, headers={"X-Business-Use-Case-Usage": usage})


def _fault_answer(kind: str, plan: FaultPlan) -> Response:
    if kind == "429":  # Meta throttles with 400 and a code, never 429
        return _throttled()
    if kind == "timeout":
        return graph_error(2, "Service temporarily unavailable", status=504, kind="GraphMethodException")
    status = 500 if kind == "500" else 503
    return graph_error(1 if status == 500 else 2, HTTPStatus(status).phrase, status=status, kind="GraphMethodException")


def _record(scope: Scope, status: int, exchange: Exchange) -> RecordedRequest:
    return RecordedRequest(method=scope["method"], path=scope["path"], status=status, body_bytes=exchange.body_bytes,
                           rows=exchange.contact_count, auth_error=exchange.auth_error, body=exchange.body,
                           fault=exchange.fault, outcome=exchange.outcome)


async def _http_error(request: Request, exc: Exception) -> Response:
    status, _headers = http_error_status(exc)
    return graph_error(100, f"Unsupported {request.method} request.", status=status, kind="GraphMethodException")


# --------------------------------------------------------------------------- checks


def _token_refusal(request: Request) -> Response | None:
    """The 400 code 190 for a request without the right token; ``None`` when it has it."""
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else request.query_params.get("access_token")
    if token == _options(request).access_token:
        return None
    request_exchange(request).auth_error = "no token" if not token else "wrong token"
    return graph_error(190, "Invalid OAuth access token - Cannot parse access token", subcode=None)


def _payload_of(raw: bytes, max_rows: int) -> tuple[list[str], list[list[Any]], JSONObject] | Response:
    """(schema, data, session) of a well-formed body, or the whole-request refusal."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return graph_error(100, "(#100) The request body is not valid JSON.")
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, dict):
        return graph_error(100, "(#100) The parameter payload is required")
    schema, data = payload.get("schema"), payload.get("data")
    if isinstance(schema, str):
        schema, data = [schema], [[v] for v in data] if isinstance(data, list) else data
    if not isinstance(schema, list) or not schema or not all(k in HASHED_COLUMNS | PLAIN_COLUMNS for k in schema):
        return graph_error(100, f"(#100) Invalid schema: {schema!r}")
    if not isinstance(data, list) or not data:
        return graph_error(100, "(#100) payload.data must be a non-empty array of rows")
    if len(data) > max_rows:
        return graph_error(100, f"(#100) Too many users in one request: {len(data)}; at most {max_rows}")
    if any(not isinstance(row, list) or len(row) != len(schema) for row in data):
        return graph_error(100, "(#100) Every row of payload.data must have one value per schema column")
    session = body.get("session", {})
    if not isinstance(session, dict):
        return graph_error(100, "(#100) session must be an object")
    return schema, data, session


def _session_problem(state: EmulatorState, session: JSONObject) -> Response | None:
    """A refusal for inconsistent session counters; records them when they are consistent."""
    if not session:
        return None  # [doc] the session is optional
    sid, seq, last = session.get("session_id"), session.get("batch_seq"), session.get("last_batch_flag")
    if not isinstance(sid, int) or isinstance(sid, bool) or sid <= 0:
        return graph_error(100, f"(#100) session_id must be a positive integer, not {sid!r}")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return graph_error(100, f"(#100) batch_seq must be an integer from 1, not {seq!r}")
    if not isinstance(last, bool):
        return graph_error(100, f"(#100) last_batch_flag must be a boolean, not {last!r}")
    known = state.sessions.setdefault(sid, Session())
    if known.last_batch_seq is not None and seq not in known.batch_seqs:
        return graph_error(100, f"(#100) Session {sid} has ended (its last batch was {known.last_batch_seq})")
    if seq not in known.batch_seqs:
        known.batch_seqs.append(seq)
    if last:
        known.last_batch_seq = seq
    return None


def _identity(schema: list[str], row: list[Any]) -> tuple[Identity, tuple[str, str] | None]:
    """The row's identity and, when one of its hashed values is not a SHA-256 digest, that (column, value)."""
    pairs: list[tuple[str, str]] = []
    for column, value in zip(schema, row, strict=True):
        if value is None or value == "":
            continue
        text = str(value)
        if column in HASHED_COLUMNS and not _SHA256.fullmatch(text):
            return (), (column, text)
        pairs.append((column, text))
    return tuple(sorted(pairs)), None


# --------------------------------------------------------------------------- the route


async def users(request: Request) -> Response:
    """``POST`` (add) or ``DELETE`` (remove) ``/{version}/{audience_id}/users``."""
    options, state = _options(request), _store(request)
    raw = await read_body(request, options.body)
    if (denied := _token_refusal(request)) is not None:
        return denied
    audience_id = request.path_params["audience_id"]
    if audience_id not in state.audiences:
        return graph_error(100, f"Unsupported post request. Object with ID '{audience_id}' does not exist",
                           subcode=33, kind="GraphMethodException")
    if raw is None:
        return graph_error(100, f"(#100) The request body exceeds {options.body.max_body_bytes} bytes", status=413)
    parsed = _payload_of(raw, options.max_rows)
    if isinstance(parsed, Response):
        return parsed
    if options.throttle_after is not None and state.answered >= options.throttle_after \
            and state.throttled < options.throttle_requests:
        state.throttled += 1
        request_exchange(request).fault = "throttled 80003"
        return _throttled()

    def process(faultable: bool) -> Response:
        return _apply(request, audience_id, *parsed)

    return await answer_faulted(request, state.faults, process, _fault_answer)


def _apply(request: Request, audience_id: str, schema: list[str], data: list[list[Any]], session: JSONObject) -> Response:
    state = _store(request)
    if (problem := _session_problem(state, session)) is not None:
        return problem
    state.answered += 1
    exchange = request_exchange(request)
    exchange.contact_count = len(data)
    members = state.audiences[audience_id]
    adding = request.method == "POST"
    invalid: dict[str, str] = {}
    count = 0
    for row in data:
        identity, bad = _identity(schema, row)
        if bad is not None:
            count += 1
            invalid.setdefault(bad[0], bad[1])
            continue
        if adding:
            members.add(identity)
        else:
            members.discard(identity)
    if session.get("session_id") in state.sessions:
        state.sessions[session["session_id"]].rows += len(data)
    exchange.outcome = "added" if adding else "removed"
    return ORJSONResponse({"audience_id": audience_id, "session_id": str(session.get("session_id", "")),
                           "num_received": len(data), "num_invalid_entries": count,
                           "invalid_entry_samples": invalid})


def create_app(
    *,
    access_token: str = PROFILE_TOKEN,
    api_key: str | None = None,
    audience_ids: Iterable[str] = (PROFILE_AUDIENCE,),
    max_rows: int = 10_000,
    max_body_bytes: int = 20_000_000,
    throttle_after: int | None = None,
    throttle_requests: int = 1,
    faults: FaultPlan | str | None = None,
    keep_bodies: bool = False,
    state: EmulatorState | None = None,
) -> Starlette:
    """Build the emulator; its state is ``app.state.emulator``, its options ``app.state.options``.

    ``access_token`` is the token it accepts (``api_key``, what ``destkit emulate --api-key`` passes,
    replaces it); ``audience_ids`` the custom audiences that exist (empty).
    ``throttle_after``: after that many answered requests, the next ``throttle_requests`` are
    throttled (400, code 80003). ``faults`` (a plan or its ``"429=0.1,seed=7"`` text) applies to the
    users endpoint.
    """
    emulator_state = state if state is not None else EmulatorState()
    emulator_state.faults = injector_for(faults, default_paths=("/",))
    for audience_id in audience_ids:
        emulator_state.audiences.setdefault(str(audience_id), set())
    routes = [Route("/{version}/{audience_id}/users", users, methods=["POST", "DELETE"]), *readback_routes()]
    app = Starlette(routes=routes,
                    middleware=[Middleware(RecorderMiddleware, requests=emulator_state.requests, make_record=_record)],
                    exception_handlers={404: _http_error, 405: _http_error})
    app.state.emulator = emulator_state
    app.state.options = EmulatorOptions(access_token=api_key if api_key is not None else access_token, max_rows=max_rows,
                                        body=BodyLimits(max_body_bytes=max_body_bytes, keep_bodies=keep_bodies),
                                        throttle_after=throttle_after, throttle_requests=throttle_requests)
    return app


