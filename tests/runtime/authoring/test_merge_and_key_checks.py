"""`destkit spec check` on merged objects and keys from settings: a `$merge` of optional object fields is
not a row of values, and a setting read only by a key template is a used setting."""

from __future__ import annotations

from tests.runtime.authoring.test_spec_check_findings import changed, findings_of

FIELDS = "      email: {type: string}\n"
RECORD = "      record: {id: $id, email: $email}\n"


def test_a_merge_of_two_optional_object_fields_checks_clean() -> None:
    text = changed(FIELDS, FIELDS + "      traits: {type: object}\n      extra: {type: object}\n")
    text = changed(RECORD, "      record: {id: $id, email: $email, props: {$merge: [$traits, $extra]}}\n", text)
    assert findings_of(text) == []


def test_a_setting_read_only_by_a_key_template_is_not_reported_unused() -> None:
    text = changed("  region: {type: string, enum: [eu, us], default: eu}\n",
                   "  region: {type: string, enum: [eu, us], default: eu}\n  list_id: {type: string}\n")
    text = changed(RECORD, '      record: {id: $id, lists: {"{{ settings.list_id }}": $email}}\n', text)
    assert findings_of(text) == []
