"""`destkit spec check` on actions with `remove:` (mirror mode): a member must be identifiable by its record's
key, and a variant that changes the request is reported, since the removal request is built on the action's own."""

from __future__ import annotations

from destkit.runtime.authoring.check import check_spec_text
from tests.runtime.spec.test_spec_remove import changed


def findings_of(text: str) -> list[str]:
    return [str(f) for f in check_spec_text(text, "demo.yaml").findings]


def test_a_removal_without_a_batch_key_is_a_warning_naming_the_field_that_stands_in() -> None:
    text = changed("batch: {max_records: 100, key: email}", "batch: {max_records: 100}")
    assert findings_of(text) == [
        "demo.yaml:14: warning: actions.members.batch: this action removes members (`remove:`) but has no batch.key: "
        "members are known by 'email', its first required field, and a request may hold the same member twice. "
        "Fix: set batch.key: email (or the field that identifies a member).",
    ]


def test_a_removal_without_any_record_key_is_an_error() -> None:
    text = changed("batch: {max_records: 100, key: email}", "batch: {max_records: 100}")
    text = changed("      email: {type: string, required: true}\n", "      email: {type: string}\n", text)
    assert "demo.yaml:19: actions.members.remove: a mirror run knows a member by its record's key, and this action has " \
           "none (no batch.key, no required field): no member who left the audience would ever be removed. " \
           "Fix: set batch.key to the field that identifies a member (e.g. batch: {key: email})." in findings_of(text)


VARIANT = """\
    variants:
      - when: {setting: single, equals: true}
        request:
          path: "/audiences/{{ settings.audience_id }}/member"
          body: $records
          record: {email: $email}
"""
SINGLE = "  single: {type: boolean, default: false}\n"


def test_a_variant_changing_the_request_of_an_action_with_a_removal_request_is_a_warning() -> None:
    text = changed("  audience_id: {type: string, default: a1}\n", "  audience_id: {type: string, default: a1}\n" + SINGLE)
    text = changed("    remove:\n", VARIANT + "    remove:\n", text)
    assert findings_of(text) == [
        "demo.yaml:22: warning: actions.members.variants.0.request: this variant changes the request, but a mirror "
        "run's removals are built on the action's own request (remove.request fills in from it): they would still go "
        "to /audiences/{{ settings.audience_id }}/members. Fix: put this request in an action of its own with its "
        "own `remove:`, or write `remove: {}` (removals through the request in use, with $operation = remove).",
    ]
