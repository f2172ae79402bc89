"""A membership emulator (a Starlette app: an audience of emails, add and remove) and a spec for it.

`POST /audiences/{id}/members {members: [{email}]}` adds, `DELETE` with the same body removes;
`POST /audiences/{id}/changes {changes: [{op: add|remove, email}]}` does both in one request (the
per-record operation form). Each answer lists one result per member: `{status: ok}` or
`{status: error, code}`. The emulator keeps every request's members, so a test sees exactly what
reached it.

The fixtures `audience` (an empty one) and `url` (its emulator served on loopback) are taken by a test module
that imports them (`from mirror_kit import audience, url`); `mirror_sync` builds a mirror Sync against `url`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from destkit.runtime import DestinationSpec, Sync, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.spec.loader import parse_spec

TOKEN = "mirror-token"
AUDIENCE = "aud_1"

SPEC = """
spec_version: 1
id: mirror_emulator
name: Mirror Emulator
base_url: "https://mirror.example.com"
settings:
  audience_id: {type: string}
secrets:
  token: {}
auth: {kind: bearer, token: "{{ secrets.token }}"}
actions:
  sync_members:
    title: Sync audience members
    fields:
      email: {type: string, required: true, normalize: [trim, lower]}
      name: {type: string, maxLength: 20}
    batch: {max_records: 2000, key: email}
    request:
      path: "/audiences/{{ settings.audience_id }}/members"
      body: {members: $records}
      record: {email: $email, name: $name}
    response:
      results: results
      ok: {field: status, in: [ok]}
      error: {code: code}
    remove:
      request:
        method: DELETE
        record: {email: $email}
  sync_changes:
    title: Sync audience members, one operation per record
    fields:
      email: {type: string, required: true}
    batch: {max_records: 2000, key: email}
    request:
      path: "/audiences/{{ settings.audience_id }}/changes"
      body: {changes: $records}
      record: {op: $operation, email: $email}
    response:
      results: results
      ok: {field: status, in: [ok]}
      error: {code: code}
    remove: {}
  plain_add:
    title: Add only
    fields:
      email: {type: string, required: true}
    request:
      path: "/audiences/{{ settings.audience_id }}/members"
      body: {members: $records}
      record: {email: $email}
"""


def spec() -> DestinationSpec:
    return parse_spec(SPEC, "mirror_emulator.yaml")


@dataclass
class Audience:
    members: set[str] = field(default_factory=set)
    added: list[str] = field(default_factory=list)  # every add that reached the emulator, in order
    removed: list[str] = field(default_factory=list)  # every removal that reached the emulator
    refuse_removal: set[str] = field(default_factory=set)  # these removals are answered `LOCKED`
    requests: list[dict[str, Any]] = field(default_factory=list)  # method, path, body of each request

    def apply(self, op: str, email: str) -> dict[str, str]:
        if op == "remove":
            self.removed.append(email)
            if email in self.refuse_removal:
                return {"status": "error", "code": "LOCKED"}
            self.members.discard(email)
        else:
            self.added.append(email)
            self.members.add(email)
        return {"status": "ok"}


def create_app(audience: Audience) -> Starlette:
    async def members(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        body = await request.json()
        audience.requests.append({"method": request.method, "path": request.url.path, "body": body})
        op = "remove" if request.method == "DELETE" else "add"
        return JSONResponse({"results": [audience.apply(op, m["email"]) for m in body["members"]]})

    async def changes(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        body = await request.json()
        audience.requests.append({"method": request.method, "path": request.url.path, "body": body})
        return JSONResponse({"results": [audience.apply(c["op"], c["email"]) for c in body["changes"]]})

    return Starlette(routes=[Route("/audiences/{audience_id}/members", members, methods=["POST", "DELETE"]),
                             Route("/audiences/{audience_id}/changes", changes, methods=["POST"])])


def config(action: str = "sync_members", **options: Any) -> dict[str, Any]:
    return {
        "destination": "mirror_emulator",
        "action": action,
        "settings": {"audience_id": AUDIENCE},
        "secrets": {"token": TOKEN},
        "mapping": {"email": "email", "name": "name"} if action == "sync_members" else {"email": "email"},
        "options": {"mirror": True, **options},
    }


def people(numbers: range | list[int]) -> list[dict[str, str]]:
    return [{"email": f"user{n}@example.com"} for n in numbers]


def emails(numbers: range | list[int]) -> set[str]:
    return {f"user{n}@example.com" for n in numbers}


def mirror_sync(url: str, action: str = "sync_members", token: str = TOKEN, **options: Any) -> Sync:
    """A mirror Sync of `action` against the emulator at `url`, with the token given (and the options)."""
    cfg = config(action, **options)
    cfg["secrets"] = {"token": token}
    return build_sync(cfg, spec=spec(), base_url=url, allow_http=True)


@pytest.fixture
def audience() -> Audience:
    return Audience()


@pytest.fixture
def url(audience: Audience) -> Iterator[str]:
    with running_server(create_app(audience)) as base_url:
        yield base_url
