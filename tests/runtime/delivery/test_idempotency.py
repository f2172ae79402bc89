"""A request that must not run twice is not resent blindly after its answer was lost.

An action declares `idempotent: false` when running it twice has an effect (a Hello Charles flow
sends a WhatsApp message each time), and `idempotency_key: {header: NAME}` when the destination
dedupes on a header (the webhook's Standard Webhooks `webhook-id`). A request that never left
(connection refused) is always safe to resend. A request that left and whose answer was lost (the
connection cut mid-answer, a read timeout) is resent only when the action is idempotent or carries
its key, which is the same on every attempt; otherwise its records are dead-lettered with reason
`unknown_delivery`, for `destkit retry --include-unknown` to resend once someone has checked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from destkit.destinations._kit import FaultInjector, FaultPlan, InjectedDrop
from destkit.destinations.hello_charles.emulator import create_app
from destkit.destinations.webhook.emulator import create_app as create_receiver
from destkit.runtime import Outcome, Reason, Status, build_sync, load_spec
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.classify import Action, classify_no_reply
from destkit.runtime.delivery.exchange import transport_failure
from destkit.runtime.delivery.idempotency import request_key
from destkit.runtime.delivery.retry import RetryPolicy
from destkit.runtime.spec.models import IdempotencyKey
from tests.conftest import API_KEY, PROPERTIES, TAGS, emulator_state, hc_config
from tests.destinations.hello_charles.test_hello_charles_actions import EVENT_PATH, JWT_SECRET, flow_config
from tests.destinations.webhook.test_webhook import SECRET, events, seed_for, state_of, webhook_config

ASGI = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
FAST_RETRY = RetryPolicy(max_attempts=3, base=0.01, cap=0.01)
FLOW = [{"event": "abandoned_cart", "user_id": "u1", "phone": "+4915112345678", "data": {"sku": "A-1"}}]
UNKNOWN = ("the request was sent but its answer was lost ({cause}); it may have been delivered. The action is "
           "not idempotent, so it is not sent again automatically: check the destination, then "
           "`destkit retry --include-unknown` sends it again.")


class Spoiler:
    """Wraps an app: the first `times` requests to `path` are applied, then their answer is lost.

    `how` is "drop" (half the answer, then the connection is closed, as the emulators' drop fault)
    or "stall" (the answer is held back longer than the client's read timeout). Every request's
    headers are kept in `headers`.
    """

    def __init__(self, app: ASGI, path: str, how: str, times: int = 1) -> None:
        self.app, self.path, self.how, self.left = app, path, how, times
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or self.left <= 0:
            await self.app(scope, receive, send)
            return
        self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        self.left -= 1
        sent: list[dict[str, Any]] = []

        async def keep(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, keep)  # the destination does all the work
        if self.how == "flood":  # an answer far over any sane size
            await send(sent[0] | {"headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b" " * 65536})
            return
        if self.how == "stall":  # the client's read timeout fires first; this late answer reaches no one
            await asyncio.sleep(2)
            for message in sent:
                await send(message)
            return
        await send(sent[0])
        body = b"".join(m.get("body", b"") for m in sent[1:])
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise InjectedDrop("answer lost on purpose")


def flow_app() -> Starlette:
    app: Starlette = create_app(api_key=API_KEY, jwt_secret=JWT_SECRET)
    return app


def run_over(url: str, config: dict[str, Any], *, spec: Any = None,
             transport: httpx.AsyncBaseTransport | None = None) -> list[Outcome]:
    outcomes: list[Outcome] = []
    sync = build_sync(config, spec=spec, base_url=url, allow_http=True, retry=FAST_RETRY, transport=transport)
    sync.run(FLOW, on_outcome=outcomes.append)
    return outcomes


# --- the spec -----------------------------------------------------------------------------------


def test_trigger_flow_is_not_idempotent_and_the_upserts_are() -> None:
    actions = load_spec("hello_charles").actions
    assert [(name, a.idempotent, a.idempotency_key) for name, a in actions.items()] == [
        ("send_contacts", True, None), ("delete_contacts", True, None), ("trigger_flow", False, None)]


def test_the_webhook_names_webhook_id_as_its_idempotency_key() -> None:
    send = load_spec("webhook").actions["send"]
    assert send.idempotent is False
    assert send.idempotency_key is not None and send.idempotency_key.header == "webhook-id"


def test_unknown_delivery_is_a_reason_code_and_in_the_readme_list() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    listed = readme.split("Reason codes (closed set, `destkit.runtime.Reason`):")[1].split(".\n")[0]
    assert set(re.findall(r"`([a-z_]+)`", listed)) == {r.value for r in Reason}
    assert Reason.UNKNOWN_DELIVERY == "unknown_delivery"


# --- the rule, as a pure function ---------------------------------------------------------------


def test_a_request_that_never_left_is_retried_even_when_not_idempotent() -> None:
    resolution = classify_no_reply(transport_failure(httpx.ConnectError("refused")), may_resend=False)
    assert (resolution.action, resolution.reason) == (Action.RETRY, Reason.CONNECTION_ERROR)


def test_a_lost_answer_is_retried_when_the_request_may_be_resent() -> None:
    resolution = classify_no_reply(transport_failure(httpx.ReadTimeout("slow")), may_resend=True)
    assert (resolution.action, resolution.reason) == (Action.RETRY, Reason.TIMEOUT)


def test_a_lost_answer_is_unknown_delivery_when_the_request_may_not_be_resent() -> None:
    resolution = classify_no_reply(transport_failure(httpx.RemoteProtocolError("cut")), may_resend=False)
    assert (resolution.action, resolution.reason) == (Action.DEAD_LETTER, Reason.UNKNOWN_DELIVERY)
    assert resolution.message == UNKNOWN.format(cause="RemoteProtocolError")


def test_the_key_depends_on_the_request_only() -> None:
    key = request_key("POST", "/events", b'{"a":1}')
    assert key == request_key("POST", "/events", b'{"a":1}')
    assert len({key, request_key("PUT", "/events", b'{"a":1}'), request_key("POST", "/other", b'{"a":1}'),
                request_key("POST", "/events", b'{"a":2}')}) == 4


# --- a lost answer ------------------------------------------------------------------------------


def test_a_flow_whose_answer_was_cut_off_runs_once_and_is_dead_lettered_as_unknown_delivery() -> None:
    app = flow_app()
    with running_server(Spoiler(app, EVENT_PATH, "drop")) as url:
        [outcome] = run_over(url, flow_config())
    assert len(emulator_state(app).events) == 1
    assert (outcome.status, outcome.reason, outcome.attempts) == (Status.DEAD_LETTERED, "unknown_delivery", 1)
    assert outcome.message == UNKNOWN.format(cause="RemoteProtocolError")


def test_a_flow_whose_answer_timed_out_runs_once_and_is_dead_lettered_as_unknown_delivery() -> None:
    app = flow_app()
    with running_server(Spoiler(app, EVENT_PATH, "stall")) as url:
        [outcome] = run_over(url, flow_config(options={"timeout": 0.5}))
    assert len(emulator_state(app).events) == 1
    assert (outcome.status, outcome.reason, outcome.attempts) == (Status.DEAD_LETTERED, "unknown_delivery", 1)
    assert outcome.message == UNKNOWN.format(cause="ReadTimeout")


def test_a_flow_that_passed_the_deadline_runs_once_and_is_dead_lettered_as_unknown_delivery() -> None:
    app = flow_app()
    with running_server(Spoiler(app, EVENT_PATH, "stall")) as url:
        [outcome] = run_over(url, flow_config(options={"request_deadline_seconds": 0.5}))
    assert len(emulator_state(app).events) == 1
    assert (outcome.status, outcome.reason, outcome.attempts) == (Status.DEAD_LETTERED, "unknown_delivery", 1)
    assert outcome.message == UNKNOWN.format(cause="no complete answer within options.request_deadline_seconds (0.5 s)")


def test_a_flow_whose_answer_was_over_the_cap_runs_once_and_is_dead_lettered_as_unknown_delivery() -> None:
    app = flow_app()
    with running_server(Spoiler(app, EVENT_PATH, "flood")) as url:
        [outcome] = run_over(url, flow_config(options={"max_response_bytes": 1024}))
    assert len(emulator_state(app).events) == 1
    assert (outcome.status, outcome.reason, outcome.attempts) == (Status.DEAD_LETTERED, "unknown_delivery", 1)
    assert outcome.message == UNKNOWN.format(
        cause="the answer is over options.max_response_bytes (1024 bytes once decoded)")


class RefuseFirst(httpx.AsyncBaseTransport):
    """The first connection attempt is refused; the request never leaves. Then the real transport."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.refused:
            self.refused += 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_flow_that_never_left_is_sent_again_and_runs_once() -> None:
    app = flow_app()
    transport = RefuseFirst()
    with running_server(app) as url:
        [outcome] = run_over(url, flow_config(), transport=transport)
    assert transport.refused == 1
    assert (outcome.status, outcome.attempts) == (Status.DELIVERED, 2)
    assert len(emulator_state(app).events) == 1


def test_a_non_idempotent_action_with_a_key_is_resent_with_the_same_key() -> None:
    spec = load_spec("hello_charles").model_copy(deep=True)
    spec.actions["trigger_flow"].idempotency_key = IdempotencyKey(header="Idempotency-Key")
    app = flow_app()
    keys: list[str] = []

    async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == EVENT_PATH:
            keys.append(dict(scope["headers"])[b"idempotency-key"].decode())
        await app(scope, receive, send)

    with running_server(Spoiler(recording, EVENT_PATH, "drop")) as url:
        [outcome] = run_over(url, flow_config(), spec=spec)
    assert (outcome.status, outcome.attempts) == (Status.DELIVERED, 2)
    assert len(keys) == 2 and keys[0] == keys[1]
    assert re.fullmatch(r"dk_[0-9a-f]{32}", keys[0])


def test_an_idempotent_upsert_whose_answer_was_cut_off_is_sent_again() -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES,
                     faults=FaultPlan(seed=seed_for("drop", None, rate_drop=0.5), rate_drop=0.5))
    outcomes: list[Outcome] = []
    records = [{"user_id": "u1", "first_name": "Ada"}]
    with running_server(app) as url:
        build_sync(hc_config(), base_url=url, allow_http=True, retry=FAST_RETRY).run(records, on_outcome=outcomes.append)
    assert [(o.status, o.attempts) for o in outcomes] == [(Status.DELIVERED, 2)]
    assert emulator_state(app).upsert_counts == {"u1": 2}


def test_a_webhook_whose_answer_was_cut_off_is_resent_with_its_webhook_id_and_stored_once() -> None:
    receiver: Starlette = create_receiver(secret=SECRET)
    state = state_of(receiver)
    state.faults = FaultInjector(FaultPlan(seed=seed_for("drop", None, rate_drop=0.5), rate_drop=0.5),
                                 default_paths=("/",))
    outcomes: list[Outcome] = []
    with running_server(receiver) as url:
        build_sync(webhook_config(url + "/hooks/cdp"), allow_http=True, retry=FAST_RETRY).run(
            events(2), on_outcome=outcomes.append)
    first, second = state.requests
    assert [(first.fault, first.outcome), (second.status, second.outcome)] == [("drop", "stored"), (200, "duplicate")]
    assert first.webhook_id == second.webhook_id
    assert [o.status for o in outcomes] == [Status.DELIVERED] * 2
    assert [(d.id, d.count) for d in state.deliveries] == [(first.webhook_id, 2)]
