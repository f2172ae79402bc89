"""The emulators' shared plumbing (`destinations/_kit`), the demo profile, and handlers reading `app.state`.

One behaviour per test: the fault draw, the fault plan from CLI text, the pytest guard on contract
functions, how `destkit demo` picks its destination, what the Hello Charles demo profile plants, and
that an emulator's handlers take their options from the app they are served by.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from destkit.destinations._kit import FaultDraw, FaultInjector, FaultPlan, injector_for, not_a_test
from destkit.destinations.hello_charles import emulator as hello_charles
from destkit.destinations.hello_charles.demo import write_audience
from destkit.destinations.webhook.emulator import create_app as create_receiver
from destkit.runtime.cli import demo
from destkit.runtime.errors import UsageError
from destkit.runtime.outcomes import Reason, Status
from destkit.runtime.spec.loader import bundled_spec_names, load_spec

ROOT = Path(__file__).resolve().parents[2]


def request(app: Starlette, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emulator.test") as c:
            return await c.request(method, path, headers=headers)

    return asyncio.run(send())


# --- faults ----------------------------------------------------------------------------------------


def test_a_path_outside_the_fault_scope_draws_nothing_and_asks_for_no_decision() -> None:
    injector = FaultInjector(FaultPlan(rate_503=1.0), default_paths=("/api",))

    assert injector.draw("/other") is None
    assert injector.decisions == 0


def test_a_faultable_path_draws_the_plan_latency_and_its_fault() -> None:
    injector = FaultInjector(FaultPlan(rate_503=1.0, latency_ms=20), default_paths=("/api",))

    assert injector.draw("/api/contacts") == FaultDraw(delay_s=0.02, kind="503")


def test_injector_for_reads_the_cli_fault_text_and_keeps_the_default_scope() -> None:
    injector = injector_for("429=0.5,seed=3", default_paths=("/api",))

    assert injector.plan == FaultPlan(rate_429=0.5, seed=3)
    assert injector.paths == ("/api",)


def test_not_a_test_marks_the_function_itself_for_pytest_to_skip() -> None:
    def testing_profile(action: str) -> None:
        return None

    marked = not_a_test(testing_profile)

    assert marked is testing_profile
    assert marked.__test__ is False  # type: ignore[attr-defined]


# --- the demo --------------------------------------------------------------------------------------


def test_the_demo_takes_the_first_bundled_destination_whose_emulator_has_a_demo_profile() -> None:
    target = demo.demo_target()

    assert (target.spec.id, target.title) == ("hello_charles", "Hello Charles")
    assert demo.demo_destinations() == ["braze", "hello_charles", "hubspot", "klaviyo", "meta_custom_audiences"]


def test_a_demo_profile_with_by_default_false_is_shown_only_when_asked_for() -> None:
    # braze sorts first, but its demo profile says by_default: False
    assert demo.demo_target("braze").profile.get("by_default") is False
    assert demo.demo_target().spec.id == "hello_charles"


def test_the_demo_refuses_a_destination_whose_emulator_has_no_demo_profile() -> None:
    with pytest.raises(UsageError, match="the emarsys emulator offers no demo profile"):
        demo.demo_target("emarsys")


def test_the_demo_of_a_given_destination_comes_out_as_planted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = demo.demo_target("hello_charles")
    monkeypatch.setenv(target.profile["secret_env"], "restored-after-the-test")  # the demo sets it

    run = asyncio.run(demo.run_demo(tmp_path, target=target, rows=100))

    assert run.problems == []
    assert (run.result.summary.received, run.result.summary.delivered) == (100, 95)


def test_the_hello_charles_demo_audience_plants_six_problems_at_fixed_rows(tmp_path: Path) -> None:
    planted = write_audience(tmp_path / "audience.csv", 100)

    assert [(p.row, p.outcome, p.reason) for p in planted] == [
        (2, Status.INVALID, Reason.INVALID_PHONE),
        (16, Status.INVALID, Reason.UNKNOWN_TAG),
        (40, Status.INVALID, Reason.UNKNOWN_CUSTOM_PROPERTY),
        (55, Status.INVALID, Reason.MISSING_REQUIRED),
        (71, Status.DELIVERED, None),
        (89, Status.INVALID, Reason.MALFORMED_INPUT),
    ]


def test_the_runtime_demo_names_no_bundled_destination() -> None:
    source = (ROOT / "runtime" / "cli" / "demo.py").read_text(encoding="utf-8").lower()

    for name in bundled_spec_names():
        assert name not in source
        assert load_spec(name).name.lower() not in source


# --- handlers read app.state -----------------------------------------------------------------------


def test_a_hello_charles_handler_checks_the_api_key_of_the_app_serving_it() -> None:
    app = hello_charles.create_app(api_key="first-key")
    app.state.options = dataclasses.replace(app.state.options, api_key="second-key")

    refused = request(app, "GET", "/api/v0/tags", {"x-api-key": "first-key"})
    accepted = request(app, "GET", "/api/v0/tags", {"x-api-key": "second-key"})

    assert (refused.status_code, accepted.status_code) == (401, 200)


def test_the_webhook_receiver_records_a_refused_method_as_method_not_allowed() -> None:
    app = create_receiver()

    response = request(app, "GET", "/hooks/destkit")

    assert response.status_code == 405
    assert [(r.method, r.status, r.outcome) for r in app.state.emulator.requests] == [
        ("GET", 405, "method_not_allowed")
    ]
