"""The Klaviyo emulator plays the documented API: key and revision checks, JSON:API errors, import jobs
that complete after a few polls, paginated import errors, list removals and the rate limits."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette

from destkit.destinations.klaviyo.emulator import MAX_PROFILES, create_app

KEY = "pk_emulator_key"
HEADERS = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2024-10-15"}
LIST = "Y6nRLr"
JOBS = "/api/profile-bulk-import-jobs"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Http:
    """Requests to the app through httpx's ASGI transport, one event loop per request."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                         base_url="https://a.klaviyo.com") as http:
                return await http.request(method, url, **kwargs)
        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


def client(app: Starlette) -> Http:
    return Http(app)


def import_body(emails: list[str], list_id: str | None = LIST) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": [
        {"type": "profile", "attributes": {"email": e}} for e in emails]}}}
    if list_id is not None:
        data["relationships"] = {"lists": {"data": [{"type": "list", "id": list_id}]}}
    return {"data": data}


def submit(http: Http, emails: list[str], list_id: str | None = LIST) -> str:
    answer = http.post(JOBS, json=import_body(emails, list_id), headers=HEADERS)
    assert answer.status_code == 202, answer.text
    job_id: str = answer.json()["data"]["id"]
    return job_id


def test_a_request_without_the_private_key_is_refused_with_a_json_api_error() -> None:
    answer = client(create_app(api_key=KEY)).post(JOBS, json=import_body(["a@example.com"]),
                                                  headers={"revision": "2024-10-15"})
    assert answer.status_code == 401
    error = answer.json()["errors"][0]
    assert (error["status"], error["code"], error["title"]) == (
        401, "not_authenticated", "Authentication credentials were not provided.")
    assert set(error) == {"id", "status", "code", "title", "detail", "source", "meta"}


def test_a_request_without_the_revision_header_is_refused() -> None:
    answer = client(create_app(api_key=KEY)).post(JOBS, json=import_body(["a@example.com"]),
                                                  headers={"Authorization": f"Klaviyo-API-Key {KEY}"})
    assert (answer.status_code, answer.json()["errors"][0]["detail"]) == (400, "The revision header is required.")


def test_a_job_is_queued_then_processing_and_completes_on_its_third_poll() -> None:
    app = create_app(api_key=KEY, polls_to_complete=3)
    http = client(app)
    answer = http.post(JOBS, json=import_body(["ada@example.com"]), headers=HEADERS)
    assert answer.json()["data"]["attributes"]["status"] == "queued"
    job_id = answer.json()["data"]["id"]
    statuses = [http.get(f"{JOBS}/{job_id}", headers=HEADERS).json()["data"]["attributes"]["status"] for _ in range(3)]
    assert statuses == ["processing", "processing", "complete"]


def test_profiles_are_applied_and_added_to_the_list_only_once_the_job_completes() -> None:
    app = create_app(api_key=KEY, polls_to_complete=2)
    http = client(app)
    job_id = submit(http, ["Ada@Example.com"])
    http.get(f"{JOBS}/{job_id}", headers=HEADERS)
    state = app.state.emulator
    assert state.profiles == {}
    http.get(f"{JOBS}/{job_id}", headers=HEADERS)
    assert state.members(LIST) == {state.profile_id("ada@example.com")}


def test_import_errors_come_twenty_a_page_linked_by_an_absolute_next_url() -> None:
    app = create_app(api_key=KEY, polls_to_complete=1)
    http = client(app)
    emails = [f"bad{i}@nowhere.invalid" for i in range(25)] + ["good@example.com"]
    job_id = submit(http, emails)
    http.get(f"{JOBS}/{job_id}", headers=HEADERS)
    first = http.get(f"{JOBS}/{job_id}/import-errors", headers=HEADERS).json()
    assert len(first["data"]) == 20
    assert first["links"]["next"] == f"https://a.klaviyo.com{JOBS}/{job_id}/import-errors?page[cursor]=20"
    second = http.get(first["links"]["next"], headers=HEADERS).json()
    assert (len(second["data"]), second["links"]["next"]) == (5, None)
    error = second["data"][4]["attributes"]
    assert error["source"] == {"pointer": "/data/attributes/profiles/data/24/attributes/email"}
    assert error["original_payload"] == {"email": "bad24@nowhere.invalid"}
    assert error["code"] == "invalid"


def test_a_job_over_ten_thousand_profiles_is_refused_whole() -> None:
    answer = client(create_app(api_key=KEY)).post(
        JOBS, json=import_body([f"u{i}@example.com" for i in range(MAX_PROFILES + 1)]), headers=HEADERS)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["detail"] == "A job holds 1 to 10000 profiles, not 10001."


def test_an_import_into_an_unknown_list_is_not_found() -> None:
    answer = client(create_app(api_key=KEY)).post(JOBS, json=import_body(["a@example.com"], "XXXXXX"),
                                                  headers=HEADERS)
    assert answer.status_code == 404


def test_a_cancelled_job_applies_nothing() -> None:
    app = create_app(api_key=KEY, polls_to_complete=1, cancel_jobs=True)
    http = client(app)
    job_id = submit(http, ["ada@example.com"])
    assert http.get(f"{JOBS}/{job_id}", headers=HEADERS).json()["data"]["attributes"]["status"] == "cancelled"
    assert app.state.emulator.profiles == {}


def test_removing_profiles_from_a_list_answers_204_and_keeps_the_others() -> None:
    app = create_app(api_key=KEY, polls_to_complete=1)
    http = client(app)
    http.get(f"{JOBS}/{submit(http, ['ada@example.com', 'bo@example.com'])}", headers=HEADERS)
    state = app.state.emulator
    ada, bo = state.profile_id("ada@example.com"), state.profile_id("bo@example.com")
    answer = http.request("DELETE", f"/api/lists/{LIST}/relationships/profiles", headers=HEADERS,
                          json={"data": [{"type": "profile", "id": ada}]})
    assert (answer.status_code, answer.content) == (204, b"")
    assert state.members(LIST) == {bo}


def test_every_answer_carries_the_rate_limit_headers() -> None:
    answer = client(create_app(api_key=KEY, clock=Clock())).post(JOBS, json=import_body(["a@example.com"]),
                                                                 headers=HEADERS)
    assert (answer.headers["RateLimit-Limit"], answer.headers["RateLimit-Remaining"],
            answer.headers["RateLimit-Reset"]) == ("150, 10;w=1", "149", "60")


def test_the_eleventh_request_in_one_second_is_throttled_with_retry_after() -> None:
    clock = Clock()
    http = client(create_app(api_key=KEY, clock=clock))
    statuses = [http.post(JOBS, json=import_body(["a@example.com"]), headers=HEADERS).status_code for _ in range(11)]
    assert statuses == [202] * 10 + [429]
    throttled = http.post(JOBS, json=import_body(["a@example.com"]), headers=HEADERS)
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json()["errors"][0]["code"] == "throttled"
    clock.now += 1.5
    assert http.post(JOBS, json=import_body(["a@example.com"]), headers=HEADERS).status_code == 202


def test_the_steady_limit_throttles_until_the_minute_has_passed() -> None:
    clock = Clock()
    http = client(create_app(api_key=KEY, clock=clock, steady_per_minute=3))
    for _ in range(3):
        assert http.post(JOBS, json=import_body(["a@example.com"]), headers=HEADERS).status_code == 202
        clock.now += 2
    throttled = http.post(JOBS, json=import_body(["a@example.com"]), headers=HEADERS)
    assert (throttled.status_code, throttled.headers["Retry-After"], throttled.headers["RateLimit-Remaining"]) == (
        429, "54", "0")
