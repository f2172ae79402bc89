"""A record nested deeper than JSON can be written is that record's `invalid` outcome; the run goes on.

orjson (as most JSON stacks) refuses to write a document nested more than 254 levels deep. Such a value
cannot be sent, so the record is `invalid` with reason `invalid_value` (the value's shape is
wrong, whatever its size: a 300-deep object is a few hundred bytes, so `too_large` would mislead),
and with `options.include_payloads` its report line is still written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson

from destkit.destinations.webhook.emulator import create_app
from destkit.runtime import Outcome, Status, build_sync
from destkit.runtime.engine.report import JsonlReport
from tests.destinations.webhook.test_webhook import SECRET, events, webhook_config


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": value}
    return value


def run_with_deep_event(tmp_path: Path, include_payloads: bool) -> tuple[list[Outcome], list[dict[str, Any]]]:
    config = webhook_config("https://hooks.example.com/cdp")
    config["options"] = {"include_payloads": include_payloads}
    sync = build_sync(config, base_url="http://127.0.0.1/cdp", transport=httpx.ASGITransport(app=create_app(secret=SECRET)),
                      allow_http=True)
    records = events(3)
    records[1]["payload"] = deep(300)
    report = JsonlReport(tmp_path / "r.jsonl")
    outcomes: list[Outcome] = []
    try:
        sync.run(records, on_outcome=[outcomes.append, report])
    finally:
        report.close()
    lines = [orjson.loads(line) for line in (tmp_path / "r.jsonl").read_bytes().splitlines()]
    return sorted(outcomes, key=lambda o: o.row), lines


def test_a_300_deep_value_is_its_records_invalid_value_outcome_and_the_others_are_delivered(tmp_path: Path) -> None:
    outcomes, _ = run_with_deep_event(tmp_path, include_payloads=False)
    assert [(o.row, o.status, o.reason, o.field) for o in outcomes] == [
        (1, Status.DELIVERED, None, None), (2, Status.INVALID, "invalid_value", "data"), (3, Status.DELIVERED, None, None)]
    assert outcomes[1].message is not None and "data is nested 300 levels deep" in outcomes[1].message


def test_with_include_payloads_a_300_deep_record_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    outcomes, lines = run_with_deep_event(tmp_path, include_payloads=True)
    assert [o.status for o in outcomes] == [Status.DELIVERED, Status.INVALID, Status.DELIVERED]
    [line] = lines
    assert (line["row"], line["outcome"], line["reason"], line["field"]) == (2, "invalid", "invalid_value", "data")


def test_the_report_writes_a_line_whose_payload_cannot_be_written_without_the_payload(tmp_path: Path) -> None:
    report = JsonlReport(tmp_path / "r.jsonl")
    report(Outcome(row=4, status=Status.INVALID, key="k", reason="invalid_value", payload=deep(300)))
    report.close()
    [line] = [orjson.loads(x) for x in (tmp_path / "r.jsonl").read_bytes().splitlines()]
    assert (line["row"], "payload" in line) == (4, False)
    assert line["payload_omitted"] == "it cannot be written as JSON (Recursion limit reached)"
