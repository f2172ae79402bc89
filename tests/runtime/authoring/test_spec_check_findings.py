"""`destkit spec check` findings beyond the loader's: what the checker learns by rendering the
templates with sample settings, compiling each action and looking for names nothing uses.

Each test changes one thing in a spec that checks clean and pins the exact finding (file, line, key,
message, fix) an author reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from destkit.runtime.authoring import check
from destkit.runtime.authoring.check import check_spec, check_spec_text

GOOD = """\
spec_version: 1
id: demo
name: Demo
settings:
  region: {type: string, enum: [eu, us], default: eu}
secrets:
  token: {title: Token}
base_url: "https://{{ settings.region }}.api.example.com"
auth: {kind: bearer, token: "{{ secrets.token }}"}
actions:
  upsert:
    title: Upsert
    fields:
      id: {type: string, required: true}
      email: {type: string}
    batch: {max_records: 100}
    request:
      path: /v1/contacts
      body: {items: $records}
      record: {id: $id, email: $email}
"""


def findings_of(text: str) -> list[str]:
    result = check_spec_text(text, "demo.yaml")
    assert result.spec is not None, [str(f) for f in result.findings]
    return [str(f) for f in result.findings]


def changed(old: str, new: str, text: str = GOOD) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_good_spec_of_these_tests_has_no_findings() -> None:
    assert findings_of(GOOD) == []


# --- requests -------------------------------------------------------------------------------------


def test_a_method_that_renders_to_no_http_method_is_an_error() -> None:
    text = changed(
        "  region: {type: string, enum: [eu, us], default: eu}\n",
        "  region: {type: string, enum: [eu, us], default: eu}\n  verb: {type: string, default: SEND}\n",
    )
    text = changed("      path: /v1/contacts\n", '      path: /v1/contacts\n      method: "{{ settings.verb }}"\n', text)
    assert findings_of(text) == [
        "demo.yaml:20: actions.upsert.request.method: the method renders to 'SEND', which is not an HTTP method. "
        "Fix: use one of GET, POST, PUT, PATCH, DELETE.",
    ]


def test_a_method_that_only_a_placeholder_setting_makes_wrong_is_a_warning() -> None:
    text = changed(
        "  region: {type: string, enum: [eu, us], default: eu}\n",
        "  region: {type: string, enum: [eu, us], default: eu}\n  verb: {type: string}\n",
    )
    text = changed("      path: /v1/contacts\n", '      path: /v1/contacts\n      method: "{{ settings.verb }}"\n', text)
    assert findings_of(text) == [
        "demo.yaml:20: warning: actions.upsert.request.method: the method renders to 'example', which is not "
        "an HTTP method (with placeholder settings). Fix: use one of GET, POST, PUT, PATCH, DELETE.",
    ]


def test_a_body_without_a_record_template_is_an_error() -> None:
    text = changed("      record: {id: $id, email: $email}\n", "")
    assert findings_of(text) == [
        "demo.yaml:17: actions.upsert.request.record: there is a request body but no `record:` template, "
        "so every record would be sent as null. Fix: add `record:` with the record's body, "
        "e.g. `{id: $id, email: $email}`.",
        "demo.yaml:14: warning: actions.upsert.fields.id: 'id' is not used by the request body, path or "
        "batch key, so its value is checked but never sent. Fix: use $id in request.record, or remove the field.",
        "demo.yaml:15: warning: actions.upsert.fields.email: 'email' is not used by the request body, path or "
        "batch key, so its value is checked but never sent. Fix: use $email in request.record, or remove the field.",
    ]


def test_a_field_no_request_uses_is_a_warning() -> None:
    text = changed("      email: {type: string}\n", "      email: {type: string}\n      phone: {type: string}\n")
    assert findings_of(text) == [
        "demo.yaml:16: warning: actions.upsert.fields.phone: 'phone' is not used by the request body, path or "
        "batch key, so its value is checked but never sent. Fix: use $phone in request.record, or remove the field.",
    ]


# --- error classes --------------------------------------------------------------------------------


def test_a_status_under_two_classes_is_a_warning_naming_the_winner() -> None:
    text = GOOD + "errors: {auth: [401, 403], retry: [403, 5xx]}\n"
    assert findings_of(text) == [
        "demo.yaml:21: warning: errors.retry: 403 is listed under both auth and retry; auth wins. "
        "Fix: remove 403 from retry.",
    ]


def test_a_success_status_under_an_error_class_is_a_warning() -> None:
    text = GOOD + "errors: {rejected: [200, 400]}\n"
    assert findings_of(text) == [
        "demo.yaml:21: warning: errors.rejected: 200 is listed under rejected, but 2xx is always success and "
        "3xx is never followed. Fix: remove 200.",
    ]


def test_a_split_status_that_is_retried_first_is_a_warning() -> None:
    text = GOOD + "errors: {retry: [413], rejected: [400], split: [413]}\n"
    assert findings_of(text) == [
        "demo.yaml:21: warning: errors.split: 413 is under split but also under retry, which wins, so it is "
        "never split. Fix: remove 413 from split.",
    ]


# --- secrets, settings, catalogs ------------------------------------------------------------------


def test_a_secret_withheld_from_an_action_is_an_error_where_its_auth_uses_it() -> None:
    text = changed("token: {title: Token}", "token: {title: Token, actions: [other]}")
    assert findings_of(text) == [
        "demo.yaml:7: secrets.token.actions: 'other' is not an action of this spec. Fix: use one of: upsert.",
        "demo.yaml:9: auth.token: the secret 'token' is not available to the upsert action "
        "(secrets.token.actions leaves it out). Fix: add upsert to secrets.token.actions.",
    ]


def test_a_setting_nothing_reads_is_a_warning() -> None:
    text = changed(
        "  region: {type: string, enum: [eu, us], default: eu}\n",
        "  region: {type: string, enum: [eu, us], default: eu}\n  tier: {type: string, default: gold}\n",
    )
    assert findings_of(text) == [
        "demo.yaml:6: warning: settings.tier: the setting 'tier' is not used by any template, request or variant. "
        "Fix: use it (e.g. $settings.tier in a record) or remove it.",
    ]


def test_a_secret_nothing_reads_is_a_warning() -> None:
    text = changed("  token: {title: Token}\n", "  token: {title: Token}\n  spare: {title: Spare}\n")
    assert findings_of(text) == [
        "demo.yaml:8: warning: secrets.spare: the secret 'spare' is not used by any auth template. "
        "Fix: use it (e.g. {{ secrets.spare }} in auth) or remove it.",
    ]


def test_a_catalog_no_field_names_is_a_warning() -> None:
    text = GOOD + "catalogs:\n  lists:\n    request: {method: GET, path: /v1/lists}\n    items: 'data[].id'\n"
    assert findings_of(text) == [
        "demo.yaml:22: warning: catalogs.lists: the catalog 'lists' is not used by any field "
        "(catalog or keys_catalog). Fix: point a field at it, or remove it.",
    ]


def test_a_setting_pattern_that_does_not_compile_is_an_error() -> None:
    text = changed(
        "  region: {type: string, enum: [eu, us], default: eu}\n",
        "  region: {type: string, enum: [eu, us], default: eu}\n  code: {type: string, pattern: '[a-', default: a}\n",
    )
    text = changed("      path: /v1/contacts\n", '      path: "/v1/contacts"\n      headers: {X-Code: "{{ settings.code }}"}\n', text)
    assert findings_of(text) == [
        "demo.yaml:6: settings.code.pattern: the pattern does not compile: unterminated character set at "
        "position 0. Fix: fix the regular expression.",
    ]


# --- base URL -------------------------------------------------------------------------------------


def test_a_base_url_wrong_only_with_placeholder_settings_is_a_warning() -> None:
    text = changed(
        "  region: {type: string, enum: [eu, us], default: eu}\n",
        "  region: {type: string, enum: [eu, us], default: eu}\n  tenant: {type: string}\n",
    )
    text = changed(
        'base_url: "https://{{ settings.region }}.api.example.com"',
        'base_url: "https://{{ settings.region }}.api.example.com/{{ settings.tenant }}"',
        text,
    )
    assert findings_of(text) == [
        "demo.yaml:9: warning: base_url: the rendered base URL https://eu.api.example.com/example has a path; "
        "a setting must not inject one (rendered with placeholder settings). "
        "Fix: the base URL must render to https://host, with no path, query or credentials.",
    ]


# --- reading the file, and the checker's own failures ---------------------------------------------


def test_a_spec_file_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_bytes(b"name: \xff\n")
    result = check_spec(path)
    assert (result.ok, result.spec) == (False, None)
    assert [str(f) for f in result.findings] == [f"{path}: (file): {path} is not UTF-8 text. Fix: save it as UTF-8."]


def test_a_crash_inside_the_checker_is_reported_after_what_it_found(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(check, "check_emulator", broken)
    text = changed("      email: {type: string}\n", "      email: {type: string}\n      phone: {type: string}\n")
    assert findings_of(text) == [
        "demo.yaml:16: warning: actions.upsert.fields.phone: 'phone' is not used by the request body, path or "
        "batch key, so its value is checked but never sent. Fix: use $phone in request.record, or remove the field.",
        "demo.yaml:1: (check): destkit could not finish checking this spec: KeyError: 'boom'. "
        "Fix: this is a bug in destkit's spec checker; please report it with the spec.",
    ]
