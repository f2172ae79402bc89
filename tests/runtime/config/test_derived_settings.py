"""Settings derived from a secret (`derive: {secret, pattern}`): e.g. Mailchimp's data center is the suffix
of its API key (`...-us21` → `us21`), used in the base URL. The user does not set it; a secret that does
not have the form is a config error naming the secret, never showing it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from destkit.runtime import build_sync
from destkit.runtime.authoring.check import check_spec_text
from destkit.runtime.errors import ConfigError, SpecError
from destkit.runtime.spec.loader import parse_spec

SPEC = """\
spec_version: 1
id: keyed
name: Keyed
settings:
  dc:
    title: Data center
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
      path: /3.0/members
      body: {members: $records}
      record: {email_address: $email}
"""

KEY = "5f2c9a0e1b7d4c3a8e6f0b1d2c3e4f5a-us21"
CONFIG: dict[str, Any] = {"destination": "keyed", "action": "upsert", "secrets": {"api_key": KEY},
                          "mapping": {"email": "email"}}


def sync_for(config: dict[str, Any], **kwargs: Any) -> Any:
    return build_sync(config, spec=parse_spec(SPEC, "keyed.yaml"), **kwargs)


def test_the_base_url_takes_the_data_center_from_the_key_suffix() -> None:
    (request,) = sync_for(CONFIG).dry_run([{"email": "ann@example.com"}]).requests
    assert request.url == "https://us21.api.example.com/3.0/members"


def test_a_key_without_the_suffix_is_a_config_error_naming_the_secret_not_its_value() -> None:
    with pytest.raises(ConfigError) as caught:
        sync_for({**CONFIG, "secrets": {"api_key": "5f2c9a0e1b7d4c3a8e6f0b1d2c3e4f5a"}})
    assert [(i.key, i.message) for i in caught.value.issues] == [
        ("secrets.api_key", "the secret 'api_key' does not have the form the setting 'dc' is read from "
                            "(pattern -([a-z]+[0-9]+)$).")]
    assert "5f2c9a0e1b7d4c3a8e6f0b1d2c3e4f5a" not in str(caught.value)


def test_a_derived_setting_given_in_the_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        sync_for({**CONFIG, "settings": {"dc": "eu1"}})
    assert [(i.key, i.message) for i in caught.value.issues] == [
        ("settings.dc", "'dc' is read from the secret 'api_key', not set in the config.")]


def test_an_offline_preview_without_the_secret_uses_the_settings_example() -> None:
    sync = sync_for({**CONFIG, "secrets": {}}, needs_secrets=False)
    assert sync.settings["dc"] == "us21"


def test_deriving_from_an_undeclared_secret_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match=re.escape("settings.dc.derive reads the secret 'token', which is not under secrets")):
        parse_spec(SPEC.replace("derive: {secret: api_key", "derive: {secret: token"), "keyed.yaml")


def test_a_derive_pattern_without_one_group_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="the pattern has 0 groups; write exactly one"):
        parse_spec(SPEC.replace('pattern: "-([a-z]+[0-9]+)$"', 'pattern: "-[a-z]+[0-9]+$"'), "keyed.yaml")


def test_a_secret_read_only_by_a_derived_setting_checks_clean() -> None:
    text = SPEC.replace('auth: {kind: basic, username: anystring, password: "{{ secrets.api_key }}"}',
                        "auth: {kind: none}")
    assert [str(f) for f in check_spec_text(text, "keyed.yaml").findings] == []
