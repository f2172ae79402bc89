"""`options.requests_per_second`, `options.concurrency` and the time limits take only values a sync can keep to.

A rate slower than one request a minute (`1e-9` would have the rate gate wait ~30 years between requests),
an infinite or not-a-number rate, a rate written with units ("10/s"), a boolean where a number belongs,
more requests in flight than the runtime allows, and an infinite time limit (`.inf` meant none at all: a
stalled destination held the run forever through `timeout` and `request_deadline_seconds`, a Retry-After of a
billion seconds was honoured through `max_retry_after`) are each one config error, read by the real config
loader: the key, the value and the fix, before any record is read.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from destkit.runtime import ConfigError, build_sync
from tests.cli_runs import run_cli

CONFIG = """\
destination: hello_charles
action: send_contacts
settings: {{subdomain: acme}}
secrets: {{api_key: {{env: S7_RATE_KEY}}}}
mapping: {{external_reference_id: id, phone_number: phone}}
options: {{{option}: {value}}}
"""


def issue_of(tmp_path: Path, option: str, value: str) -> tuple[str, str, str, int | None]:
    """(key, message, fix, line) of the one problem `build_sync` finds in a config whose option is `value` (YAML)."""
    path = tmp_path / "sync.yaml"
    path.write_text(CONFIG.format(option=option, value=value), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        build_sync(path)
    [issue] = caught.value.issues
    return issue.key, issue.message, issue.fix, issue.line


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S7_RATE_KEY", "k")


@pytest.mark.parametrize("value", ["1e-9", "0.001", "0", "-2"])  # PyYAML reads 1e-9 (no dot) as a string
def test_a_rate_slower_than_one_request_a_minute_is_refused_with_the_slowest_allowed(tmp_path: Path,
                                                                                   value: str) -> None:
    key, message, fix, line = issue_of(tmp_path, "requests_per_second", value)
    assert (key, line) == ("options.requests_per_second", 6)
    assert message == f"{value} is slower than one request a minute."
    assert fix == "give at least 0.0167 (one request a minute); to send slower, schedule smaller syncs."


def test_one_request_a_minute_exactly_is_allowed() -> None:
    config = {"destination": "hello_charles", "action": "send_contacts", "settings": {"subdomain": "acme"},
              "secrets": {"api_key": "k"}, "mapping": {"external_reference_id": "id"},
              "options": {"requests_per_second": 1 / 60}}
    assert build_sync(config).requests_per_second == 1 / 60


def test_an_infinite_rate_is_refused_and_told_to_leave_the_key_out(tmp_path: Path) -> None:
    _, message, fix, _ = issue_of(tmp_path, "requests_per_second", ".inf")
    assert message == "inf is not a number of requests a second."
    assert fix == ("give a number such as 10 (at least 0.0167); "
                   "leave requests_per_second out to keep to the destination's own rate limit.")


# nan; a rate written with units; true, which pydantic read as one request a second
@pytest.mark.parametrize(("value", "shown"), [(".nan", "nan"), ('"10/s"', "'10/s'"), ("true", "true")])
def test_a_rate_that_is_no_number_is_refused_and_told_to_give_one(tmp_path: Path, value: str, shown: str) -> None:
    _, message, fix, _ = issue_of(tmp_path, "requests_per_second", value)
    assert message == f"{shown} is not a number of requests a second."
    assert fix.startswith("give a number such as 10 (at least 0.0167)")


def test_a_boolean_concurrency_is_refused_not_read_as_one(tmp_path: Path) -> None:
    key, message, fix, _ = issue_of(tmp_path, "concurrency", "true")
    assert key == "options.concurrency"
    assert message == "true is not a whole number of requests in flight."
    assert fix == "give a whole number from 1 to 256."


def test_a_huge_concurrency_is_refused_with_the_most_allowed(tmp_path: Path) -> None:
    _, message, fix, _ = issue_of(tmp_path, "concurrency", str(10**9))
    assert message == "1000000000 requests in flight at once is more than 256."
    assert fix == "give a whole number from 1 to 256."


def test_a_fractional_concurrency_is_refused(tmp_path: Path) -> None:
    _, message, _, _ = issue_of(tmp_path, "concurrency", "2.5")
    assert message == "2.5 is not a whole number of requests in flight."


@pytest.mark.parametrize("option", ["timeout", "request_deadline_seconds", "max_retry_after", "max_retry_seconds"])
@pytest.mark.parametrize("value", [".inf", ".nan"])
def test_an_infinite_or_not_a_number_time_limit_is_a_config_error(tmp_path: Path, option: str, value: str) -> None:
    key, message, fix, line = issue_of(tmp_path, option, value)
    assert (key, line) == (f"options.{option}", 6)
    assert message == f"{value.lstrip('.')} is not a finite number of seconds."
    assert fix == "give a number of seconds, e.g. 60."


@pytest.mark.parametrize("option", ["max_attempts", "timeout", "request_deadline_seconds", "max_retry_after",
                                    "max_retry_seconds"])
def test_a_boolean_count_or_time_limit_is_refused_not_read_as_one(tmp_path: Path, option: str) -> None:
    key, message, fix, _ = issue_of(tmp_path, option, "true")
    assert (key, message) == (f"options.{option}", "true is not a number.")
    assert fix == "write the number itself: YAML reads true as a boolean, which is no count or time."


def test_destkit_sync_prints_the_key_the_value_and_the_fix_and_sends_nothing(tmp_path: Path) -> None:
    config = tmp_path / "sync.yaml"
    config.write_text(CONFIG.format(option="requests_per_second", value="1e-9"), encoding="utf-8")
    audience = tmp_path / "audience.csv"
    audience.write_text("id,phone\nc1,+14155550101\n", encoding="utf-8")
    # nothing listens on port 9: a run that got as far as connecting would fail differently
    done = run_cli(["sync", str(config), "--input", str(audience), "--no-state", "--quiet",
                    "--base-url", "http://127.0.0.1:9", "--allow-http"], env={**os.environ, "S7_RATE_KEY": "k"})
    assert done.returncode == 2
    assert (f"{config}:6: options.requests_per_second: 1e-9 is slower than one request a minute. "
            "Fix: give at least 0.0167 (one request a minute); to send slower, schedule smaller syncs.") in done.stderr
