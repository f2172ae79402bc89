"""Positional records: a row in a declared column order (`record: {$columns: {LABEL: $field}, empty: ""}`).

An absent value is sent as the declared empty value in its column, so every row has exactly the
declared columns in order; a plain list template drops it and shifts the later columns.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from destkit.runtime import build_sync
from destkit.runtime.authoring.check import check_spec_text
from destkit.runtime.errors import SpecError
from destkit.runtime.spec.loader import parse_spec

SPEC = """\
spec_version: 1
id: rows
name: Rows
base_url: "https://api.example.com"
auth: {kind: none}
actions:
  add:
    title: Add to audience
    fields:
      email: {type: string, required: true}
      phone: {type: string}
      first_name: {type: string}
    batch: {max_records: 100}
    request:
      path: /audience/users
      body: {payload: {schema: $columns, data: $records}}
      record:
        $columns: {EMAIL: $email, PHONE: $phone, FN: $first_name}
        empty: ""
"""

PLAIN_LIST = SPEC.replace(
    """      body: {payload: {schema: $columns, data: $records}}
      record:
        $columns: {EMAIL: $email, PHONE: $phone, FN: $first_name}
        empty: ""
""",
    """      body: {payload: {schema: [EMAIL, PHONE, FN], data: $records}}
      record: [$email, $phone, $first_name]
""",
)

COLUMNS = ["email", "phone", "first_name"]
CONFIG = {"destination": "rows", "action": "add", "mapping": {name: name for name in COLUMNS}}


def body_of(spec_text: str, records: list[dict[str, Any]]) -> Any:
    sync = build_sync(CONFIG, spec=parse_spec(spec_text, "rows.yaml"))
    return sync.dry_run(records).requests[0].json()


POSITIONAL_SYNC = build_sync(CONFIG, spec=parse_spec(SPEC, "rows.yaml"))


def test_an_absent_middle_value_is_sent_as_empty_and_the_later_columns_stay_in_place() -> None:
    assert body_of(SPEC, [{"email": "a@example.com", "first_name": "Ann"}]) == {
        "payload": {"schema": ["EMAIL", "PHONE", "FN"], "data": [["a@example.com", "", "Ann"]]}
    }


def test_a_plain_list_record_drops_the_absent_value_and_shifts_the_columns() -> None:
    # what the positional record replaces: "Ann" goes out in the PHONE column
    assert body_of(PLAIN_LIST, [{"email": "a@example.com", "first_name": "Ann"}]) == {
        "payload": {"schema": ["EMAIL", "PHONE", "FN"], "data": [["a@example.com", "Ann"]]}
    }


def test_the_declared_empty_value_fills_an_absent_column() -> None:
    spec = SPEC.replace('empty: ""', "empty: null")
    assert body_of(spec, [{"email": "a@example.com"}])["payload"]["data"] == [["a@example.com", None, None]]


def test_a_body_with_columns_needs_a_positional_record() -> None:
    spec = PLAIN_LIST.replace("schema: [EMAIL, PHONE, FN]", "schema: $columns")
    with pytest.raises(SpecError) as info:
        parse_spec(spec, "rows.yaml")
    assert [str(i) for i in info.value.issues] == [
        "rows.yaml:14: actions.add.request: Value error, $columns in the body stands for the column labels of a "
        "positional record; write the record as {$columns: {LABEL: $field, ...}}.",
    ]


VALUES = st.text(alphabet="abcxyz@.+0123456789", min_size=1, max_size=12)


@given(VALUES, st.dictionaries(st.sampled_from(COLUMNS[1:]), VALUES))
def test_every_row_has_each_present_value_at_its_columns_index(email: str, optional: dict[str, str]) -> None:
    record = {"email": email, **optional}  # email is required, the others are any subset
    row = POSITIONAL_SYNC.dry_run([record]).requests[0].json()["payload"]["data"][0]
    assert len(row) == len(COLUMNS)
    for index, name in enumerate(COLUMNS):
        assert row[index] == record.get(name, "")


def test_a_column_naming_no_field_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(SPEC.replace("FN: $first_name", "FN: $firstname"), "rows.yaml")
    assert str(info.value.issues[0]) == (
        "rows.yaml:17: actions.add.request.record: $firstname is not a field of this action. "
        "Fix: use one of $email, $phone, $first_name."
    )


def test_a_positional_record_inside_a_record_template_is_a_spec_error() -> None:
    spec = SPEC.replace("      record:\n        $columns", "      record:\n        row:\n          $columns")
    spec = spec.replace("schema: $columns", "schema: [EMAIL, PHONE, FN]").replace('        empty: ""\n', "")
    with pytest.raises(SpecError) as info:
        parse_spec(spec, "rows.yaml")
    assert [str(i) for i in info.value.issues] == [
        "rows.yaml:17: actions.add.request.record: a positional record ({$columns: ...}) must be the whole record, "
        "not a part of it. Fix: make `record:` the {$columns: ...} mapping, and put the other values in the body.",
    ]


def test_spec_check_finds_a_plain_list_record_with_optional_fields() -> None:
    check = check_spec_text(PLAIN_LIST, "rows.yaml")
    assert [str(f) for f in check.errors] == [
        "rows.yaml:17: actions.add.request.record: this list drops an absent value ($phone, $first_name "
        "are optional), so the values after it shift into the wrong columns. Fix: if the positions matter (a row "
        "under a schema of columns), declare a positional record: `{$columns: {LABEL: $field, ...}, empty: \"\"}`, "
        "which sends an absent value as empty in its column; if they do not, write each value under its own key.",
    ]


def test_spec_check_accepts_a_positional_record() -> None:
    check = check_spec_text(SPEC, "rows.yaml")
    assert [str(f) for f in check.findings] == []


def test_spec_check_warns_about_a_nested_list_of_values_with_an_optional_field() -> None:
    # nested, the list may be a set (where dropping an absent value is right), so it is only a warning
    spec = PLAIN_LIST.replace(
        "      record: [$email, $phone, $first_name]\n",
        "      record:\n        email: $email\n        also: [$phone, $first_name]\n",
    ).replace("schema: [EMAIL, PHONE, FN], ", "")
    check = check_spec_text(spec, "rows.yaml")
    assert check.ok
    assert [str(f) for f in check.findings] == [
        "rows.yaml:19: warning: actions.add.request.record.also: this list drops an absent value ($phone, "
        "$first_name are optional), so the values after it shift into the wrong columns. Fix: if the positions "
        "matter (a row under a schema of columns), declare a positional record: `{$columns: {LABEL: $field, ...}, "
        'empty: ""}`, which sends an absent value as empty in its column; if they do not, write each value under '
        "its own key.",
    ]


def test_spec_check_accepts_a_plain_list_of_required_fields() -> None:
    spec = PLAIN_LIST.replace("phone: {type: string}", "phone: {type: string, required: true}").replace(
        "first_name: {type: string}", "first_name: {type: string, required: true}"
    )
    assert [str(f) for f in check_spec_text(spec, "rows.yaml").findings] == []
