"""A wrong `options:` no longer hides the config's other problems: settings, secrets and mapping are
checked too, and every problem is listed in one pass (options first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from destkit.runtime import ConfigError, build_sync

CONFIG = """\
destination: hello_charles
action: send_contacts
settings: {subdomain: acme, batch_api: maybe}
secrets: {api_key: {env: OPTIONS_TEST_KEY}}
options: {concurency: 3}
mapping:
  external_reference_id: id
  phone_numbr: phone
"""


def test_a_misspelt_option_is_listed_with_a_bad_setting_and_a_bad_mapping_key(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTIONS_TEST_KEY", "k")
    path = tmp_path / "sync.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        build_sync(path)
    assert [(i.key, i.line) for i in caught.value.issues] == [
        ("options.concurency", 5), ("settings.batch_api", 3), ("mapping.phone_numbr", 8)]
    assert caught.value.render().startswith("invalid sync config (3 problems):")


def test_a_config_given_as_a_dict_lists_its_option_and_setting_problems_together() -> None:
    config = {"destination": "hello_charles", "action": "send_contacts", "settings": {"subdomain": "acme",
              "batch_api": "maybe"}, "secrets": {"api_key": "k"}, "options": {"on_unknown_tag": "rejekt"},
              "mapping": {"external_reference_id": "id", "phone_number": "phone"}}
    with pytest.raises(ConfigError) as caught:
        build_sync(config)
    assert [i.key for i in caught.value.issues] == ["options.on_unknown_tag", "settings.batch_api"]
