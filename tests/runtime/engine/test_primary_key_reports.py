"""The primary key in what lists a run's records: the error groups' sample rows, the HTML report's group
table and the samples the CLI prints."""

from __future__ import annotations

from destkit.runtime.cli.display import sample_text
from destkit.runtime.engine.error_groups import group_lines
from destkit.runtime.engine.html_report import groups_section
from destkit.runtime.outcomes import Outcome, Reason, Status

LINES = [Outcome(row=2, status=Status.INVALID, key="u2", reason=Reason.INVALID_PHONE, field="phone_number",
                 message="not a phone number", value="415", primary_key="C-2").to_dict(),
         Outcome(row=3, status=Status.INVALID, key="u3", reason=Reason.INVALID_PHONE, field="phone_number",
                 message="not a phone number", value="416").to_dict()]


def test_an_error_groups_sample_row_names_the_primary_key() -> None:
    [group] = group_lines(LINES).to_list()
    assert group["samples"] == [
        {"row": 2, "primary_key": "C-2", "key": "u2", "message": "not a phone number", "value": "415"},
        {"row": 3, "key": "u3", "message": "not a phone number", "value": "416"}]


def test_the_html_reports_sample_rows_name_the_primary_key() -> None:
    page = groups_section(group_lines(LINES))
    assert "<li>row 2 · primary key <code>C-2</code> · key <code>u2</code> · value <code>415</code></li>" in page
    assert "<li>row 3 · key <code>u3</code> · value <code>416</code></li>" in page


def test_a_printed_sample_names_the_primary_key_after_the_row() -> None:
    [group] = group_lines(LINES).ordered()
    assert [sample_text(s) for s in group.samples] == ['row 2 · primary key C-2 · key u2 · value "415"',
                                                       'row 3 · key u3 · value "416"']
