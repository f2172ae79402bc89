"""The conformance suite's emulator phase, step by step: a failing step ends the phase with one
named check; and the profile the kit makes when an emulator module offers none."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.runtime import load_spec
from destkit.testing.emulators import default_profile, point_user_url
from destkit.testing.report import ActionReport
from destkit.testing.suite import Plan, Suite
from destkit.testing.suite_emulator import emulator_phase


def _planned(action: str) -> tuple[Suite, Plan, ActionReport]:
    suite = Suite(load_spec("hello_charles"), "hello_charles", examples=4, seed=0)
    report = ActionReport(action)
    plan = suite.plan(action, report)
    assert plan is not None and suite.draw(plan, report)
    return suite, plan, report


def _checks(report: ActionReport) -> list[tuple[str, str, str]]:
    return [(c.name, c.status, c.message) for c in report.checks]


def test_a_prepare_hook_that_raises_ends_the_phase_with_a_failed_check() -> None:
    suite, plan, report = _planned("delete_contacts")

    def prepare(app: Any, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise RuntimeError("no state")

    plan.profile["prepare"] = prepare
    emulator_phase(suite, plan, {}, report)

    assert _checks(report) == [("emulator: the profile's prepare hook", "failed", "raised RuntimeError: no state")]


def test_a_prepare_hook_that_drops_records_ends_the_phase_with_a_failed_check() -> None:
    suite, plan, report = _planned("delete_contacts")
    plan.profile["prepare"] = lambda app, records: records[1:]

    emulator_phase(suite, plan, {}, report)

    n = len(plan.valid_rows)
    assert _checks(report) == [
        (
            "emulator: the profile's prepare hook",
            "failed",
            f"returned {n - 1} records for {n}; it must return one per record, in order",
        )
    ]


def test_a_verify_hook_that_raises_is_the_one_problem_of_its_check() -> None:
    suite, plan, report = _planned("send_contacts")

    def verify(app: Any, delivered: list[dict[str, Any]]) -> list[str]:
        raise KeyError("contacts")

    plan.profile["verify"] = verify
    emulator_phase(suite, plan, {}, report)

    last = report.checks[-1]
    assert (last.name, last.status, last.message, last.details) == (
        "emulator: holds what was delivered (profile verify)",
        "failed",
        "1 problem(s)",
        ["verify raised KeyError: 'contacts'"],
    )
    assert all(c.status == "passed" for c in report.checks[:-1])


def test_skip_emulator_in_the_profile_skips_the_phase_with_its_reason() -> None:
    suite, plan, report = _planned("trigger_flow")
    plan.profile["skip_emulator"] = "the emulator has no flows yet"

    emulator_phase(suite, plan, {}, report)

    assert _checks(report) == [("emulator", "skipped", "the emulator has no flows yet")]


def test_app_options_the_emulator_refuses_end_the_phase_with_a_failed_check() -> None:
    suite, plan, report = _planned("send_contacts")
    plan.profile["app_options"] = {"no_such_option": 1}

    emulator_phase(suite, plan, {}, report)

    [(name, status, message)] = _checks(report)
    assert (name, status) == ("emulator: app created from the profile's app_options", "failed")
    assert message.startswith("TypeError: ")


def test_the_default_profile_aims_a_user_url_setting_at_the_loopback_address() -> None:
    profile = default_profile(load_spec("webhook"), "send")

    assert profile["settings"]["url"] == "http://127.0.0.1/destkit-conformance"
    assert profile["app_options"] == {}
    assert set(profile["secrets"]) == {"signing_secret"}


def test_the_default_profile_gives_a_required_setting_a_value_its_pattern_allows() -> None:
    profile = default_profile(load_spec("hello_charles"), "send_contacts")

    assert profile["settings"] == {"subdomain": "acme"}
    assert profile["secrets"] == {"api_key": "destkit-conformance-secret"}


@pytest.mark.parametrize("base_url", ["{{ settings.url }}", "{{ settings['url'] }}"])
def test_a_user_url_is_pointed_at_the_origin_whichever_way_the_base_url_reads_it(base_url: str) -> None:
    spec = load_spec("webhook").model_copy(update={"base_url": base_url})

    settings = point_user_url(spec, {"url": "https://hooks.example.com/in/abc", "other": 1}, "http://127.0.0.1:9")

    assert settings == {"url": "http://127.0.0.1:9/in/abc", "other": 1}
