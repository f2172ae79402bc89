"""Emarsys: WSSE signing, the spec's keyed per-record results, batching and retries, against the emulator."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from destkit.destinations.emarsys.auth import WsseAuth, wsse
from destkit.destinations.emarsys.emulator import EmulatorState, create_app, testing_profile
from destkit.runtime import Outcome, Status, Sync, build_sync, load_spec
from destkit.runtime.cli.server import running_server
from destkit.runtime.config.secrets import Secret
from destkit.runtime.delivery.reading import ResponseReader
from destkit.runtime.delivery.retry import RetryPolicy

USER = "test-user"
SECRET = "test-secret"
BASE_URL = "http://api.emarsys.test"
WSSE = re.compile(
    r'UsernameToken Username="([^"]*)", PasswordDigest="([^"]*)", Nonce="([^"]*)", Created="([^"]*)"'
)


def em_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "destination": "emarsys",
        "action": "upsert_contacts",
        "settings": {},
        "secrets": {"username": USER, "secret": SECRET},
        "mapping": {
            "email": "email",
            "first_name": "first_name",
            "last_name": "last_name",
            "phone": "phone",
            "opt_in": "opt_in",
        },
    }
    config.update(overrides)
    return config


def people(n: int) -> list[dict[str, Any]]:
    return [
        {
            "email": f"user{i}@example.com",
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "phone": f"+49151{i:07d}",
            "opt_in": i % 2 == 1,
        }
        for i in range(1, n + 1)
    ]


def in_process(app: Starlette, config: dict[str, Any] | None = None, **kwargs: Any) -> Sync:
    return build_sync(
        config or em_config(),
        base_url=BASE_URL,
        transport=httpx.ASGITransport(app=app),
        allow_http=True,
        retry=RetryPolicy(base=0.001, cap=0.01),
        **kwargs,
    )


def state_of(app: Starlette) -> EmulatorState:
    state: EmulatorState = app.state.emulator
    return state


def contact_requests(app: Starlette) -> list[Any]:
    return [r for r in state_of(app).requests if r.path == "/api/v2/contact/"]


def call(app: Starlette, method: str, path: str, auth: httpx.Auth, json: Any = None) -> httpx.Response:
    """One request to the emulator, in process."""

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
            return await client.request(method, path, json=json, auth=auth)

    return asyncio.run(go())


def digest(nonce: str, created: str, secret: str) -> str:
    """The Emarsys digest, computed here independently of destkit: base64 of the hex SHA-1."""
    return base64.b64encode(hashlib.sha1(f"{nonce}{created}{secret}".encode()).hexdigest().encode()).decode()


@pytest.fixture
def app() -> Starlette:
    return create_app(username=USER, secret=SECRET, keep_bodies=True)


# --- the spec ----------------------------------------------------------------------------------


def test_spec_loads_with_the_wsse_hook_the_emulator_and_the_batch_key() -> None:
    spec = load_spec("emarsys")
    action = spec.actions["upsert_contacts"]
    assert (spec.base_url, spec.auth.kind, spec.emulator) == (
        "https://api.emarsys.net",
        "hook",
        "destkit.destinations.emarsys.emulator:create_app",
    )
    assert (action.request.method, action.request.path) == ("PUT", "/api/v2/contact/")
    assert (action.batch.max_records, action.batch.max_bytes, action.batch.key) == (1000, 8_000_000, "email")
    assert [n for n, f in action.fields.items() if f.required] == ["email"]


@pytest.mark.parametrize("setting, sent", [(None, "1"), (True, "1"), (False, "0")])
def test_create_if_not_exists_setting_renders_the_query_parameter(
    app: Starlette, setting: bool | None, sent: str
) -> None:
    settings = {} if setting is None else {"create_if_not_exists": setting}
    assert in_process(app, em_config(settings=settings)).query == {"create_if_not_exists": sent}


def test_a_200_whose_reply_code_is_not_0_is_unreadable_not_delivered() -> None:
    reader = ResponseReader(load_spec("emarsys").actions["upsert_contacts"].response)
    assert isinstance(
        reader.read({"replyCode": 1, "replyText": "Something failed", "data": ""}, ["a@x.com"]), str
    )


def test_an_empty_errors_list_means_every_contact_was_applied() -> None:
    reader = ResponseReader(load_spec("emarsys").actions["upsert_contacts"].response)
    results = reader.read(
        {"replyCode": 0, "replyText": "OK", "data": {"ids": [1, 2], "errors": []}}, ["a@x.com", "b@x.com"]
    )
    assert not isinstance(results, str)
    assert [r.ok for r in results] == [True, True]


# --- WSSE --------------------------------------------------------------------------------------


def test_the_x_wsse_header_the_emulator_received_has_an_independently_computed_digest(app: Starlette) -> None:
    in_process(app).run(people(1))
    [request] = contact_requests(app)
    assert request.wsse is not None
    match = WSSE.fullmatch(request.wsse)
    assert match is not None
    username, password_digest, nonce, created = match.groups()
    assert username == USER
    assert re.fullmatch(r"[0-9a-f]{32}", nonce)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created)
    assert password_digest == digest(nonce, created, SECRET)
    assert (request.status, request.auth_error) == (200, None)


def test_wsse_with_a_fixed_clock_and_nonce_gives_the_known_header() -> None:
    auth = wsse(
        secrets={"username": Secret(USER), "secret": Secret(SECRET)},
        settings={},
        clock=lambda: datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC),
        nonce=lambda: "0123456789abcdef" * 2,
    )
    request = next(auth.auth_flow(httpx.Request("PUT", "https://api.emarsys.net/api/v2/contact/")))
    nonce, created = "0123456789abcdef" * 2, "2026-11-22T10:00:00Z"
    assert request.headers["X-WSSE"] == (
        f'UsernameToken Username="{USER}", PasswordDigest="{digest(nonce, created, SECRET)}", '
        f'Nonce="{nonce}", Created="{created}"'
    )
    # the hex-then-base64 quirk: the digest decodes to 40 hex characters, not 20 raw bytes
    assert re.fullmatch(r"[0-9a-f]{40}", base64.b64decode(digest(nonce, created, SECRET)).decode())


def test_every_request_gets_a_fresh_nonce(app: Starlette) -> None:
    records = [*people(2), people(1)[0]]  # the repeated email forces a second request
    in_process(app).run(records)
    headers = [r.wsse or "" for r in contact_requests(app)]
    nonces = [m.group(3) for h in headers if (m := WSSE.fullmatch(h))]
    assert len(nonces) == 2 and nonces[0] != nonces[1]


def test_the_auth_repr_shows_no_credential() -> None:
    auth = wsse(secrets={"username": Secret("acme001"), "secret": Secret("s3cr3t-value")}, settings={})
    assert repr(auth) == "WsseAuth(***)"
    assert "s3cr3t" not in str(vars(auth)) and "acme001" not in str(vars(auth))


def test_a_username_that_would_break_the_header_is_refused() -> None:
    with pytest.raises(ValueError, match="without quotes"):
        WsseAuth(Secret('acme", Nonce="x'), Secret(SECRET))


def test_the_emulator_refuses_a_created_older_than_five_minutes() -> None:
    app = create_app(username=USER, secret=SECRET)
    old = wsse(
        secrets={"username": USER, "secret": SECRET},
        settings={},
        clock=lambda: datetime.now(UTC) - timedelta(minutes=6),
    )
    response = call(app, "GET", "/api/v2/field", old)
    assert response.status_code == 401
    assert response.json() == {"replyCode": 1, "replyText": "Unauthorized", "data": ""}
    assert state_of(app).requests[-1].auth_error == "Created is more than 5 minutes old"


def test_the_emulator_accepts_a_created_four_minutes_old() -> None:
    app = create_app(username=USER, secret=SECRET)
    recent = wsse(
        secrets={"username": USER, "secret": SECRET},
        settings={},
        clock=lambda: datetime.now(UTC) - timedelta(minutes=4),
    )
    assert call(app, "GET", "/api/v2/field", recent).status_code == 200


def test_the_emulator_refuses_a_reused_nonce() -> None:
    app = create_app(username=USER, secret=SECRET)
    same_nonce = wsse(secrets={"username": USER, "secret": SECRET}, settings={}, nonce=lambda: "ab" * 16)
    statuses = [call(app, "GET", "/api/v2/field", same_nonce).status_code for _ in range(2)]
    assert statuses == [200, 401]
    assert state_of(app).requests[-1].auth_error == "nonce already used"


def test_the_emulator_refuses_a_digest_made_with_another_secret() -> None:
    app = create_app(username=USER, secret=SECRET)
    response = call(
        app, "GET", "/api/v2/field", wsse(secrets={"username": USER, "secret": "wrong"}, settings={})
    )
    assert response.status_code == 401
    assert state_of(app).requests[-1].auth_error == "wrong PasswordDigest"


def test_wrong_secret_stops_the_run(app: Starlette) -> None:
    outcomes: list[Outcome] = []
    config = em_config(secrets={"username": USER, "secret": "not-the-secret"})
    result = in_process(app, config).run(people(5), on_outcome=outcomes.append)
    summary = result.summary
    assert summary.aborted is not None and summary.aborted.startswith("auth_failed")
    assert "401" in summary.aborted and "not-the-secret" not in summary.aborted
    assert [(o.row, o.status, o.reason) for o in outcomes] == [
        (r, Status.DEAD_LETTERED, "auth_failed") for r in range(1, 6)
    ]
    assert summary.reconciles()
    assert state_of(app).contacts == {}


# --- keyed per-record results ------------------------------------------------------------------


def test_keyed_errors_reject_exactly_rows_2_and_5_with_emarsys_code_and_message(app: Starlette) -> None:
    records = people(6)
    for row in (1, 3, 4, 6):
        state_of(app).add_contact(records[row - 1]["email"])
    outcomes: list[Outcome] = []
    result = in_process(app, em_config(settings={"create_if_not_exists": False})).run(
        records, on_outcome=outcomes.append
    )
    assert len(contact_requests(app)) == 1
    rejected = [
        (o.row, o.key, o.reason, o.destination_status, o.destination_code, o.destination_message)
        for o in outcomes
        if o.status is Status.REJECTED
    ]
    assert rejected == [
        (
            2,
            "user2@example.com",
            "destination_rejected",
            200,
            "2008",
            "No contact found with the external id: 3 - user2@example.com",
        ),
        (
            5,
            "user5@example.com",
            "destination_rejected",
            200,
            "2008",
            "No contact found with the external id: 3 - user5@example.com",
        ),
    ]
    assert sorted(o.row for o in outcomes if o.status is Status.DELIVERED) == [1, 3, 4, 6]
    assert result.summary.reconciles()


def test_create_if_not_exists_false_rejects_unknown_contacts_with_2008_and_creates_none(
    app: Starlette,
) -> None:
    outcomes: list[Outcome] = []
    in_process(app, em_config(settings={"create_if_not_exists": False})).run(
        people(3), on_outcome=outcomes.append
    )
    [request] = contact_requests(app)
    assert request.query == "create_if_not_exists=0"
    assert [(o.status, o.destination_code) for o in outcomes] == [(Status.REJECTED, "2008")] * 3
    assert state_of(app).contacts == {}


def test_create_if_not_exists_default_creates_unknown_contacts(app: Starlette) -> None:
    result = in_process(app).run(people(2))
    [request] = contact_requests(app)
    assert request.query == "create_if_not_exists=1"
    assert result.summary.delivered == 2
    assert state_of(app).contacts["user1@example.com"].fields == {
        3: "user1@example.com",
        1: "First1",
        2: "Last1",
        15: "+491510000001",
        31: 1,
    }


def test_opt_in_true_and_false_are_sent_as_choice_1_and_2(app: Starlette) -> None:
    records = people(3)
    del records[2]["opt_in"]
    in_process(app).run(records)
    [request] = contact_requests(app)
    assert orjson.loads(request.body or b"") == {
        "key_id": "3",
        "contacts": [
            {"3": "user1@example.com", "1": "First1", "2": "Last1", "15": "+491510000001", "31": 1},
            {"3": "user2@example.com", "1": "First2", "2": "Last2", "15": "+491510000002", "31": 2},
            {"3": "user3@example.com", "1": "First3", "2": "Last3", "15": "+491510000003"},
        ],
    }


def test_a_repeated_email_goes_in_a_second_batch_and_both_rows_are_delivered(app: Starlette) -> None:
    records = [*people(2), {**people(1)[0], "first_name": "Second"}]
    outcomes: list[Outcome] = []
    in_process(app).run(records, on_outcome=outcomes.append)
    assert [r.contact_count for r in contact_requests(app)] == [2, 1]
    assert sorted((o.row, o.status) for o in outcomes) == [
        (1, Status.DELIVERED),
        (2, Status.DELIVERED),
        (3, Status.DELIVERED),
    ]
    assert state_of(app).upsert_counts["user1@example.com"] == 2


def test_a_repeated_email_that_fails_the_second_time_is_rejected_alone(app: Starlette) -> None:
    spec = load_spec("emarsys").model_copy(deep=True)
    spec.actions["upsert_contacts"].fields["first_name"].maxLength = None  # let Emarsys refuse the long name
    records = [*people(2), {**people(1)[0], "first_name": "x" * 300}]
    outcomes: list[Outcome] = []
    in_process(app, spec=spec).run(records, on_outcome=outcomes.append)
    by_row = {o.row: (o.status, o.key, o.destination_code, o.destination_message) for o in outcomes}
    assert by_row == {
        1: (Status.DELIVERED, "user1@example.com", None, None),
        2: (Status.DELIVERED, "user2@example.com", None, None),
        3: (
            Status.REJECTED,
            "user1@example.com",
            "2013",
            "Value too long for field ID: 1 (at most 255 characters)",
        ),
    }
    assert state_of(app).contacts["user1@example.com"].fields[1] == "First1"


# --- limits, splitting and retries -------------------------------------------------------------


def test_2500_contacts_go_in_3_requests(app: Starlette) -> None:
    result = in_process(app).run(people(2500))
    assert sorted((r.contact_count or 0 for r in contact_requests(app)), reverse=True) == [1000, 1000, 500]
    assert result.summary.delivered == 2500
    assert len(state_of(app).contacts) == 2500


def test_a_whole_request_400_is_split_until_the_halves_fit() -> None:
    app = create_app(username=USER, secret=SECRET, max_batch=300)
    result = in_process(app).run(people(1000))
    requests = contact_requests(app)
    assert [(r.status, r.contact_count) for r in requests[:3]] == [(400, 1000), (400, 500), (400, 500)]
    assert sorted((r.status, r.contact_count) for r in requests[3:]) == [(200, 250)] * 4
    assert result.summary.delivered == 1000


def test_a_whole_request_400_that_persists_for_one_contact_rejects_it_with_the_reply_text() -> None:
    app = create_app(username=USER, secret=SECRET, max_batch=0)
    outcomes: list[Outcome] = []
    in_process(app).run(people(2), on_outcome=outcomes.append)
    assert sorted((o.row, o.status, o.destination_status, o.destination_message) for o in outcomes) == [
        (row, Status.REJECTED, 400, "The list of contacts exceeds the maximum size of 0; got 1.")
        for row in (1, 2)
    ]


@pytest.mark.parametrize("status", [423, 503])
def test_423_and_503_are_retried(app: Starlette, status: int) -> None:
    state_of(app).scripted = [status, status]
    outcomes: list[Outcome] = []
    result = in_process(app).run(people(3), on_outcome=outcomes.append)
    assert [r.status for r in contact_requests(app)] == [status, status, 200]
    assert [(o.status, o.attempts) for o in outcomes] == [(Status.DELIVERED, 3)] * 3
    assert result.summary.retries == 2


def test_seeded_503_faults_from_the_shared_fault_plan_are_retried() -> None:
    app = create_app(username=USER, secret=SECRET, faults="503=0.5,seed=3")
    result = in_process(app).run(people(50))
    injected = state_of(app).faults.counts["503"]
    assert injected > 0
    assert result.summary.retries == injected
    assert result.summary.delivered == 50


def test_a_sync_over_a_real_port_is_signed_and_delivered(app: Starlette) -> None:
    with running_server(app) as url:
        result = build_sync(em_config(), base_url=url, allow_http=True).run(people(5))
    assert result.summary.delivered == 5
    [request] = contact_requests(app)
    assert (request.status, request.auth_error) == (200, None)
    assert set(state_of(app).contacts) == {f"user{i}@example.com" for i in range(1, 6)}


# --- the emulator on its own -------------------------------------------------------------------


def _put(app: Starlette, contacts: list[Any], query: str = "create_if_not_exists=1") -> httpx.Response:
    return call(
        app,
        "PUT",
        f"/api/v2/contact/?{query}",
        wsse(secrets={"username": USER, "secret": SECRET}, settings={}),
        json={"key_id": "3", "contacts": contacts},
    )


def test_emulator_keys_an_invalid_email_and_an_unknown_field_by_the_key_value(app: Starlette) -> None:
    response = _put(
        app, [{"3": "not-an-email"}, {"3": "ok@example.com", "999": "x"}, {"3": "good@example.com"}]
    )
    assert response.json() == {
        "replyCode": 0,
        "replyText": "OK",
        "data": {
            "ids": [1001],
            "errors": {
                "not-an-email": {"2013": "Invalid email address: not-an-email"},
                "ok@example.com": {"2006": "Invalid field id: 999"},
            },
        },
    }
    assert set(state_of(app).contacts) == {"good@example.com"}


def test_emulator_refuses_an_email_twice_in_one_request_with_2010(app: Starlette) -> None:
    response = _put(app, [{"3": "a@example.com", "1": "A"}, {"3": "a@example.com", "1": "B"}])
    assert response.json()["data"] == {
        "ids": [],
        "errors": {
            "a@example.com": {
                "2010": "More than one contact in the request with the external id: 3 - a@example.com"
            }
        },
    }


def test_emulator_refuses_an_empty_key_with_2005(app: Starlette) -> None:
    assert _put(app, [{"3": "", "1": "A"}]).json()["data"]["errors"] == {
        "": {"2005": "No value provided for key field: 3"}
    }


def test_emulator_answers_too_many_contacts_with_a_whole_request_400() -> None:
    app = create_app(username=USER, secret=SECRET, max_batch=2)
    response = _put(app, [{"3": f"u{i}@example.com"} for i in range(3)])
    assert (response.status_code, response.json()["replyCode"]) == (400, 2002)


def test_emulator_answers_a_body_over_the_limit_with_413() -> None:
    app = create_app(username=USER, secret=SECRET, max_body_bytes=300)
    response = _put(app, [{"3": f"u{i}@example.com", "1": "x" * 50} for i in range(5)])
    assert (response.status_code, response.json()["replyCode"]) == (413, 1)
    assert state_of(app).contacts == {}


def test_emulator_lists_the_field_ids(app: Starlette) -> None:
    response = call(
        app, "GET", "/api/v2/field", wsse(secrets={"username": USER, "secret": SECRET}, settings={})
    )
    assert [f["id"] for f in response.json()["data"]] == [1, 2, 3, 15, 31, 37]


def test_testing_profile_drives_the_emulator() -> None:
    profile = testing_profile("upsert_contacts")
    assert set(profile) == {"app_options", "settings", "secrets"}
    app = create_app(**profile["app_options"])
    config = em_config(settings=profile["settings"], secrets=profile["secrets"])
    assert in_process(app, config).run(people(3)).summary.delivered == 3


def test_testing_profile_names_the_actions_it_serves() -> None:
    with pytest.raises(KeyError, match="upsert_contacts"):
        testing_profile("delete_contacts")
