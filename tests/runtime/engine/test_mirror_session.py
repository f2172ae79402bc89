"""Mirror removals sent through a body with `$session.*` values are a session of their own: numbered from 1
in the order built, the final removal request flagged `last_batch`, under an id that is not the adds'
(Meta Custom Audiences refuses a DELETE whose session_id is missing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from destkit.runtime import build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine.state import StateStore
from destkit.runtime.spec.loader import parse_spec

SPEC = parse_spec("""
spec_version: 1
id: session_audience
name: Session audience
base_url: "https://api.example.com"
auth: {kind: none}
actions:
  members:
    title: Audience members
    fields:
      email: {type: string, required: true}
    batch: {max_records: 2}
    request:
      path: /users
      body:
        data: $records
        session: {session_id: $session.id, batch_seq: $session.batch_seq, last_batch_flag: $session.last_batch}
      record: [$email]
    remove:
      request: {method: DELETE}
""", "session_audience.yaml")
CONFIG = {"destination": "session_audience", "action": "members", "mapping": {"email": "email"},
          "options": {"mirror": True}}


def test_removals_are_numbered_as_a_session_of_their_own(tmp_path: Path) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    async def users(request: Request) -> JSONResponse:
        seen.append((request.method, (await request.json())["session"]))
        return JSONResponse({})

    app = Starlette(routes=[Route("/users", users, methods=["POST", "DELETE"])])
    store = StateStore(tmp_path / "state.sqlite")
    with running_server(app) as url:
        sync = build_sync(CONFIG, spec=SPEC, base_url=url, allow_http=True)
        sync.run([{"email": f"user{i}@example.com"} for i in range(6)], state=store)
        seen.clear()
        sync.run([{"email": "user0@example.com"}], state=store)
    store.close()

    removals = sorted((s["batch_seq"], s["last_batch_flag"]) for method, s in seen if method == "DELETE")
    assert removals == [(1, False), (2, False), (3, True)]  # 5 members left, 2 a request
    assert len({s["session_id"] for method, s in seen if method == "DELETE"}) == 1
    assert all(isinstance(s["session_id"], int) and s["session_id"] > 0 for _, s in seen)
