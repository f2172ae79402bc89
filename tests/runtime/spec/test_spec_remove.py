"""`remove:` in a spec: the removal request a mirror sync sends, checked when the spec loads and by `destkit spec check`."""

from __future__ import annotations

import pytest

from destkit.runtime.authoring.check import check_spec_text
from destkit.runtime.errors import SpecError
from destkit.runtime.spec.body_template import build_envelope
from destkit.runtime.spec.loader import parse_spec
from destkit.runtime.spec.models import ActionSpec

GOOD = """\
spec_version: 1
id: demo
name: Demo
settings:
  audience_id: {type: string, default: a1}
base_url: "https://api.example.com"
auth: {kind: none}
actions:
  members:
    title: Members
    fields:
      email: {type: string, required: true}
      name: {type: string}
    batch: {max_records: 100, key: email}
    request:
      path: "/audiences/{{ settings.audience_id }}/members"
      body: {members: $records}
      record: {email: $email, name: $name}
    remove:
      request: {method: DELETE, record: {email: $email}}
"""


def changed(old: str, new: str, text: str = GOOD) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def issues_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "demo.yaml")
    return [str(issue) for issue in info.value.issues]


def action_of(text: str) -> ActionSpec:
    return parse_spec(text, "demo.yaml").actions["members"]


def test_the_removal_request_takes_the_keys_it_leaves_out_from_the_action_request() -> None:
    removal = action_of(GOOD).removal()

    assert removal is not None
    assert (removal.request.method, removal.request.path, removal.request.body, removal.request.record) == (
        "DELETE", "/audiences/{{ settings.audience_id }}/members", {"members": "$records"}, {"email": "$email"})


def test_the_removal_has_its_own_batch_limits_and_response_when_given() -> None:
    text = changed("    remove:\n", "    remove:\n      batch: {max_records: 10}\n      response: {results: r}\n")

    removal = action_of(text).removal()

    assert removal is not None
    assert (removal.batch.max_records, removal.response.results) == (10, "r")


def test_an_action_without_remove_has_no_removal() -> None:
    text = changed("    remove:\n      request: {method: DELETE, record: {email: $email}}\n", "")

    assert action_of(text).removal() is None


def test_operation_is_add_in_the_request_and_remove_in_the_removal_request() -> None:
    body = {"op": "$operation", "members": "$records"}

    assert build_envelope(body, {}).prefix == b'{"op":"add","members":['
    assert build_envelope(body, {}, "remove").prefix == b'{"op":"remove","members":['


def test_a_removal_record_naming_an_unknown_field_is_refused() -> None:
    text = changed("record: {email: $email}}", "record: {email: $mail}}")

    assert issues_of(text) == ["demo.yaml:20: actions.members.remove.request.record: $mail is not a field of this "
                               "action. Fix: use one of $email, $name."]


def test_a_removal_that_is_the_action_request_as_is_is_refused() -> None:
    text = changed("      request: {method: DELETE, record: {email: $email}}\n", "      batch: {max_records: 50}\n")

    assert issues_of(text) == [
        "demo.yaml:19: actions.members.remove: the removal request is the action's request as is, so a removal would "
        "add the member again. Fix: give `remove.request` what differs (e.g. `method: DELETE`), or say which records "
        "are removals with $operation in the record or body (`op: $operation`)."]


def test_the_same_request_with_a_per_record_operation_is_a_removal() -> None:
    text = changed("      record: {email: $email, name: $name}\n", "      record: {op: $operation, email: $email}\n")
    text = changed("      request: {method: DELETE, record: {email: $email}}\n", "      batch: {max_records: 50}\n", text)

    removal = action_of(text).removal()

    assert removal is not None and removal.request.record == {"op": "$operation", "email": "$email"}


def test_operation_in_an_action_without_remove_is_refused() -> None:
    text = changed("      record: {email: $email, name: $name}\n", "      record: {op: $operation, email: $email}\n")
    text = changed("    remove:\n      request: {method: DELETE, record: {email: $email}}\n", "", text)

    assert issues_of(text) == [
        "demo.yaml:15: actions.members.request: $operation is `add`, or `remove` in the action's removal request, but "
        "this action declares no `remove:`. Fix: declare `remove:` (e.g. `remove: {}` to send removals through this "
        "request with $operation = remove), or write the value itself."]


def test_spec_check_finds_nothing_in_a_good_removal() -> None:
    assert [str(f) for f in check_spec_text(GOOD, "demo.yaml").findings] == []


def test_spec_check_compiles_the_removal_request() -> None:
    text = changed("remove:\n      request: {method: DELETE,", 'remove:\n      request: {method: "{{ settings.verb }}",')
    text = changed("  audience_id: {type: string, default: a1}\n",
                   "  audience_id: {type: string, default: a1}\n  verb: {type: string, default: ZAP}\n", text)

    assert [str(f) for f in check_spec_text(text, "demo.yaml").findings] == [
        "demo.yaml:21: actions.members.remove.request.method: the method renders to 'ZAP', which is not an HTTP "
        "method. Fix: use one of GET, POST, PUT, PATCH, DELETE."]
