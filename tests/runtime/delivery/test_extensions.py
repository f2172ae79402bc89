"""The typed extension points: which hook a spec names, the defaults without one, and that delivery uses them."""

from __future__ import annotations

import asyncio
import random
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from destkit.destinations.emarsys.auth import WsseAuth, wsse_hook
from destkit.runtime import Secret, Status, load_spec
from destkit.runtime.delivery.auth import HeaderAuth, build_auth, declared_auth
from destkit.runtime.delivery.batching import Batch
from destkit.runtime.delivery.classify import Action, ErrorTable, Resolution, classify
from destkit.runtime.delivery.extensions import AuthHookOptions, classifier_for, reader_for
from destkit.runtime.delivery.reading import ItemResult, ResponseReader
from destkit.runtime.delivery.retry import RateGate, RetryPolicy
from destkit.runtime.delivery.sender import Deliverer
from destkit.runtime.errors import SpecError
from destkit.runtime.outcomes import Reason
from destkit.runtime.spec.body_template import build_envelope
from destkit.runtime.spec.models import ErrorClasses, HookAuth, ResponseSpec

ROOT = Path(__file__).resolve().parents[3]
THROTTLED = Resolution(Action.RATE_LIMITED, wait=0.0, reason=Reason.RATE_LIMITED, message="throttled in a 200")


def throttling_classifier(status: int | None, headers: Mapping[str, str], body: Any, spec: ErrorTable) -> Resolution:
    """A classifier hook for the tests: a 200 saying "throttled" is a rate limit."""
    if isinstance(body, dict) and body.get("throttled"):
        return THROTTLED
    return classify(status, headers, body, spec)


class EveryRecordOk:
    """A reader hook for the tests: every record delivered, whatever the answer."""

    def __init__(self, spec: ResponseSpec) -> None:
        self.spec = spec

    def read(self, data: Any, keys: list[object]) -> list[ItemResult] | str:
        return [ItemResult(True, destination_id="fixed") for _ in keys]


NOT_CALLABLE = 42


# --- the defaults -------------------------------------------------------------------------------


def test_without_a_response_hook_the_reader_is_the_declarative_one() -> None:
    assert isinstance(reader_for(ResponseSpec()), ResponseReader)


def test_without_an_errors_hook_the_classifier_is_classify() -> None:
    assert classifier_for(ErrorClasses()) is classify


def test_the_default_auth_factory_builds_a_declared_kind() -> None:
    options = AuthHookOptions(secrets={"token": Secret("t0k")}, options={"kind": "bearer", "token": "{{ secrets.token }}"})
    auth = declared_auth(options)
    assert isinstance(auth, HeaderAuth)
    request = next(auth.auth_flow(httpx.Request("GET", "https://x.test/")))
    assert request.headers["authorization"] == "Bearer t0k"


# --- hooks by import path -----------------------------------------------------------------------


def test_a_response_hook_names_the_reader_factory() -> None:
    reader = reader_for(ResponseSpec(hook=f"{__name__}:EveryRecordOk"))
    assert isinstance(reader, EveryRecordOk)


def test_an_errors_hook_names_the_classifier() -> None:
    assert classifier_for(ErrorClasses(hook=f"{__name__}:throttling_classifier")) is throttling_classifier


def test_a_hook_that_does_not_load_is_a_spec_error_at_its_key() -> None:
    with pytest.raises(SpecError) as caught:
        classifier_for(ErrorClasses(hook="tests.no_such_module:classify"))
    assert caught.value.issues[0].key == "errors.hook"


def test_a_hook_that_is_not_callable_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as caught:
        reader_for(ResponseSpec(hook=f"{__name__}:NOT_CALLABLE"))
    assert caught.value.issues[0].message == f"{__name__}:NOT_CALLABLE is not callable."


def test_an_auth_hook_is_called_with_typed_options() -> None:
    spec_auth = HookAuth(kind="hook", hook="destkit.destinations.emarsys.auth:wsse_hook")
    auth = build_auth(spec_auth, {"username": Secret("acme001"), "secret": Secret("s3cr3t")}, {})
    assert isinstance(auth, WsseAuth)


def test_the_emarsys_hook_refuses_an_unknown_option() -> None:
    with pytest.raises(TypeError, match="unknown option"):
        wsse_hook(AuthHookOptions(secrets={"username": Secret("a"), "secret": Secret("b")}, options={"nonse": 1}))


# --- delivery uses them -------------------------------------------------------------------------


def test_the_deliverer_acts_on_its_classifier_and_reader() -> None:
    answers = [httpx.Response(200, json={"throttled": True}), httpx.Response(200, json={})]
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answers.pop(0)), base_url="http://d.test")
    action = load_spec("hello_charles").actions["send_contacts"]
    deliverer = Deliverer(client, "PUT", "/batch", build_envelope(action.request.body, {}),
                          EveryRecordOk(action.response), ErrorTable.from_spec(ErrorClasses()),
                          RetryPolicy(rng=random.Random(0)), RateGate(None), classifier=throttling_classifier)
    batch = Batch([1, 2], ["a", "b"], [b'{"k":"a"}', b'{"k":"b"}'], 18, 1)
    outcomes = asyncio.run(deliverer.deliver(batch))
    assert [(o.status, o.destination_id, o.attempts) for o in outcomes] == [(Status.DELIVERED, "fixed", 2)] * 2
    assert deliverer.stats.retries == 1


def test_runtime_code_names_no_destination() -> None:
    found = subprocess.run(["grep", "-rniE", "emarsys|replyText|hello", "runtime/delivery"], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    assert found.stdout == ""
