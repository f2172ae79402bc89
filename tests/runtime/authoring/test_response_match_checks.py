"""`destkit spec check` on how results find their records: what used to fail only at run time.

A `match.key` other than the record's key finds no record (the whole batch is dead-lettered), and an
`ok` rule that would meet a list (a list value, or a path in `ok.field`) decides for a whole batch at
once. Each test adds one `response:` to a spec that checks clean and pins the finding.
"""

from __future__ import annotations

from tests.runtime.authoring.test_spec_check_findings import changed, findings_of

RECORD = "      record: {id: $id, email: $email}\n"

LIST_OF_RESULTS_FIX = (
    "point `results:` at the list and describe one item of it; add `only: failures` when it lists only the "
    "records that failed (docs/writing-a-spec.md, 'Answers that list only failures').")


def with_response(response: str, before: str = "") -> str:
    return changed(RECORD, RECORD + before + f"    response: {response}\n")


def test_a_match_key_that_is_not_the_record_key_is_an_error() -> None:
    assert findings_of(with_response("{results: data, match: {key: email}}")) == [
        "demo.yaml:21: actions.upsert.response.match.key: results are matched against each record's key, which is "
        "'id' (batch.key, else the first required field); match.key 'email' is not it, so no result would find "
        "its record and every batch would be dead-lettered. "
        "Fix: set batch.key: email (records with the same email then never share a batch).",
    ]


def test_a_match_key_that_is_the_batch_key_checks_clean() -> None:
    text = changed("    batch: {max_records: 100}\n", "    batch: {max_records: 100, key: email}\n",
                   with_response("{results: data, match: {key: email, result: email_address, case: insensitive}}"))
    assert findings_of(text) == []


def test_an_ok_rule_listing_a_list_is_an_error() -> None:
    assert findings_of(with_response("{ok: {field: errors, in: [[]]}}")) == [
        "demo.yaml:21: actions.upsert.response.ok.in: ok.in lists []: the rule would meet a list (or mapping) of "
        "results, and decide for the whole batch at once: one failure would refuse every record, and its absence "
        "would deliver them all. Fix: " + LIST_OF_RESULTS_FIX,
    ]


def test_an_ok_field_written_as_a_path_is_an_error() -> None:
    assert findings_of(with_response("{results: data, ok: {field: 'errors[0].status', in: [ok]}}")) == [
        "demo.yaml:21: actions.upsert.response.ok.field: ok.field 'errors[0].status' is read as one key of each "
        "result, not as a path, so no result has it and every record would be refused. "
        "Fix: name a key of a result item; " + LIST_OF_RESULTS_FIX,
    ]


def test_a_failures_only_response_matched_by_index_checks_clean() -> None:
    response = "{results: \"errors[?input_array=='attributes']\", only: failures, match: {index: index}}"
    assert findings_of(with_response(response)) == []
