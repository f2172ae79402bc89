"""`destkit spec check` on settings that only some actions need (`settings.<name>.actions`): the list names
actions of the spec, and a request rendering a setting a sync of its action may leave out is reported."""

from __future__ import annotations

from tests.runtime.authoring.test_spec_check_findings import changed, findings_of

REGION = "  region: {type: string, enum: [eu, us], default: eu}\n"
PATH = "      path: /v1/contacts\n"
LIST_PATH = '      path: "/v1/lists/{{ settings.list_id }}/contacts"\n'


def test_a_setting_required_by_the_action_that_renders_it_checks_clean() -> None:
    text = changed(REGION, REGION + "  list_id: {type: string, actions: [upsert]}\n")
    assert findings_of(changed(PATH, LIST_PATH, text)) == []


def test_an_optional_setting_in_a_request_path_is_a_warning_naming_the_fix() -> None:
    text = changed(REGION, REGION + "  list_id: {type: string, required: false}\n")
    assert findings_of(changed(PATH, LIST_PATH, text)) == [
        "demo.yaml:19: warning: actions.upsert.request.path: the request uses settings.list_id, which a sync of "
        "upsert may leave out (it is not required for this action and has no default). "
        "Fix: add upsert to settings.list_id.actions (or give the setting a default).",
    ]


def test_a_setting_s_actions_must_be_actions_of_the_spec() -> None:
    text = changed(REGION, REGION + "  list_id: {type: string, actions: [upsert, add_to_list]}\n")
    assert findings_of(changed(PATH, LIST_PATH, text)) == [
        "demo.yaml:6: settings.list_id.actions: 'add_to_list' is not an action of this spec. Fix: use one of: upsert.",
    ]
