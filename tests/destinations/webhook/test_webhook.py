"""The generic webhook: Standard Webhooks signatures, batch and single mode, retries, and the SSRF guard.

Signatures are checked twice over: the emulator verifies every request with its own code, and the
tests recompute the HMAC from the recorded headers and raw body with nothing but hashlib.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from destkit.destinations._kit import FaultInjector, FaultPlan
from destkit.destinations.webhook import emulator
from destkit.destinations.webhook.emulator import URL_PLACEHOLDER, WebhookState, create_app
from destkit.runtime import ConfigError, Outcome, Status, build_sync, load_spec
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.retry import RetryPolicy

SECRET = "whsec_" + base64.b64encode(b"tests-only-webhook-signing-key-32").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"a-different-key-the-receiver-lacks").decode()
FAST_RETRY = RetryPolicy(max_attempts=3, base=0.001, cap=0.001)
MAPPING = {"id": "event_id", "type": "kind", "data": "payload", "timestamp": "at"}


def webhook_config(url: str, **settings: Any) -> dict[str, Any]:
    return {
        "destination": "webhook",
        "action": "send",
        "settings": {"url": url, **settings},
        "secrets": {"signing_secret": SECRET},
        "mapping": MAPPING,
    }


def events(n: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"evt_{i}",
            "kind": "audience.entered",
            "payload": {"user": f"u{i}", "score": i, "tags": ["a", None]},
            "at": "2024-05-01T12:00:00Z",
        }
        for i in range(1, n + 1)
    ]


def sent(i: int) -> dict[str, Any]:
    """Record `i` of `events()` as the receiver must get it."""
    return {
        "id": f"evt_{i}",
        "type": "audience.entered",
        "data": {"user": f"u{i}", "score": i, "tags": ["a", None]},
        "timestamp": "2024-05-01T12:00:00Z",
    }


def state_of(app: Starlette) -> WebhookState:
    state: WebhookState = app.state.emulator
    return state


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks, from the specification: v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    return (
        "v1,"
        + base64.b64encode(
            hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        ).decode()
    )


def signed_headers(
    body: bytes, *, secret: str = SECRET, msg_id: str = "msg_test_1", timestamp: int | None = None
) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, body),
        "content-type": "application/json",
    }


def seed_for(*kinds: str | None, **rates: float) -> int:
    """A seed whose first fault decisions are exactly `kinds` under a plan with `rates`."""
    for seed in range(10_000):
        injector = FaultInjector(FaultPlan(seed=seed, **rates))
        if tuple(injector.decide() for _ in kinds) == kinds:
            return seed
    raise AssertionError(f"no seed gives {kinds}")


@pytest.fixture
def app() -> Starlette:
    receiver: Starlette = create_app(secret=SECRET, keep_bodies=True)
    return receiver


@pytest.fixture
def served(app: Starlette) -> Iterator[str]:
    with running_server(app) as url:
        yield url


# --- the spec -------------------------------------------------------------------------------------


def test_batch_mode_sends_up_to_500_events_and_single_mode_one() -> None:
    action = load_spec("webhook").actions["send"]
    batch, single = action.resolve({"mode": "batch"}), action.resolve({"mode": "single"})
    assert (batch.batch.max_records, batch.batch.max_bytes, batch.request.body) == (
        500,
        1_000_000,
        {"events": "$records"},
    )
    assert (single.batch.max_records, single.batch.max_bytes, single.request.body) == (
        1,
        1_000_000,
        "$record",
    )


# --- delivery over a real port --------------------------------------------------------------------


def test_batch_mode_posts_the_events_list_and_every_record_is_delivered(app: Starlette, served: str) -> None:
    outcomes: list[Outcome] = []
    result = build_sync(webhook_config(served + "/hooks/cdp"), allow_http=True).run(
        events(3), on_outcome=outcomes.append
    )
    state = state_of(app)
    assert [(r.method, r.status, r.outcome) for r in state.requests] == [("POST", 200, "stored")]
    assert orjson.loads(state.requests[0].body or b"") == {"events": [sent(1), sent(2), sent(3)]}
    assert [(o.row, o.key, o.status) for o in outcomes] == [
        (1, "evt_1", Status.DELIVERED),
        (2, "evt_2", Status.DELIVERED),
        (3, "evt_3", Status.DELIVERED),
    ]
    assert (result.summary.delivered, result.summary.requests, result.ok) == (3, 1, True)


def test_signatures_verify_when_recomputed_from_the_recorded_headers_and_raw_body(
    app: Starlette, served: str
) -> None:
    build_sync(webhook_config(served + "/hooks/cdp"), allow_http=True).run(events(2))
    (request,) = state_of(app).requests
    assert request.webhook_id is not None and request.timestamp is not None and request.body is not None
    assert request.signature == sign(SECRET, request.webhook_id, int(request.timestamp), request.body)
    assert abs(int(request.timestamp) - time.time()) < 60


def test_a_retried_request_carries_the_same_webhook_id_and_is_stored_once(
    served: str, app: Starlette
) -> None:
    state = state_of(app)
    seed = seed_for("503", None, rate_503=0.5)
    state.faults = FaultInjector(FaultPlan(seed=seed, rate_503=0.5), default_paths=("/",))
    result = build_sync(webhook_config(served + "/hooks/cdp"), allow_http=True, retry=FAST_RETRY).run(
        events(2)
    )
    first, second = state.requests
    assert [(first.status, first.fault), (second.status, second.outcome)] == [(503, "503"), (200, "stored")]
    assert first.webhook_id == second.webhook_id
    assert first.body == second.body
    assert [(d.id, d.count) for d in state.deliveries] == [(first.webhook_id, 2)]
    assert (result.summary.delivered, result.summary.retries) == (2, 1)


def test_a_wrong_secret_is_refused_with_401_and_stops_the_run() -> None:
    app = create_app(secret=OTHER_SECRET)
    outcomes: list[Outcome] = []
    with running_server(app) as url:
        result = build_sync(webhook_config(url + "/hooks/cdp"), allow_http=True).run(
            events(3), on_outcome=outcomes.append
        )
    assert result.summary.aborted == (
        "auth_failed: the destination refused the credentials (HTTP 401): "
        "No v1 signature in webhook-signature matches the body."
    )
    assert [(o.status, o.reason) for o in outcomes] == [(Status.DEAD_LETTERED, "auth_failed")] * 3
    assert [(r.status, r.outcome) for r in state_of(app).requests] == [(401, "unauthorized")]
    assert state_of(app).events == []


def test_single_mode_sends_one_request_per_event_with_the_event_as_body(app: Starlette, served: str) -> None:
    result = build_sync(webhook_config(served + "/hooks/cdp", mode="single"), allow_http=True).run(events(3))
    state = state_of(app)
    bodies = sorted((orjson.loads(r.body or b"") for r in state.requests), key=lambda b: b["id"])
    assert bodies == [sent(1), sent(2), sent(3)]
    assert sorted(d.count for d in state.deliveries) == [1, 1, 1]
    assert len({d.id for d in state.deliveries}) == 3
    assert (result.summary.delivered, result.summary.requests) == (3, 3)


def test_the_method_setting_is_the_request_method(app: Starlette, served: str) -> None:
    build_sync(webhook_config(served + "/hooks/cdp", method="PUT"), allow_http=True).run(events(1))
    assert [(r.method, r.outcome) for r in state_of(app).requests] == [("PUT", "stored")]


def test_501_events_go_out_as_500_then_1(app: Starlette, served: str) -> None:
    result = build_sync(webhook_config(served + "/hooks/cdp"), allow_http=True).run(events(501))
    assert sorted(d.count for d in state_of(app).deliveries) == [1, 500]
    assert len(state_of(app).events) == 501
    assert result.summary.delivered == 501


def test_the_request_goes_to_the_users_url_exactly(app: Starlette, served: str) -> None:
    build_sync(webhook_config(served + "/hooks/cdp"), allow_http=True).run(events(1))
    assert [r.path for r in state_of(app).requests] == ["/hooks/cdp"]


# --- in process -----------------------------------------------------------------------------------


def test_in_process_through_asgi_transport_with_a_base_url_override(app: Starlette) -> None:
    sync = build_sync(
        webhook_config("https://hooks.example.com/cdp"),
        base_url="http://127.0.0.1/hooks/in-process",
        transport=httpx.ASGITransport(app=app),
        allow_http=True,
    )
    result = sync.run(events(2))
    state = state_of(app)
    assert [(r.method, r.outcome) for r in state.requests] == [("POST", "stored")]
    assert state.events == [sent(1), sent(2)]
    assert result.summary.delivered == 2


def test_the_testing_profile_drives_a_sync_against_the_emulator() -> None:
    profile = emulator.testing_profile("send")
    app = create_app(**profile["app_options"])
    with running_server(app) as url:
        settings = {**profile["settings"], "url": profile["settings"]["url"].replace(URL_PLACEHOLDER, url, 1)}
        config = {
            "destination": "webhook",
            "action": "send",
            "settings": settings,
            "secrets": profile["secrets"],
            "mapping": {"id": "event_id"},
        }
        result = build_sync(config, allow_http=True).run([{"event_id": "e1"}])
    assert result.summary.delivered == 1
    assert state_of(app).events == [{"id": "e1"}]


def test_the_testing_profile_url_is_refused_until_the_placeholder_is_replaced() -> None:
    profile = emulator.testing_profile("send")
    config = {
        "destination": "webhook",
        "action": "send",
        "settings": profile["settings"],
        "secrets": profile["secrets"],
        "mapping": {"id": "event_id"},
    }
    with pytest.raises(ConfigError) as err:
        build_sync(config, allow_http=True)
    assert [(i.key, i.message) for i in err.value.issues] == [
        ("settings", "the host emulator.invalid does not resolve.")
    ]


# --- the URL guard --------------------------------------------------------------------------------


def config_issues(url: str, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as err:
        build_sync(webhook_config(url), **kwargs)
    return [(i.key, i.message) for i in err.value.issues]


@pytest.mark.parametrize(
    ("url", "host", "address"),
    [
        ("https://10.0.0.5/x", "10.0.0.5", "10.0.0.5"),
        ("https://169.254.169.254/latest", "169.254.169.254", "169.254.169.254"),
        ("https://[::1]/x", "::1", "::1"),
        ("http://127.0.0.1/x", "127.0.0.1", "127.0.0.1"),
    ],
)
def test_private_loopback_and_link_local_urls_are_config_errors(url: str, host: str, address: str) -> None:
    assert config_issues(url) == [
        (
            "settings",
            f"the host {host} is not a public address ({address}: private, loopback, link-local or otherwise not "
            "globally routable), which a destination URL may not be.",
        )
    ]


def test_localhost_is_refused_through_what_it_resolves_to() -> None:
    (issue,) = config_issues("https://localhost/x")
    assert issue[0] == "settings"
    assert issue[1].startswith("the host localhost is not a public address (")


def test_a_public_looking_host_that_does_not_resolve_is_refused() -> None:
    # .invalid never resolves (RFC 2606): the guard fails closed when it cannot see the address
    assert config_issues("https://hooks.example.invalid/cdp") == [
        ("settings", "the host hooks.example.invalid does not resolve.")
    ]


def test_a_url_with_credentials_is_refused_without_echoing_them() -> None:
    issues = config_issues("https://user:hunter2@hooks.example.com/cdp")
    assert issues == [("settings", "the base URL must not contain credentials.")]


def test_plain_http_to_a_public_address_is_refused_without_allow_http() -> None:
    assert config_issues("http://93.184.216.34/hooks") == [
        ("settings", "http://93.184.216.34/hooks is not HTTPS; destkit only sends over HTTPS.")
    ]


def test_a_url_setting_that_is_not_an_http_url_fails_its_pattern() -> None:
    assert config_issues("ftp://hooks.example.com/x") == [
        ("settings.url", "'ftp://hooks.example.com/x' is not a valid Webhook URL.")
    ]


def test_shared_address_space_is_refused() -> None:
    assert config_issues("https://100.100.100.200/latest/meta-data")[0][0] == "settings"


def test_a_signing_secret_that_is_not_base64_is_a_config_error() -> None:
    config = {**webhook_config("https://hooks.example.com/cdp"), "secrets": {"signing_secret": "whsec_abcde"}}  # 5 base64 characters encode no whole byte
    # ("whsec_abc" is unpadded base64 of 2 bytes, a form standardwebhooks.Webhook accepts, so it is valid)
    try:
        build_sync(config, base_url="http://127.0.0.1/x", allow_http=True)
    except ConfigError as err:
        assert [i.key for i in err.issues] == ["secrets.signing_secret"]
    else:
        raise AssertionError("no ConfigError")


# --- the receiver on its own ----------------------------------------------------------------------


def post(
    app: Starlette, body: bytes, headers: dict[str, str], method: str = "POST", path: str = "/any/path"
) -> httpx.Response:
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://receiver.test"
        ) as client:
            return await client.request(method, path, content=body, headers=headers)

    return asyncio.run(send())


def test_the_receiver_acknowledges_a_replayed_id_without_storing_it_again(app: Starlette) -> None:
    body = b'{"id":"e1"}'
    headers = signed_headers(body, msg_id="msg_replayed")
    first, again = post(app, body, headers), post(app, body, headers)
    state = state_of(app)
    assert (first.status_code, first.json()["status"], again.status_code, again.json()["status"]) == (
        200,
        "accepted",
        200,
        "duplicate",
    )
    assert (state.events, state.duplicates, [d.id for d in state.deliveries]) == (
        [{"id": "e1"}],
        1,
        ["msg_replayed"],
    )


def test_the_receiver_refuses_a_request_without_signature_headers(app: Starlette) -> None:
    response = post(app, b'{"id":"e1"}', {"content-type": "application/json"})
    assert (response.status_code, response.json()["code"]) == (401, "missing_headers")
    assert state_of(app).events == []


def test_the_receiver_refuses_a_timestamp_outside_its_tolerance(app: Starlette) -> None:
    body = b'{"id":"e1"}'
    response = post(app, body, signed_headers(body, timestamp=int(time.time()) - 301))
    assert (response.status_code, response.json()["code"]) == (401, "timestamp_too_old")


def test_the_receiver_refuses_a_body_changed_after_signing(app: Starlette) -> None:
    response = post(app, b'{"id":"e2"}', signed_headers(b'{"id":"e1"}'))
    assert (response.status_code, response.json()["code"]) == (401, "invalid_signature")


def test_the_receiver_accepts_any_matching_v1_among_several_signatures(app: Starlette) -> None:
    body = b'{"id":"e1"}'
    headers = signed_headers(body)
    good = headers["webhook-signature"]
    wrong = sign(OTHER_SECRET, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    headers["webhook-signature"] = f"{wrong} v1a,c29tZXRoaW5nIGVsc2U= {good}"
    response = post(app, body, headers, method="PATCH")
    assert (response.status_code, state_of(app).events) == (200, [{"id": "e1"}])


def test_the_receiver_does_not_accept_get(app: Starlette) -> None:
    response = post(app, b"", {}, method="GET")
    assert (response.status_code, response.headers["allow"]) == (405, "POST, PUT, PATCH")
