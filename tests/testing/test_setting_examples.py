"""`examples:` on settings (and secrets): valid values the spec gives, so `destkit test` builds a config
that loads for a spec whose testing profile (or missing emulator) gives no value, and `destkit spec
check` refuses an example the setting itself would refuse."""

from __future__ import annotations

from destkit.runtime.authoring.check import check_spec_text
from destkit.runtime.spec.loader import parse_spec
from destkit.testing import run_conformance, sync_config
from destkit.testing.emulators import default_profile

SPEC = """\
spec_version: 1
id: listed
name: Listed
settings:
  list_id: {type: string, title: Audience id, pattern: "^[0-9a-f]{10}$", examples: [a1b2c3d4e5]}
  dc:
    derive: {secret: api_key, pattern: "-([a-z]+[0-9]+)$"}
    examples: [us21]
secrets:
  api_key: {title: API key, examples: [0123456789abcdef0123456789abcdef-us21]}
base_url: "https://{{ settings.dc }}.api.example.com"
auth: {kind: basic, username: anystring, password: "{{ secrets.api_key }}"}
actions:
  upsert:
    title: Upsert
    fields:
      email: {type: string, required: true}
    batch: {max_records: 10}
    request:
      path: "/3.0/lists/{{ settings.list_id }}"
      body: {members: $records}
      record: {email_address: $email}
"""


def test_the_default_profile_takes_the_settings_and_secrets_examples() -> None:
    profile = default_profile(parse_spec(SPEC, "listed.yaml"), "upsert")
    assert (profile["settings"], profile["secrets"]) == (
        {"list_id": "a1b2c3d4e5"}, {"api_key": "0123456789abcdef0123456789abcdef-us21"})


def test_a_profile_without_a_required_setting_gets_its_example() -> None:
    config = sync_config(parse_spec(SPEC, "listed.yaml"), "upsert", {"settings": {}, "secrets": {"api_key": "k-us1"}})
    assert config["settings"] == {"list_id": "a1b2c3d4e5"}


def test_the_conformance_suite_runs_a_spec_with_examples_and_no_emulator() -> None:
    report = run_conformance(parse_spec(SPEC, "listed.yaml"), examples=5, seed=0)
    assert report.ok, str(report)


def test_an_example_the_setting_refuses_is_a_spec_check_error() -> None:
    text = SPEC.replace("examples: [a1b2c3d4e5]", "examples: [A1B2]")
    assert [str(f) for f in check_spec_text(text, "listed.yaml").findings] == [
        "listed.yaml:5: settings.list_id.examples.0: the example 'A1B2' does not satisfy the setting's own schema: "
        "'A1B2' does not match '^[0-9a-f]{10}$'. Fix: change the example or the setting's type, pattern or enum.",
    ]
