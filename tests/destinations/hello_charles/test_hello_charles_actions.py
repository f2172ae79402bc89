"""Hello Charles' other actions end to end: GDPR delete, flow events (seed 001), single-contact mode.

Every sync goes through the real client code, in process (``httpx.ASGITransport``) or on a
real port, against the emulator; assertions read back what the emulator stored.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app, testing_profile
from destkit.runtime import Outcome, Status, build_sync, load_spec
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine.state import StateStore
from tests.conftest import API_KEY, PROPERTIES, TAGS, emulator_state, hc_config, in_process_sync
from tests.runtime.engine.test_send_contacts import BAD_ROWS, audience

BASE_URL = "http://acme.hello-charles.test"
JWT_SECRET = "flow-webhook-secret"
GDPR_PATH = "/api/v0/people/cleanup/gdpr/"
SCHEDULED = "GDPR delete contact job scheduled successfully"
EVENT_PATH = "/api/v0/webhooks/incoming/zeotap/custom_external_event"

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


# --------------------------------------------------------------------------- helpers


def delete_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "destination": "hello_charles",
        "action": "delete_contacts",
        "settings": {"subdomain": "acme"},
        "secrets": {"api_key": API_KEY},
        "mapping": {"external_reference_id": "user_id"},
    }
    config.update(overrides)
    return config


def flow_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "destination": "hello_charles",
        "action": "trigger_flow",
        "settings": {"subdomain": "acme"},
        "secrets": {"jwt_secret": JWT_SECRET},
        "mapping": {
            "event_name": "event",
            "external_reference_id": "user_id",
            "email": "email",
            "phone": "phone",
            "event_data": "data",
        },
    }
    config.update(overrides)
    return config


def flow_app() -> Starlette:
    app: Starlette = create_app(api_key=API_KEY, jwt_secret=JWT_SECRET, keep_bodies=True)
    return app


def sync_over(asgi: Any, config: dict[str, Any], **kwargs: Any) -> Any:
    """A sync whose requests go to `asgi` (the emulator, or a wrapper around it) in process."""
    return build_sync(
        config, base_url=BASE_URL, transport=httpx.ASGITransport(app=asgi), allow_http=True, **kwargs
    )


def run(sync: Any, records: list[dict[str, Any]], **kwargs: Any) -> tuple[Any, list[Outcome]]:
    outcomes: list[Outcome] = []
    result = sync.run(records, on_outcome=outcomes.append, **kwargs)
    return result, sorted(outcomes, key=lambda o: o.row)


def call(
    app: Starlette, method: str, path: str, *, json_body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
            return await client.request(method, path, json=json_body, headers=headers or {})

    return asyncio.run(go())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict[str, Any], secret: str = JWT_SECRET, header: dict[str, Any] | None = None) -> str:
    """An HS256 JWT made here, independently of destkit's signer."""
    head = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = b64url(hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{signature}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fresh_token(secret: str = JWT_SECRET) -> str:
    now = int(time.time())
    return sign({"iat": now, "exp": now + 300}, secret)


def post_event(app: Starlette, body: Any, token: str | None = None) -> httpx.Response:
    return call(app, "POST", EVENT_PATH, json_body=body, headers=bearer(token or fresh_token()))


class Recorder:
    """ASGI wrapper: the raw (still percent-encoded) path of every request, before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.raw_paths: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.raw_paths.append(scope["raw_path"])
        await self.app(scope, receive, send)


class Slow:
    """ASGI wrapper: delays each contact upsert and records the peak number in flight.

    `delays` gives the delay of the n-th upsert (1-based); others wait `default` seconds.
    """

    def __init__(self, app: ASGIApp, default: float = 0.02, delays: dict[int, float] | None = None) -> None:
        self.app = app
        self.default = default
        self.delays = delays or {}
        self.seen = 0
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/v1beta/contacts"):
            await self.app(scope, receive, send)
            return
        self.seen += 1
        delay = self.delays.get(self.seen, self.default)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(delay)
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def upsert_with_store(app: Starlette, store: StateStore, n: int = 3) -> dict[str, str]:
    """Send `n` contacts with a state store; the person ids the emulator gave them, by user id."""
    result, _ = run(in_process_sync(app), audience(n), state=store)
    assert result.summary.delivered == n
    return {ext: c.id for ext, c in emulator_state(app).contacts.items()}


def stored_contacts(app: Starlette) -> dict[str, dict[str, Any]]:
    """The emulator's contacts without what differs between two emulators (ids, timestamps)."""
    out = {}
    for ext, contact in emulator_state(app).contacts.items():
        data = contact.to_dict()
        for volatile in ("id", "created_at", "updated_at"):
            data.pop(volatile)
        out[ext] = data
    return out


# --------------------------------------------------------------------------- GDPR delete


def test_delete_resolves_person_ids_from_the_state_store_and_removes_the_contacts(
    app: Starlette, tmp_path: Path
) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    ids = upsert_with_store(app, store)
    result, outcomes = run(in_process_sync(app, delete_config()), audience(3), state=store)
    state = emulator_state(app)
    assert result.summary.delivered == 3
    assert state.contacts == {}
    assert sorted(state.deleted) == sorted(ids.values())
    assert [(o.row, o.status, o.key, o.message) for o in outcomes] == [
        (1, Status.DELIVERED, "u00001", SCHEDULED),
        (2, Status.DELIVERED, "u00002", SCHEDULED),
        (3, Status.DELIVERED, "u00003", SCHEDULED),
    ]
    assert sorted(r.path for r in state.requests if r.method == "DELETE") == sorted(
        GDPR_PATH + person_id for person_id in ids.values()
    )


def test_delete_with_person_id_mapped_needs_no_state_store(app: Starlette) -> None:
    ids = upsert_with_store(app, StateStore(":memory:"), n=2)
    config = delete_config(mapping={"external_reference_id": "user_id", "person_id": "pid"})
    records = [{"user_id": ext, "pid": person_id} for ext, person_id in ids.items()]
    result, outcomes = run(in_process_sync(app, config), records)
    assert result.summary.delivered == 2
    assert [(o.status, o.message) for o in outcomes] == [(Status.DELIVERED, SCHEDULED)] * 2
    assert emulator_state(app).contacts == {}
    assert sorted(emulator_state(app).deleted) == sorted(ids.values())


def test_delete_request_is_a_bodiless_delete_on_the_gdpr_path(app: Starlette) -> None:
    ids = upsert_with_store(app, StateStore(":memory:"), n=1)
    config = delete_config(mapping={"external_reference_id": "user_id", "person_id": "pid"})
    run(in_process_sync(app, config), [{"user_id": "u00001", "pid": ids["u00001"]}])
    deletes = [r for r in emulator_state(app).requests if r.method == "DELETE"]
    assert [(r.path, r.status, r.body_bytes, r.body) for r in deletes] == [
        (GDPR_PATH + ids["u00001"], 200, 0, b"")
    ]


@pytest.mark.parametrize("with_store", [False, True], ids=["no store", "store without the key"])
def test_an_unresolvable_person_id_is_invalid_with_a_fix(
    app: Starlette, tmp_path: Path, with_store: bool
) -> None:
    store = StateStore(tmp_path / "s.sqlite") if with_store else None
    _result, outcomes = run(in_process_sync(app, delete_config()), [{"user_id": "ghost"}], state=store)
    where = "the state store has no id for it" if with_store else "no state store is in use"
    assert [(o.status, o.key, o.reason, o.field, o.message) for o in outcomes] == [
        (
            Status.INVALID,
            "ghost",
            "unresolved_id",
            "person_id",
            f"person_id is not mapped and cannot be looked up for external_reference_id 'ghost' ({where}): "
            "deliver the record through destkit first, or map person_id from your data.",
        )
    ]
    assert [r for r in emulator_state(app).requests if r.method == "DELETE"] == []


def test_deleting_an_unknown_person_id_is_rejected_with_the_destinations_404(app: Starlette) -> None:
    person_id = "00000000-0000-4000-8000-000000000000"
    config = delete_config(mapping={"external_reference_id": "user_id", "person_id": "pid"})
    _result, outcomes = run(in_process_sync(app, config), [{"user_id": "u1", "pid": person_id}])
    assert [
        (o.status, o.reason, o.destination_status, o.destination_code, o.destination_message)
        for o in outcomes
    ] == [
        (
            Status.REJECTED,
            "destination_rejected",
            404,
            "person_not_found",
            f"No person with id '{person_id}'.",
        ),
    ]


def test_deleting_the_same_contacts_twice_is_rejected_404_the_second_time(
    app: Starlette, tmp_path: Path
) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    upsert_with_store(app, store, n=2)
    run(in_process_sync(app, delete_config()), audience(2), state=store)
    _result, outcomes = run(in_process_sync(app, delete_config()), audience(2), state=store)
    assert [(o.status, o.destination_status, o.destination_code) for o in outcomes] == [
        (Status.REJECTED, 404, "person_not_found")
    ] * 2
    assert len(emulator_state(app).deleted) == 2


@pytest.mark.parametrize("person_id", ["a/b", "..", "../../../v1beta/contacts", "x%2Fy", "id\n"])
def test_a_person_id_that_could_change_the_path_is_invalid_by_the_fields_pattern(
    app: Starlette, person_id: str
) -> None:
    config = delete_config(mapping={"external_reference_id": "user_id", "person_id": "pid"})
    _result, outcomes = run(in_process_sync(app, config), [{"user_id": "u1", "pid": person_id}])
    assert [(o.status, o.reason, o.field) for o in outcomes] == [
        (Status.INVALID, "invalid_value", "person_id")
    ]
    assert [r for r in emulator_state(app).requests if r.method == "DELETE"] == []


@pytest.mark.parametrize("person_id", ["a/b", "..", ".", "x?y=1#z"])
def test_without_the_pattern_a_person_id_still_cannot_leave_the_gdpr_path(
    app: Starlette, person_id: str
) -> None:
    """Defence in depth: the path parameter is one encoded segment (or the record is refused before sending).

    A segment that is `.` or `..` after encoding would be removed by URL normalisation (RFC 3986
    dot segments) and send the DELETE to another path, so it must not go out as it stands.
    """
    spec = load_spec("hello_charles").model_copy(deep=True)
    spec.actions["delete_contacts"].fields["person_id"].pattern = None
    recorder = Recorder(app)
    config = delete_config(mapping={"external_reference_id": "user_id", "person_id": "pid"})
    _result, outcomes = run(sync_over(recorder, config, spec=spec), [{"user_id": "u1", "pid": person_id}])
    [outcome] = outcomes
    if outcome.status is Status.INVALID:
        assert (outcome.reason, outcome.field, recorder.raw_paths) == ("invalid_value", "person_id", [])
        return
    [raw] = recorder.raw_paths
    assert raw.startswith(GDPR_PATH.encode())
    segment = raw[len(GDPR_PATH) :].decode()
    assert "/" not in segment and segment not in (".", "..")
    assert urllib.parse.unquote(segment) == person_id
    assert (outcome.status, outcome.destination_status) == (Status.REJECTED, 404)


# --------------------------------------------------------------------------- trigger_flow


def test_events_reach_the_emulator_with_name_identifiers_and_data() -> None:
    app = flow_app()
    records: list[dict[str, Any]] = [
        {
            "event": "abandoned_cart",
            "user_id": "u1",
            "phone": "+4915112345678",
            "data": {"sku": "A-1", "qty": 2},
        },
        {"event": "welcome", "email": "ann@example.com"},
        {"event": "order_shipped", "user_id": "u3", "phone": "4915187654321", "email": "bo@example.com"},
    ]
    _result, outcomes = run(sync_over(app, flow_config()), records)
    state = emulator_state(app)
    assert [(o.row, o.status, o.key) for o in outcomes] == [
        (1, Status.DELIVERED, "u1"),
        (2, Status.DELIVERED, None),
        (3, Status.DELIVERED, "u3"),
    ]
    events = sorted(state.events, key=lambda e: e["event_name"])
    assert [
        (e["source"], e["event_name"], e["external_reference_id"], e["email"], e["phone"], e["event_data"])
        for e in events
    ] == [
        ("zeotap", "abandoned_cart", "u1", None, "+4915112345678", {"sku": "A-1", "qty": 2}),
        ("zeotap", "order_shipped", "u3", "bo@example.com", "4915187654321", None),
        ("zeotap", "welcome", None, "ann@example.com", None, None),
    ]
    # seed 001: an unknown contact is created from the event's phone/email
    assert {e["contact_id"] for e in events} == {c.id for c in state.contacts.values()}
    assert state.contacts["u1"].phone_numbers == [{"type": "mobile", "value": "+4915112345678"}]
    assert state.contacts["ann@example.com"].email_addresses == [{"type": "main", "value": "ann@example.com"}]
    bodies = sorted((orjson.loads(r.body or b"") for r in state.requests), key=lambda b: b["event_name"])
    assert bodies[2] == {"event_name": "welcome", "email": "ann@example.com"}  # absent fields are left out


def test_the_jwt_the_emulator_received_verifies_with_the_webhook_secret() -> None:
    app = flow_app()
    before = int(time.time())
    run(sync_over(app, flow_config()), [{"event": "welcome", "user_id": "u1", "email": "ann@example.com"}])
    after = int(time.time())
    [event] = emulator_state(app).events
    head, body, signature = event["jwt"].split(".")
    assert json.loads(b64url_decode(head)) == {"alg": "HS256", "typ": "JWT"}
    expected = hmac.new(JWT_SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(b64url_decode(signature), expected)
    claims = json.loads(b64url_decode(body))
    assert set(claims) == {"iss", "iat", "exp", "jti"}
    assert claims["iss"] == "destkit"
    assert before - 30 <= claims["iat"] <= after - 30  # back-dated 30 s for receivers whose clock runs behind
    assert claims["exp"] - claims["iat"] == 300 + 30  # valid for 300 s from the sending time
    assert re.fullmatch(r"[0-9a-f]{32}", claims["jti"])  # unique per request (tests/runtime/delivery/test_jwt_interop.py)


def test_a_wrong_jwt_secret_aborts_the_run_and_sends_nothing_more() -> None:
    app = flow_app()
    config = flow_config(secrets={"jwt_secret": "not-the-secret"}, options={"concurrency": 1})
    records = [{"event": "welcome", "user_id": f"u{i}", "email": f"u{i}@example.com"} for i in range(20)]
    result, outcomes = run(sync_over(app, config), records)
    summary = result.summary
    assert summary.aborted is not None and summary.aborted.startswith("auth_failed")
    assert "not-the-secret" not in summary.aborted
    state = emulator_state(app)
    assert [(r.path, r.status) for r in state.requests] == [(EVENT_PATH, 401)]
    assert state.events == []
    assert state.contacts == {}
    assert summary.delivered == 0
    assert summary.reconciles()
    assert {(o.status, o.reason) for o in outcomes} == {(Status.DEAD_LETTERED, "auth_failed")}


def test_an_aborted_run_still_counts_the_request_it_sent() -> None:
    app = flow_app()
    config = flow_config(secrets={"jwt_secret": "not-the-secret"}, options={"concurrency": 1})
    result, _ = run(sync_over(app, config), [{"event": "welcome", "user_id": "u1", "email": "a@b.co"}])
    assert len(emulator_state(app).requests) == 1
    assert result.summary.requests == 1


def test_events_without_a_key_still_go_out_concurrently() -> None:
    """Ordering by key must not serialise records that have no key (external_reference_id is optional)."""
    app = flow_app()
    in_flight = {"now": 0, "peak": 0}

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        in_flight["now"] += 1
        in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        try:
            await asyncio.sleep(0.02)
            await app(scope, receive, send)
        finally:
            in_flight["now"] -= 1

    config = flow_config(options={"concurrency": 3})
    records = [{"event": "welcome", "email": f"u{i}@example.com"} for i in range(9)]
    result, _ = run(sync_over(slow, config), records)
    assert result.summary.delivered == 9
    assert in_flight["peak"] == 3


@pytest.mark.parametrize("event_name", ["abandoned cart", " welcome", "order\tshipped", "abandoned_cart\n"])
def test_an_event_name_with_whitespace_is_invalid_and_never_sent(event_name: str) -> None:
    app = flow_app()
    _result, outcomes = run(sync_over(app, flow_config()), [{"event": event_name, "user_id": "u1"}])
    assert [(o.status, o.reason, o.field) for o in outcomes] == [
        (Status.INVALID, "invalid_value", "event_name")
    ]
    assert emulator_state(app).requests == []


@pytest.mark.parametrize("event_source, source", [(None, "zeotap"), ("emarsys", "emarsys")])
def test_the_webhook_path_uses_the_event_source_setting(event_source: str | None, source: str) -> None:
    app = flow_app()
    settings = {"subdomain": "acme"} | ({} if event_source is None else {"event_source": event_source})
    run(sync_over(app, flow_config(settings=settings)), [{"event": "welcome", "email": "ann@example.com"}])
    state = emulator_state(app)
    assert [(r.method, r.path, r.status) for r in state.requests] == [
        ("POST", f"/api/v0/webhooks/incoming/{source}/custom_external_event", 200)
    ]
    assert [e["source"] for e in state.events] == [source]


def test_events_over_a_real_port_verify_and_arrive() -> None:
    app = flow_app()
    records = [{"event": "welcome", "user_id": f"u{i}", "phone": f"+49151000000{i:02d}"} for i in range(10)]
    with running_server(app) as url:
        result, _outcomes = run(build_sync(flow_config(), base_url=url, allow_http=True), records)
    assert result.summary.delivered == 10
    assert sorted(e["external_reference_id"] for e in emulator_state(app).events) == [
        f"u{i}" for i in range(10)
    ]
    assert {r.status for r in emulator_state(app).requests} == {200}


# --------------------------------------------------------------------------- single-contact mode

SINGLE = {"subdomain": "acme", "batch_api": False}


def test_single_contact_mode_sends_one_put_per_valid_record(app: Starlette) -> None:
    records = audience(10)
    records[6]["phone"] = "415-555-0101"  # invalid: never sent
    result, outcomes = run(in_process_sync(app, hc_config(settings=SINGLE)), records)
    state = emulator_state(app)
    puts = [r for r in state.requests if r.method == "PUT"]
    assert [(r.path, r.status, r.contact_count) for r in puts] == [("/api/v1beta/contacts", 200, 1)] * 9
    assert sorted(orjson.loads(r.body or b"")["external_reference_id"] for r in puts) == [
        f"u{row:05d}" for row in range(1, 11) if row != 7
    ]
    assert orjson.loads(next(r.body for r in puts if b'"u00001"' in (r.body or b"")) or b"") == {
        "external_reference_id": "u00001",
        "source_type": "zeotap",
        "first_name": "First1",
        "last_name": "Last1",
        "phone_numbers": [{"type": "mobile", "value": "+14155550001"}],
        "email_addresses": [{"type": "main", "value": "user1@example.com"}],
        "tags": ["newsletter"],
        "custom_properties": {"plan": "pro", "loyalty_tier": "gold"},
    }
    assert [o.destination_id for o in outcomes if o.status is Status.DELIVERED] == [
        state.contacts[f"u{row:05d}"].id for row in range(1, 11) if row != 7
    ]
    assert (result.summary.requests, result.summary.delivered) == (9, 9)


def test_single_contact_mode_keeps_concurrency_bounded(app: Starlette) -> None:
    slow = Slow(app, default=0.02)
    config = hc_config(settings=SINGLE, options={"concurrency": 3})
    records = [record for row, record in enumerate(audience(16), 1) if row not in BAD_ROWS]
    result, _ = run(sync_over(slow, config), records)
    assert result.summary.delivered == 15
    assert slow.seen == 15
    assert slow.peak == 3


def test_single_and_batch_modes_give_the_same_outcomes_and_contents() -> None:
    records = audience(120)  # rows 7 and 100 are invalid
    runs = {}
    for batch_api in (True, False):
        app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
        config = hc_config(settings={"subdomain": "acme", "batch_api": batch_api})
        result, outcomes = run(in_process_sync(app, config), records)
        ids = {ext: c.id for ext, c in emulator_state(app).contacts.items()}
        assert [o.destination_id for o in outcomes if o.status is Status.DELIVERED] == [
            ids[o.key] for o in outcomes if o.status is Status.DELIVERED and o.key is not None
        ]
        runs[batch_api] = (
            [(o.row, o.status, o.key, o.reason, o.field, o.message) for o in outcomes],
            stored_contacts(app),
            result.summary.delivered,
        )
    assert runs[False] == runs[True]
    assert runs[True][2] == 120 - len([row for row in BAD_ROWS if row <= 120])


def test_single_contact_mode_rejects_what_the_destination_refuses_with_its_422(app: Starlette) -> None:
    spec = load_spec("hello_charles").model_copy(deep=True)
    spec.actions["send_contacts"].fields[
        "phone_number"
    ].format = None  # let a bad phone through to the destination
    records = audience(3)
    records[1]["phone"] = "0151 1234"
    result, outcomes = run(in_process_sync(app, hc_config(settings=SINGLE), spec=spec), records)
    assert [
        (o.row, o.status, o.reason, o.destination_status, o.destination_code, o.destination_message)
        for o in outcomes
        if o.status is not Status.DELIVERED
    ] == [
        (
            2,
            Status.REJECTED,
            "destination_rejected",
            422,
            "invalid_phone_number",
            "Invalid phone number '0151 1234': expected '+', country code and digits only, e.g. +15551234567.",
        )
    ]
    assert result.summary.delivered == 2
    assert set(emulator_state(app).contacts) == {"u00001", "u00003"}


@pytest.mark.parametrize("batch_api", [False, True], ids=["single", "batch"])
def test_records_with_the_same_key_land_in_input_order_even_when_the_first_is_slower(
    app: Starlette, batch_api: bool
) -> None:
    """The later record of a key must win, as the Batcher promises, whatever the network does."""
    records = audience(6)
    records[2]["user_id"] = "u00001"
    records[2]["first_name"] = "Second"
    slow = Slow(app, default=0.01, delays={1: 0.2})  # the request carrying row 1 is slow
    result, _ = run(
        sync_over(slow, hc_config(settings={"subdomain": "acme", "batch_api": batch_api})), records
    )
    assert result.summary.delivered == 6
    assert emulator_state(app).contacts["u00001"].first_name == "Second"


# --------------------------------------------------------------------------- the webhook itself


def test_an_expired_jwt_is_401_token_expired() -> None:
    now = int(time.time())
    response = post_event(
        flow_app(), {"event_name": "welcome", "email": "a@b.co"}, sign({"iat": now - 600, "exp": now - 1})
    )
    assert response.status_code == 401
    assert [e["code"] for e in response.json()["errors"]] == ["token_expired"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer not.a.jwt",
        "Basic " + base64.b64encode(b"user:pass").decode(),
        "Bearer " + fresh_token("another-secret"),
        "Bearer " + sign({"exp": int(time.time()) + 300}, header={"alg": "none", "typ": "JWT"}),
        "Bearer " + fresh_token().rsplit(".", 1)[0] + ".",
    ],
    ids=["missing", "empty", "garbage", "basic", "wrong secret", "alg none", "no signature"],
)
def test_a_bad_or_missing_jwt_is_401_invalid_token(authorization: str | None) -> None:
    app = flow_app()
    headers = {} if authorization is None else {"Authorization": authorization}
    response = call(
        app, "POST", EVENT_PATH, json_body={"event_name": "welcome", "email": "a@b.co"}, headers=headers
    )
    assert response.status_code == 401
    assert [e["code"] for e in response.json()["errors"]] == ["invalid_token"]
    assert emulator_state(app).events == []


def test_a_tampered_payload_is_401_invalid_token() -> None:
    head, _, signature = fresh_token().split(".")
    forged = b64url(json.dumps({"iat": 0, "exp": 2**40}).encode())
    response = post_event(
        flow_app(), {"event_name": "welcome", "email": "a@b.co"}, f"{head}.{forged}.{signature}"
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "invalid_token"


@pytest.mark.parametrize(
    "body, code",
    [
        ({"email": "a@b.co"}, "invalid_event_name"),
        ({"event_name": "abandoned cart", "email": "a@b.co"}, "invalid_event_name"),
        ({"event_name": "cart\n", "email": "a@b.co"}, "invalid_event_name"),
        ({"event_name": "welcome"}, "missing_contact_identifier"),
        ({"event_name": "welcome", "email": "  ", "phone": ""}, "missing_contact_identifier"),
        ({"event_name": "welcome", "phone": "0151 1234567"}, "invalid_phone_number"),
        ({"event_name": "welcome", "phone": "+49-151-1234567"}, "invalid_phone_number"),
        ({"event_name": "welcome", "email": "a@b.co", "event_data": [1]}, "invalid_payload"),
    ],
)
def test_an_event_the_webhook_refuses_is_422_with_its_code(body: dict[str, Any], code: str) -> None:
    app = flow_app()
    response = post_event(app, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == code
    assert emulator_state(app).events == []
    assert emulator_state(app).contacts == {}


def test_the_event_finds_the_contact_by_external_reference_id_then_phone_then_email() -> None:
    app = flow_app()
    for ext, phone, email in [("x1", "+4915100000001", "one@b.co"), ("x2", "+4915100000002", "two@b.co")]:
        body = {
            "external_reference_id": ext,
            "source_type": "test",
            "phone_numbers": [{"type": "mobile", "value": phone}],
            "email_addresses": [{"type": "main", "value": email}],
        }
        assert (
            call(
                app, "PUT", "/api/v1beta/contacts", json_body=body, headers={"x-api-key": API_KEY}
            ).status_code
            == 200
        )
    contacts = emulator_state(app).contacts
    cases = [
        ({"external_reference_id": "x1", "phone": "4915100000002", "email": "two@b.co"}, "x1"),
        ({"external_reference_id": "nope", "phone": "4915100000002", "email": "one@b.co"}, "x2"),
        ({"phone": "+4915199999999", "email": "ONE@b.co"}, "x1"),
    ]
    for identifiers, owner in cases:
        response = post_event(app, {"event_name": "welcome", **identifiers})
        assert response.status_code == 200
        assert response.json()["data"]["contact_id"] == contacts[owner].id
    assert len(contacts) == 2


def test_an_unknown_contact_is_created_from_phone_and_email() -> None:
    app = flow_app()
    response = post_event(app, {"event_name": "welcome", "phone": "4915112345678", "email": "new@b.co"})
    state = emulator_state(app)
    [contact] = state.contacts.values()
    assert response.status_code == 200
    assert response.json()["data"] == {"event_id": state.events[0]["event_id"], "contact_id": contact.id}
    assert (contact.external_reference_id, contact.source_type) == ("+4915112345678", "zeotap")
    assert contact.phone_numbers == [{"type": "mobile", "value": "+4915112345678"}]
    assert contact.email_addresses == [{"type": "main", "value": "new@b.co"}]
    assert state.events[0]["created_contact"] is True


def test_an_unknown_external_reference_id_alone_is_404_contact_not_found() -> None:
    app = flow_app()
    response = post_event(app, {"event_name": "welcome", "external_reference_id": "nobody"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "contact_not_found"
    assert emulator_state(app).contacts == {}


def test_events_are_not_subject_to_the_fault_plan() -> None:
    app = create_app(jwt_secret=JWT_SECRET, faults=FaultPlan(rate_500=1.0))
    response = post_event(app, {"event_name": "welcome", "email": "a@b.co"})
    assert response.status_code == 200
    assert emulator_state(app).faults.counts == emulator_state(create_app()).faults.counts


def test_a_second_gdpr_delete_of_the_same_person_is_404() -> None:
    app = create_app()
    body = {"external_reference_id": "x1", "source_type": "test"}
    person_id = call(
        app, "PUT", "/api/v1beta/contacts", json_body=body, headers={"x-api-key": "test-key"}
    ).json()["data"]["id"]
    first = call(app, "DELETE", GDPR_PATH + person_id, headers={"x-api-key": "test-key"})
    second = call(app, "DELETE", GDPR_PATH + person_id, headers={"x-api-key": "test-key"})
    assert (first.status_code, second.status_code) == (200, 404)
    assert second.json()["errors"][0]["code"] == "person_not_found"
    assert emulator_state(app).deleted == [person_id]


# --------------------------------------------------------------------------- testing_profile


def _profile_sync(action: str, mapping: dict[str, Any]) -> tuple[Starlette, Any]:
    profile = testing_profile(action)
    assert set(profile) <= {"app_options", "settings", "secrets", "catalogs", "variants", "prepare", "verify", "assume"}
    assert profile["settings"]["subdomain"] == "conformance"
    app = create_app(**profile["app_options"])
    config: dict[str, Any] = {
        "destination": "hello_charles",
        "action": action,
        "settings": profile["settings"],
        "secrets": profile["secrets"],
        "mapping": mapping,
    }
    if "catalogs" in profile:
        config["catalogs"] = profile["catalogs"]
    return app, sync_over(app, config)


def test_testing_profile_drives_send_contacts() -> None:
    app, sync = _profile_sync("send_contacts", {"external_reference_id": "id", "tags": "tags"})
    result, _ = run(sync, [{"id": "c1", "tags": ["vip"]}])
    assert result.summary.delivered == 1
    assert emulator_state(app).contacts["c1"].tags == ["vip"]


def test_testing_profile_drives_delete_contacts() -> None:
    app, sync = _profile_sync("delete_contacts", {"external_reference_id": "id", "person_id": "pid"})
    api_key = testing_profile("delete_contacts")["secrets"]["api_key"]
    body = {"external_reference_id": "c1", "source_type": "test"}
    person_id = call(
        app, "PUT", "/api/v1beta/contacts", json_body=body, headers={"x-api-key": api_key}
    ).json()["data"]["id"]
    result, _ = run(sync, [{"id": "c1", "pid": person_id}])
    assert result.summary.delivered == 1
    assert emulator_state(app).deleted == [person_id]


def test_testing_profile_drives_trigger_flow() -> None:
    app, sync = _profile_sync("trigger_flow", {"event_name": "name", "email": "email"})
    result, _ = run(sync, [{"name": "welcome", "email": "a@b.co"}])
    assert result.summary.delivered == 1
    assert [e["event_name"] for e in emulator_state(app).events] == ["welcome"]


def test_testing_profile_refuses_an_unknown_action() -> None:
    with pytest.raises(ValueError, match="send_contacts, delete_contacts, trigger_flow"):
        testing_profile("nope")
