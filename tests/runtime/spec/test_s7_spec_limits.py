"""A spec's `rate_limit` takes only a rate and a concurrency the runtime can keep to, and its `timeouts` are finite.

The same rules as a sync config's options (tests/runtime/config/test_s7_option_limits.py), read by the spec
loader: each refused value is one spec error naming the file, the line, the key, the value and the fix.
"""

from __future__ import annotations

import pytest

from destkit.runtime import SpecError
from destkit.runtime.spec.loader import parse_spec

SPEC = """spec_version: 1
id: demo
name: Demo
base_url: "https://api.example.com"
auth: {{kind: api_key, name: x-api-key, value: "{{{{ secrets.key }}}}"}}
secrets: {{key: {{title: Key}}}}
{block}: {{{key}: {value}}}
actions:
  send:
    title: Send
    fields: {{id: {{type: string, required: true}}}}
    request: {{path: /x, record: {{id: $id}}}}
"""


def spec_issue(key: str, value: str, block: str = "rate_limit") -> tuple[str, str, str, int | None]:
    """(key, message, fix, line) of the one problem the loader finds in a spec whose `block.key` is `value`."""
    with pytest.raises(SpecError) as caught:
        parse_spec(SPEC.format(block=block, key=key, value=value), "demo.yaml")
    [issue] = caught.value.issues
    assert issue.file == "demo.yaml"
    return issue.key, issue.message, issue.fix, issue.line


def test_one_request_a_minute_exactly_is_a_spec_rate() -> None:
    spec = parse_spec(SPEC.format(block="rate_limit", key="requests_per_second", value=str(1 / 60)), "demo.yaml")
    assert spec.rate_limit.requests_per_second == 1 / 60


def test_a_spec_rate_slower_than_one_request_a_minute_is_refused() -> None:
    key, message, fix, line = spec_issue("requests_per_second", "1e-9")
    assert (key, line) == ("rate_limit.requests_per_second", 7)
    assert message == "1e-9 is slower than one request a minute."
    assert fix == "give at least 0.0167 (one request a minute); to send slower, schedule smaller syncs."


def test_an_infinite_spec_rate_is_refused_and_told_that_no_key_is_no_limit() -> None:
    _, message, fix, _ = spec_issue("requests_per_second", ".inf")
    assert message == "inf is not a number of requests a second."
    assert fix == "give a number such as 10 (at least 0.0167); leave requests_per_second out for no limit."


@pytest.mark.parametrize(("value", "shown"), [(".nan", "nan"), ('"10/s"', "'10/s'"), ("true", "true")])
def test_a_spec_rate_that_is_no_number_is_refused(value: str, shown: str) -> None:
    _, message, _, _ = spec_issue("requests_per_second", value)
    assert message == f"{shown} is not a number of requests a second."


@pytest.mark.parametrize(("value", "message"), [
    ("true", "true is not a whole number of requests in flight."),
    (str(10**9), "1000000000 requests in flight at once is more than 256."),
])
def test_a_spec_concurrency_that_is_no_sane_count_is_refused(value: str, message: str) -> None:
    key, got, fix, _ = spec_issue("concurrency", value)
    assert (key, got, fix) == ("rate_limit.concurrency", message, "give a whole number from 1 to 256.")


@pytest.mark.parametrize("key", ["connect", "read"])
@pytest.mark.parametrize(("value", "message"), [(".inf", "Input should be a finite number."),
                                                ("true", "true is not a number.")])
def test_an_infinite_or_boolean_spec_timeout_is_refused(key: str, value: str, message: str) -> None:
    found, got, _, line = spec_issue(key, value, block="timeouts")
    assert (found, got, line) == (f"timeouts.{key}", message, 7)
