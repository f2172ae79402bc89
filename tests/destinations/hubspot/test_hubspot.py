"""HubSpot: the emulator plays the documented answers (200 with lower-cased emails, 207 multi-status, a
whole-batch 400, 401, 429 RATE_LIMITS, list memberships, the OAuth token endpoint), and syncs reach it
end to end: contacts upserted (ids kept in the state store), then added to and removed from a list by
those ids, with a private-app token and with OAuth2 (refresh token, an access token that expires)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from destkit.destinations.hubspot.emulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    LIST_ID,
    REFRESH_TOKEN,
    TOKEN,
    create_app,
)
from destkit.destinations.hubspot.store import HubSpotState
from destkit.runtime import Status, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine.sources import read_records
from destkit.runtime.engine.state import StateStore

ROOT = Path(__file__).resolve().parents[3]
CLI = [sys.executable, "-m", "destkit.runtime.cli.app"]
BEARER = {"authorization": f"Bearer {TOKEN}"}
SECRETS = {"private_app_token": TOKEN, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
           "refresh_token": REFRESH_TOKEN}


def upsert_body(*emails: str) -> dict[str, Any]:
    return {"inputs": [{"id": e, "idProperty": "email", "properties": {"email": e}} for e in emails]}


class TestClient:
    """Requests to the emulator in process, through httpx's ASGI transport."""

    __test__ = False

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api.hubapi.test") as client:
                return await client.request(method, path, **kwargs)
        return asyncio.run(send())

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)


def state_of(app: Starlette) -> HubSpotState:
    state: HubSpotState = app.state.emulator
    return state


# --- the emulator ---------------------------------------------------------------------------------


def test_an_upsert_answers_200_with_each_contacts_id_and_its_email_lower_cased() -> None:
    client = TestClient(create_app())
    answer = client.post("/crm/v3/objects/contacts/batch/upsert", json=upsert_body("Ada@Example.com"), headers=BEARER)
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert (result["id"], result["properties"]["email"], result["new"]) == ("1001", "ada@example.com", True)
    assert answer.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert answer.headers["X-HubSpot-RateLimit-Remaining"] == "99"


def test_an_upsert_with_a_refused_input_answers_207_naming_it_in_errors() -> None:
    client = TestClient(create_app(gdpr_deleted=["gone@example.com"]))
    answer = client.post("/crm/v3/objects/contacts/batch/upsert", json=upsert_body("ok@example.com", "gone@example.com"),
                         headers=BEARER)
    assert answer.status_code == 207
    body = answer.json()
    assert [r["properties"]["email"] for r in body["results"]] == ["ok@example.com"]
    assert [(e["category"], e["context"]["ids"]) for e in body["errors"]] == [("VALIDATION_ERROR", ["gone@example.com"])]


@pytest.mark.parametrize("emails, message", [
    (("ok@example.com", "not-an-email"), "email 'not-an-email' is not a valid email address"),
    (("ada@example.com", "ADA@example.com"), "Duplicate IDs found in batch input: [ada@example.com]"),
    (tuple(f"u{i}@example.com" for i in range(101)), "Batch input limit of 100 exceeded: 101 inputs"),
], ids=["invalid email", "same email twice", "101 inputs"])
def test_one_invalid_input_fails_the_whole_batch_with_400(emails: tuple[str, ...], message: str) -> None:
    app = create_app()
    answer = TestClient(app).post("/crm/v3/objects/contacts/batch/upsert", json=upsert_body(*emails), headers=BEARER)
    assert answer.status_code == 400
    assert (answer.json()["category"], answer.json()["message"].split(": ", 1)[-1] in message) == ("VALIDATION_ERROR", True)
    assert state_of(app).contacts == {}


def test_a_request_without_a_valid_token_is_refused_with_401() -> None:
    answer = TestClient(create_app()).post("/crm/v3/objects/contacts/batch/upsert", json=upsert_body("a@example.com"),
                                           headers={"authorization": "Bearer pat-wrong"})
    assert (answer.status_code, answer.json()["category"]) == (401, "INVALID_AUTHENTICATION")


def test_destkit_emulates_api_key_is_the_private_app_token_the_emulator_accepts() -> None:
    answer = TestClient(create_app(api_key="pat-from-the-cli")).put(
        f"/crm/v3/lists/{LIST_ID}/memberships/add", json=[], headers={"authorization": "Bearer pat-from-the-cli"})
    assert answer.status_code == 200


def test_the_burst_limit_answers_429_with_the_rate_limits_category() -> None:
    client = TestClient(create_app(burst=2))
    statuses = [client.put(f"/crm/v3/lists/{LIST_ID}/memberships/add", json=[], headers=BEARER) for _ in range(3)]
    assert [s.status_code for s in statuses] == [200, 200, 429]
    assert statuses[2].json()["category"] == "RATE_LIMITS"
    assert statuses[2].headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_list_memberships_add_and_remove_known_ids_and_name_the_missing_ones() -> None:
    app = create_app()
    state_of(app).add_contact("ada@example.com", "7")
    client = TestClient(app)
    added = client.put(f"/crm/v3/lists/{LIST_ID}/memberships/add", json=["7", "8"], headers=BEARER)
    assert added.json() == {"recordIdsAdded": ["7"], "recordIdsMissing": ["8"]}
    assert state_of(app).members(LIST_ID) == {"7"}
    removed = client.put(f"/crm/v3/lists/{LIST_ID}/memberships/remove", json=["7"], headers=BEARER)
    assert removed.json() == {"recordIdsRemoved": ["7"], "recordIdsMissing": []}
    assert state_of(app).members(LIST_ID) == set()
    unknown = client.put("/crm/v3/lists/999/memberships/add", json=["7"], headers=BEARER)
    assert (unknown.status_code, unknown.json()["category"]) == (404, "OBJECT_NOT_FOUND")


def test_the_token_endpoint_refuses_an_unknown_refresh_token_in_hubspots_shape() -> None:
    answer = TestClient(create_app()).post("/oauth/v1/token", data={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": "nope"})
    assert answer.status_code == 400
    assert (answer.json()["status"], answer.json()["message"]) == ("BAD_REFRESH_TOKEN", "missing or unknown refresh token")


# --- syncs against the served emulator --------------------------------------------------------------


@pytest.fixture
def app() -> Starlette:
    return create_app(gdpr_deleted=["gone@example.com"], token_ttl=1)


@pytest.fixture
def served(app: Starlette) -> Iterator[str]:
    with running_server(app) as url:
        yield url


def config(action: str, auth_type: str = "private_app", **mapping: str) -> dict[str, Any]:
    return {"destination": "hubspot", "action": action, "settings": {"auth_type": auth_type, "list_id": LIST_ID},
            "secrets": SECRETS, "mapping": {"email": "email", **mapping}}


def test_upserted_contacts_are_matched_case_insensitively_and_their_ids_kept(served: str, app: Starlette,
                                                                            tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    sync = build_sync(config("upsert_contacts", first_name="first"), base_url=served, allow_http=True)
    outcomes: list[Any] = []
    result = sync.run([{"email": "Ada@Example.com", "first": "Ada"}, {"email": "grace@example.com"},
                       {"email": "gone@example.com"}], on_outcome=outcomes.append, state=store)
    by_key = {o.key: o for o in outcomes}
    assert (result.summary.delivered, result.summary.count(Status.REJECTED)) == (2, 1)
    assert by_key["gone@example.com"].destination_code == "VALIDATION_ERROR"
    assert store.destination_id("hubspot", "Ada@Example.com") == by_key["Ada@Example.com"].destination_id == "1001"
    assert state_of(app).contacts["1001"].properties["firstname"] == "Ada"
    store.close()


def test_a_whole_batch_400_is_split_so_the_other_contacts_are_delivered(served: str, app: Starlette) -> None:
    sync = build_sync(config("upsert_contacts"), base_url=served, allow_http=True)
    emails = ["ada@example.com", "b@example.com", "ADA@example.com", "c@example.com"]  # HubSpot: one id twice
    result = sync.run([{"email": e} for e in emails])
    assert result.summary.delivered == 4
    assert set(state_of(app).by_email) == {"ada@example.com", "b@example.com", "c@example.com"}
    assert result.summary.requests > 1


def test_a_429_from_the_burst_limit_is_retried_until_every_contact_is_delivered(served: str, app: Starlette) -> None:
    state_of(app).budget.limit, state_of(app).budget.interval = 1, 0.2  # one request per 0.2 s
    sync = build_sync({**config("upsert_contacts"), "options": {"concurrency": 3}}, base_url=served, allow_http=True)
    result = sync.run([{"email": f"u{i}@example.com"} for i in range(300)])
    assert result.summary.delivered == 300
    assert result.summary.retries > 0
    assert len(state_of(app).by_email) == 300


def test_list_membership_follows_the_ids_of_earlier_upserts(served: str, app: Starlette, tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    contacts = [{"email": f"u{i}@example.com"} for i in range(5)]
    build_sync(config("upsert_contacts"), base_url=served, allow_http=True).run(contacts, state=store)
    outcomes: list[Any] = []
    add = build_sync(config("add_to_list"), base_url=served, allow_http=True)
    added = add.run([*contacts, {"email": "stranger@example.com"}], on_outcome=outcomes.append, state=store)
    assert added.summary.delivered == 5
    assert [(o.key, o.reason) for o in outcomes if o.status is Status.INVALID] == [("stranger@example.com", "unresolved_id")]
    assert state_of(app).emails_of(state_of(app).members(LIST_ID)) == {c["email"] for c in contacts}
    remove = build_sync(config("remove_from_list"), base_url=served, allow_http=True)
    assert remove.run(contacts[:2], state=store).summary.delivered == 2
    assert state_of(app).emails_of(state_of(app).members(LIST_ID)) == {c["email"] for c in contacts[2:]}
    store.close()


def test_with_oauth_an_expired_access_token_is_refreshed_from_the_emulators_token_endpoint(
        served: str, app: Starlette) -> None:
    sync = build_sync(config("upsert_contacts", auth_type="oauth"), base_url=served, allow_http=True)

    async def slowly() -> Any:
        async def feed() -> Any:
            for i in range(200):  # two full batches of 100, the second sent once the first token has expired
                if i == 100:
                    await asyncio.sleep(1.1)  # the token lives 1 s
                yield {"email": f"u{i}@example.com"}
        return await sync.arun(feed())

    result = asyncio.run(slowly())
    assert result.summary.delivered == 200
    assert app.state.issuer.grants == ["refresh_token", "refresh_token"]
    assert app.state.issuer.refresh_used == [REFRESH_TOKEN, REFRESH_TOKEN]


def test_with_oauth_a_revoked_refresh_token_stops_the_run_naming_the_secret(served: str) -> None:
    bad = config("upsert_contacts", auth_type="oauth")
    bad["secrets"] = {**SECRETS, "refresh_token": "na1-revoked-refresh-token"}
    result = build_sync(bad, base_url=served, allow_http=True).run([{"email": "a@example.com"}])
    assert result.summary.aborted == (
        "auth_failed: the destination refused the credentials (HTTP 400): the token endpoint refused the refresh token "
        "(BAD_REFRESH_TOKEN: missing or unknown refresh token); renew secrets.refresh_token.")


def test_the_example_config_and_sample_sync_against_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSPOT_PRIVATE_APP_TOKEN", TOKEN)
    app = create_app()
    sync = build_sync(ROOT / "examples" / "hubspot.sync.yaml", base_url="http://api.hubapi.test", allow_http=True,
                      transport=httpx.ASGITransport(app=app))
    outcomes: list[Any] = []
    sync.run(read_records(ROOT / "examples" / "hubspot_contacts.csv"), on_outcome=outcomes.append)
    assert [o.status for o in sorted(outcomes, key=lambda o: o.row)] == [Status.DELIVERED] * 3 + [Status.INVALID]
    assert set(state_of(app).by_email) == {"ada@example.com", "grace@example.com", "linus@example.com"}


# --- the CLI ----------------------------------------------------------------------------------------


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_spec_check_passes_the_hubspot_spec_without_a_warning() -> None:
    result = cli("spec", "check", str(ROOT / "specs" / "hubspot.yaml"))
    assert (result.returncode, result.stdout.strip()) == (0, "ok: hubspot (3 actions)"), result.stderr


def test_destkit_test_hubspot_passes_with_nothing_skipped() -> None:
    result = cli("test", "hubspot", "--examples", "20")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed, 0 skipped" in result.stdout


def test_destkit_demo_runs_against_the_hubspot_emulator(tmp_path: Path) -> None:
    result = cli("demo", "--destination", "hubspot", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reason: destination_rejected" in result.stdout
