"""The HTML report of a run: one well-formed file with the exact counts, no secret and nothing to fetch."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

from destkit.runtime.config.secrets import Secret
from destkit.runtime.engine.error_groups import group_lines
from destkit.runtime.engine.html_report import RunPage, render
from destkit.runtime.ops.timeline import RunTimeline
from destkit.runtime.outcomes import RunSummary

VOID = {"meta", "br", "rect", "link", "img", "hr", "input"}
SECRET = "sk-live-5f3a9b1c"


class Checked(HTMLParser):
    """Every tag closed in order (void and SVG self-closed ones aside); the text of elements with data- attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []
        self.data: dict[str, str] = {}
        self._capture: str | None = None
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)
            if name.startswith("data-") and value:
                self._capture = f"{name}={value}"
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.open[-1] if self.open else None}>")
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self._capture is not None and data.strip():
            self.data.setdefault(self._capture, data.strip())
            self._capture = None


def page() -> RunPage:
    summary = RunSummary(run_id="3f2a9c1d0e4b", destination="hello_charles", action="send_contacts", received=2_504,
                         counts=Counter(delivered=2_499, invalid=3, rejected=2), reasons=Counter(
                             invalid_phone=3, destination_rejected=2), batches=6, requests=7, retries=1,
                         duration_s=2.0)
    groups = group_lines([
        {"row": 2, "key": "u2", "outcome": "invalid", "reason": "invalid_phone", "field": "phone_number",
         "message": "phone_number '415' is not in international format"},
        {"row": 5, "key": "u5", "outcome": "invalid", "reason": "invalid_phone", "field": "phone_number",
         "message": "phone_number '416' is not in international format"},
        {"row": 8, "key": "u8", "outcome": "invalid", "reason": "invalid_phone", "field": "phone_number",
         "message": "phone_number '417' is not in international format"},
        {"row": 9, "key": "u9", "outcome": "rejected", "reason": "destination_rejected",
         "destination_message": f"bad token {SECRET}"},
        {"row": 11, "key": "u11", "outcome": "rejected", "reason": "destination_rejected",
         "destination_message": f"bad token {SECRET}"},
    ])
    timeline = RunTimeline()
    timeline.observe(summary.counts, 7, 1, 0, [0.02] * 7)
    return RunPage(summary, groups, timeline.to_dict(), settings={"subdomain": "acme", "note": SECRET},
                   mapping={"external_reference_id": "user_id", "phone_number": "phone"},
                   secret_names=["api_key"], secrets=[Secret(SECRET)], docs_url="https://docs.example.com/api")


def test_the_report_is_well_formed_html() -> None:
    checked = Checked()
    checked.feed(render(page()))
    checked.close()
    assert checked.errors == []
    assert checked.open == []


def test_the_report_shows_the_exact_count_of_every_outcome_and_reason() -> None:
    checked = Checked()
    checked.feed(render(page()))
    counts = {k: v for k, v in checked.data.items() if k.startswith(("data-count", "data-reason"))}
    assert counts == {"data-count=delivered": "2,499", "data-count=invalid": "3", "data-count=rejected": "2",
                      "data-count=dead_lettered": "0", "data-count=skipped": "0", "data-count=received": "2,504",
                      "data-reason=destination_rejected": "2", "data-reason=invalid_phone": "3"}


def test_the_report_groups_the_records_not_delivered_with_their_counts() -> None:
    checked = Checked()
    checked.feed(render(page()))
    assert checked.data["data-group=invalid_phone"] == "3"
    assert checked.data["data-group=destination_rejected"] == "2"


def test_no_secret_value_appears_in_the_report() -> None:
    document = render(page())
    assert SECRET not in document
    assert "api_key = ***" in document


def test_the_report_fetches_nothing_and_links_only_to_the_destination_docs() -> None:
    checked = Checked()
    document = render(page())
    checked.feed(document)
    assert checked.urls == ["https://docs.example.com/api"]
    assert re.findall(r"https?://", document) == ["https://"]
    assert "<script" not in document
