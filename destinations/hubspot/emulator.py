"""The HubSpot emulator: contacts batch upsert, v3 list memberships, the OAuth token endpoint, private-app
tokens and the burst limit, played as HubSpot documents them (developers.hubspot.com).

- `POST /crm/v3/objects/contacts/batch/upsert` ({"inputs": [{"id": <email>, "idProperty": "email",
  "properties": {...}}]}, at most 100): 200 {"status": "COMPLETE", "results": [...]} with each contact's
  `id` and its email lower-cased; 207 with `errors[]` (one per failed input, its email in `context.ids`)
  when some inputs fail ([ours] an email that was GDPR-deleted may not be created again); a whole-batch 400
  VALIDATION_ERROR when any input is invalid (an invalid email, a repeated id, more than 100 inputs).
- `PUT /crm/v3/lists/{listId}/memberships/add|remove` (a JSON array of contact ids): 200
  {"recordIdsAdded"|"recordIdsRemoved": [...], "recordIdsMissing": [...]}; 404 for a list it does not have.
- `POST /oauth/v1/token`: the refresh-token grant (form-encoded), access tokens that expire (`token_ttl`),
  refusals as {"status": "BAD_REFRESH_TOKEN" | "BAD_CLIENT_ID", "message": ...}.
- Every API call takes `Authorization: Bearer <private app token | live OAuth access token>` (else 401,
  category INVALID_AUTHENTICATION or EXPIRED_AUTHENTICATION), spends the burst budget (`burst` requests per
  10 s; over it: 429 {"status": "error", "category": "RATE_LIMITS", ...}) and carries the
  X-HubSpot-RateLimit-Max / -Remaining / -Interval-Milliseconds headers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from destkit.destinations._kit import ORJSONResponse
from destkit.destinations._kit.oauth2_issuer import TokenIssuer
from destkit.runtime.spec.testing_profile import DemoProfile, TestingProfile

from .demo import demo_profile as _demo_profile
from .store import BurstBudget, HubSpotState

MAX_INPUTS = 100  # [doc] batch endpoints take up to 100 inputs
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")  # [ours] lenient: HubSpot's exact rule is unpublished

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
CLIENT_ID, CLIENT_SECRET = "5f1c0b9e-aaaa-bbbb-cccc-0123456789ab", "0d2e4f6a-1111-2222-3333-abcdefabcdef"
REFRESH_TOKEN = "na1-0a1b-2c3d-4e5f-6a7b-8c9d0e1f2a3b"
LIST_ID = "42"


def _error(status: int, category: str, message: str, **extra: Any) -> Response:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}
    return ORJSONResponse(body, status)


def _hubspot_refusal(code: str, description: str) -> dict[str, Any]:
    status = {"invalid_grant": "BAD_REFRESH_TOKEN", "invalid_client": "BAD_CLIENT_ID"}.get(code, "BAD_REQUEST")
    return {"status": status, "message": description, "correlationId": str(uuid.uuid4())}


class Gate:
    """The checks every API call passes first: the bearer token, then the burst budget."""

    def __init__(self, token: str, issuer: TokenIssuer, budget: BurstBudget) -> None:
        self.token = token
        self.issuer = issuer
        self.budget = budget

    def refuse(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if header != f"Bearer {self.token}" and not self.issuer.valid(header):
            issued = header.removeprefix("Bearer ") in self.issuer.access
            category = "EXPIRED_AUTHENTICATION" if issued else "INVALID_AUTHENTICATION"
            return _error(401, category, "Authentication credentials not found or expired.")
        if not self.budget.take():
            return _error(429, "RATE_LIMITS", "You have reached your ten_secondly_rolling limit.",
                          errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING")
        return None

    def headers(self) -> dict[str, str]:
        return {"X-HubSpot-RateLimit-Max": str(self.budget.limit),
                "X-HubSpot-RateLimit-Remaining": str(self.budget.remaining()),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.budget.interval * 1000))}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _guarded(handler: Callable[[Request, HubSpotState], Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        state: HubSpotState = request.app.state.emulator
        gate: Gate = request.app.state.gate
        state.requests.append((request.method, request.url.path))
        refused = gate.refuse(request)
        response = refused if refused is not None else await handler(request, state)
        response.headers.update(gate.headers())
        return response
    return endpoint


async def _json(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None


def _input_problem(inputs: Any) -> str | None:
    """Why the batch fails whole (HubSpot validates every input before applying any), or None."""
    if not isinstance(inputs, list) or not inputs:
        return "inputs: must be a non-empty list"
    if len(inputs) > MAX_INPUTS:
        return f"Batch input limit of {MAX_INPUTS} exceeded: {len(inputs)} inputs"
    seen: set[str] = set()
    for item in inputs:
        if not isinstance(item, dict) or item.get("idProperty") != "email" or not isinstance(item.get("id"), str):
            return "each input needs an id and idProperty: email"
        email = item["id"].lower()
        if not _EMAIL.match(email):
            return f"Property values were not valid: email {item['id']!r} is not a valid email address"
        if email in seen:
            return f"Duplicate IDs found in batch input: [{email}]"
        seen.add(email)
    return None


async def _batch_upsert(request: Request, state: HubSpotState) -> Response:
    body = await _json(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    problem = _input_problem(inputs)
    if problem is not None:
        return _error(400, "VALIDATION_ERROR", problem)
    assert isinstance(inputs, list)
    now, results, errors = _now(), [], []
    for item in inputs:
        email = item["id"]
        if email.lower() in state.gdpr_deleted:
            errors.append({"status": "error", "category": "VALIDATION_ERROR", "context": {"ids": [email]},
                           "message": f"Cannot create a contact for {email}: it was permanently deleted (GDPR)."})
            continue
        contact, new = state.upsert(email, dict(item.get("properties") or {}), now)
        results.append({"id": contact.id, "properties": dict(contact.properties), "createdAt": contact.created_at,
                        "updatedAt": contact.updated_at, "archived": False, "new": new})
    answer: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": _now()}
    if errors:
        return ORJSONResponse({**answer, "numErrors": len(errors), "errors": errors}, 207)
    return ORJSONResponse(answer)


async def _memberships(request: Request, state: HubSpotState) -> Response:
    list_id, operation = request.path_params["list_id"], request.path_params["operation"]
    if list_id not in state.lists:
        return _error(404, "OBJECT_NOT_FOUND", f"List {list_id} does not exist.")
    ids = await _json(request)
    if not isinstance(ids, list) or not all(isinstance(i, str | int) for i in ids):
        return _error(400, "VALIDATION_ERROR", "the body must be a JSON array of record ids")
    wanted = [str(i) for i in ids]
    known = [i for i in wanted if i in state.contacts]
    missing = [i for i in wanted if i not in state.contacts]
    members = state.lists[list_id]
    if operation == "add":
        members.update(known)
        return ORJSONResponse({"recordIdsAdded": known, "recordIdsMissing": missing})
    members.difference_update(known)
    return ORJSONResponse({"recordIdsRemoved": known, "recordIdsMissing": missing})


def create_app(*, private_app_token: str = TOKEN, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
               refresh_token: str = REFRESH_TOKEN, token_ttl: int = 1800, rotate_refresh_token: bool = False,
               lists: Iterable[str] = (LIST_ID,), burst: int = 100, gdpr_deleted: Iterable[str] = (),
               state: HubSpotState | None = None, api_key: str | None = None) -> Starlette:
    """The emulator; its state is `app.state.emulator`, its token endpoint `app.state.issuer`.

    `burst` requests per 10 s ([doc] 100 for private apps on Free and Starter, 190 on Professional and
    Enterprise); `token_ttl` the seconds an OAuth access token lives ([doc] 1800); `lists` the static
    list ids the account has; `gdpr_deleted` emails that may not be created again. `api_key` (what
    `destkit emulate --api-key` passes) replaces the private-app token.
    """
    emulator_state = state if state is not None else HubSpotState()
    emulator_state.budget = BurstBudget(limit=burst)
    for list_id in lists:
        emulator_state.lists.setdefault(str(list_id), set())
    emulator_state.gdpr_deleted |= {e.lower() for e in gdpr_deleted}
    issuer = TokenIssuer(client_id=client_id, client_secret=client_secret, refresh_token=refresh_token,
                         ttl=token_ttl, rotate=rotate_refresh_token, refusal=_hubspot_refusal)
    app = Starlette(routes=[
        issuer.route("/oauth/v1/token"),
        Route("/crm/v3/objects/contacts/batch/upsert", _guarded(_batch_upsert), methods=["POST"]),
        Route("/crm/v3/lists/{list_id}/memberships/{operation:str}", _guarded(_memberships), methods=["PUT"]),
    ])
    app.state.emulator = emulator_state
    app.state.issuer = issuer
    app.state.gate = Gate(api_key or private_app_token, issuer, emulator_state.budget)
    return app


_SECRETS = {"private_app_token": TOKEN, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN}


def _prepare(app: Starlette, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The list actions' contacts exist before their ids are added or removed."""
    state: HubSpotState = app.state.emulator
    for record in records:
        if record.get("email") and record.get("record_id"):
            state.add_contact(str(record["email"]), str(record["record_id"]))
    return records


def _verify_members(operation: str) -> Callable[[Starlette, list[dict[str, Any]]], list[str]]:
    def verify(app: Starlette, delivered: list[dict[str, Any]]) -> list[str]:
        members = app.state.emulator.members(LIST_ID)
        ids = {str(r["record_id"]) for r in delivered}
        wrong = ids - members if operation == "add" else ids & members
        return [f"contact {i} is {'not ' if operation == 'add' else ''}in list {LIST_ID}" for i in sorted(wrong)]
    return verify


def _verify_contacts(app: Starlette, delivered: list[dict[str, Any]]) -> list[str]:
    state: HubSpotState = app.state.emulator
    return [f"no contact for {r['email']}" for r in delivered if str(r["email"]).lower() not in state.by_email]


def testing_profile(action: str) -> TestingProfile | None:
    """How the QA kit drives each action (every action is also run with auth_type oauth)."""
    oauth = [{"auth_type": "oauth"}]
    if action == "upsert_contacts":
        return {"app_options": {"burst": 10_000}, "settings": {}, "secrets": dict(_SECRETS), "variants": oauth,
                "verify": _verify_contacts}
    if action in ("add_to_list", "remove_from_list"):
        operation = "add" if action == "add_to_list" else "remove"
        return {"app_options": {"burst": 10_000}, "settings": {"list_id": LIST_ID}, "secrets": dict(_SECRETS),
                "variants": oauth, "prepare": _prepare, "verify": _verify_members(operation)}
    raise KeyError(f"the HubSpot emulator serves upsert_contacts, add_to_list and remove_from_list, not {action!r}")


def demo_profile() -> DemoProfile:
    return _demo_profile()


__all__ = ["CLIENT_ID", "CLIENT_SECRET", "LIST_ID", "REFRESH_TOKEN", "TOKEN", "create_app", "demo_profile",
           "testing_profile"]
