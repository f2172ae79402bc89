"""Each config error's "Fix" says what to change: the key or value meant, or the rule to meet.

A misspelt option, enum value, transform or setting gets a did-you-mean; a setting of the wrong type
or pattern says what to write instead of repeating what the setting is for; a YAML syntax error
names the line of the mistake (the start of a brace or quote never closed) and shows it with a caret.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from destkit.runtime import ConfigError, Issue, build_sync


def config(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "destination": "hello_charles",
        "action": "send_contacts",
        "settings": {"subdomain": "acme"},
        "secrets": {"api_key": "sk_test_51f0"},
        "mapping": {"external_reference_id": "id"},
    }
    base.update(overrides)
    return base


def issues_of(cfg: Any) -> dict[str, Issue]:
    with pytest.raises(ConfigError) as info:
        build_sync(cfg)
    return {issue.key: issue for issue in info.value.issues}


def test_a_misspelt_enum_value_of_an_option_gets_a_did_you_mean() -> None:
    issue = issues_of(config(options={"on_unknown_tag": "rejekt"}))["options.on_unknown_tag"]
    assert issue.message == "'rejekt' is not one of: reject, drop_and_warn."
    assert issue.fix == "did you mean 'reject'?"


def test_a_misspelt_option_key_is_matched_against_the_options() -> None:
    issue = issues_of(config(options={"concurency": 4}))["options.concurency"]
    assert issue.message == "'concurency' is not a sync option."
    assert issue.fix == "did you mean 'concurrency'?"


def test_a_misspelt_top_level_key_is_matched_against_the_config_keys() -> None:
    issue = issues_of({**config(), "mappings": {}})["mappings"]
    assert issue.fix == "did you mean 'mapping'?"


def test_a_misspelt_transform_gets_a_did_you_mean() -> None:
    issue = issues_of(config(mapping={"external_reference_id": {"path": "id", "transform": ["trimm"]}}))
    assert issue["mapping.external_reference_id.transform[0]"].fix == "did you mean the transform 'trim'?"


def test_a_misspelt_setting_name_gets_a_did_you_mean() -> None:
    issue = issues_of(config(settings={"subdomain": "acme", "sourcetype": "crm"}))["settings.sourcetype"]
    assert issue.fix == "did you mean 'source_type'?"


def test_a_setting_of_the_wrong_type_says_what_to_write() -> None:
    issue = issues_of(config(settings={"subdomain": "acme", "batch_api": "maybe"}))["settings.batch_api"]
    assert issue.fix == "set batch_api to true or false."


def test_a_setting_that_breaks_its_pattern_names_the_pattern() -> None:
    issue = issues_of(config(settings={"subdomain": "Acme Corp"}))["settings.subdomain"]
    assert issue.fix.startswith("set subdomain to a value matching ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ (")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sync.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_an_unclosed_brace_is_shown_on_its_own_line_with_a_caret(tmp_path: Path) -> None:
    path = write(tmp_path, """
        destination: hello_charles
        action: send_contacts
        settings: {subdomain: acme
        mapping: {external_reference_id: id}
    """)
    [issue] = issues_of(path).values()
    assert (issue.key, issue.line) == ("(yaml)", 3)
    assert issue.message == ("not valid YAML: a flow mapping that starts here is not closed "
                             "(expected ',' or '}', but got ':').")
    assert issue.fix == ("fix the YAML syntax on this line:\n"
                         "    3 | settings: {subdomain: acme\n"
                         "      |           ^")


def test_a_bad_indent_is_shown_where_the_parser_stopped(tmp_path: Path) -> None:
    path = write(tmp_path, """
        destination: hello_charles
        action: send_contacts
        settings:
          subdomain: acme
           region: eu
    """)
    [issue] = issues_of(path).values()
    assert issue.line == 5
    assert issue.fix.endswith("    5 |    region: eu\n      |          ^")
