"""Config errors from `build_sync`, one kind per test.

A sync config is checked before any record is read, and every problem comes back at once in a
`ConfigError` whose issues each name the config key, say what is wrong and how to fix it; read
from a YAML file they also carry the file and line. Secrets never appear in an error. Checks
that need the destination's catalogs (constant tags, custom-property keys) run when the sync is
prepared -- here through `dry_run(..., offline=True)` with the catalogs given in the config --
and still raise before the first record.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from destkit.runtime import ConfigError, Issue, Outcome, build_sync

SECRET = "sk_live_7fQ2xVb9Lm"
TAGS = ["vip", "newsletter", "984"]
PROPERTIES = {"loyalty_tier": "Loyalty Tier", "zeotap_audience_name": "Zeotap Audience Name"}


def config(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "destination": "hello_charles",
        "action": "send_contacts",
        "settings": {"subdomain": "acme"},
        "secrets": {"api_key": SECRET},
        "mapping": {"external_reference_id": "id", "phone_number": "phone", "tags": "segments"},
        "catalogs": {"tags": list(TAGS), "custom_properties": dict(PROPERTIES)},
    }
    base.update(overrides)
    return base


def config_error(cfg: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build_sync(cfg)
    assert SECRET not in str(info.value)
    return info.value


def only_issue(error: ConfigError) -> Issue:
    assert len(error.issues) == 1, error.issues
    return error.issues[0]


def prepare_error(cfg: Any) -> tuple[ConfigError, list[Outcome]]:
    """The ConfigError a dry run raises while preparing, and the outcomes emitted before it."""
    outcomes: list[Outcome] = []
    sync = build_sync(cfg)
    with pytest.raises(ConfigError) as info:
        sync.dry_run([{"id": "c1"}, {"id": "c2"}], offline=True, on_outcome=outcomes.append)
    assert SECRET not in str(info.value)
    return info.value, outcomes


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sync.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def api_key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HELLO_CHARLES_API_KEY", SECRET)
    return "HELLO_CHARLES_API_KEY"


# --- destination and action --------------------------------------------------------------------


def test_unknown_destination_names_the_bundled_ones() -> None:
    issue = only_issue(config_error(config(destination="hello_charly")))
    assert issue.key == "destination"
    assert "'hello_charly' is not a bundled destination" in issue.message
    assert "hello_charles" in issue.fix


def test_unknown_destination_in_a_file_carries_the_file_and_line(tmp_path: Path, api_key_env: str) -> None:
    path = write(
        tmp_path,
        f"""
        action: send_contacts
        destination: hello_charly
        settings: {{subdomain: acme}}
        secrets: {{api_key: {{env: {api_key_env}}}}}
        mapping: {{external_reference_id: id}}
    """,
    )
    issue = only_issue(config_error(path))
    assert (issue.key, issue.file, issue.line) == ("destination", str(path), 2)


def test_unknown_action_names_the_actions_of_the_destination() -> None:
    issue = only_issue(config_error(config(action="send_contact")))
    assert issue.key == "action"
    assert "'send_contact' is not an action of Hello Charles" in issue.message
    assert "send_contacts" in issue.fix


# --- settings ----------------------------------------------------------------------------------


def test_missing_required_setting_says_what_to_fill_in() -> None:
    issue = only_issue(config_error(config(settings={})))
    assert issue.key == "settings.subdomain"
    assert "'subdomain' (Base URL) is required" in issue.message
    assert "subdomain segment of your Hello Charles workspace URL" in issue.fix


@pytest.mark.parametrize(
    "subdomain", ["evil.com/x", "a.b@c", "https://acme.hello-charles.com", "-acme", "ACME", "acme\n"]
)
def test_setting_failing_its_pattern_is_refused_with_what_it_should_be(subdomain: str) -> None:
    issue = only_issue(config_error(config(settings={"subdomain": subdomain})))
    assert issue.key == "settings.subdomain"
    assert f"{subdomain!r} is not a valid Base URL" in issue.message
    assert "<subdomain>.hello-charles.com" in issue.fix


def test_setting_with_a_trailing_newline_fails_its_pattern() -> None:
    # A value pasted from a terminal or file often ends in a newline; it must not slip past the
    # pattern (Python's `$` matches before a final newline) into the request body.
    issue = only_issue(config_error(config(settings={"subdomain": "acme", "source_type": "segment\n"})))
    assert issue.key == "settings.source_type"
    assert "'segment\\n' is not a valid Source type" in issue.message


def test_unknown_setting_names_the_settings_there_are() -> None:
    issue = only_issue(config_error(config(settings={"subdomain": "acme", "region": "eu"})))
    assert issue.key == "settings.region"
    assert "'region' is not a setting of Hello Charles" in issue.message
    assert issue.fix == "use one of: subdomain, source_type, batch_api, event_source."


# --- secrets -----------------------------------------------------------------------------------


def test_missing_secret_says_how_to_reference_it() -> None:
    issue = only_issue(config_error(config(secrets={})))
    assert issue.key == "secrets.api_key"
    assert "'api_key' (API Key) is not given" in issue.message
    assert "{env: API_KEY}" in issue.fix


def test_empty_secret_in_a_dict_is_refused_like_a_missing_one() -> None:
    # Judgment call: an empty API key can only fail at the destination (as a 401 that stops the
    # run); every CDP's destination form refuses a blank API key up front.
    issue = only_issue(config_error(config(secrets={"api_key": ""})))
    assert issue.key == "secrets.api_key"


def test_literal_secret_in_a_python_dict_is_accepted() -> None:
    sync = build_sync(config())
    assert SECRET not in repr(sync)


def test_literal_secret_in_a_config_file_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        destination: hello_charles
        action: send_contacts
        settings:
          subdomain: acme
        secrets:
          api_key: {SECRET}
        mapping:
          external_reference_id: id
    """,
    )
    issue = only_issue(config_error(path))
    assert (issue.key, issue.file, issue.line) == ("secrets.api_key", str(path), 6)
    assert "a secret value is written into the config file" in issue.message
    assert "{env: API_KEY}" in issue.fix


def test_secrets_given_as_a_bare_string_in_a_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        destination: hello_charles
        action: send_contacts
        settings: {{subdomain: acme}}
        secrets: {SECRET}
        mapping: {{external_reference_id: id}}
    """,
    )
    issue = only_issue(config_error(path))
    assert (issue.key, issue.line) == ("secrets", 4)


def test_secret_from_an_unset_env_var_says_to_export_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESTKIT_TEST_UNSET_KEY", raising=False)
    issue = only_issue(config_error(config(secrets={"api_key": {"env": "DESTKIT_TEST_UNSET_KEY"}})))
    assert issue.key == "secrets.api_key"
    assert "environment variable DESTKIT_TEST_UNSET_KEY is not set" in issue.message
    assert issue.fix == "export DESTKIT_TEST_UNSET_KEY=<value> before running."


def test_secret_from_a_set_env_var_is_accepted(api_key_env: str) -> None:
    build_sync(config(secrets={"api_key": {"env": api_key_env}}))


def test_secret_the_destination_does_not_have_is_refused() -> None:
    issue = only_issue(config_error(config(secrets={"api_key": SECRET, "token": "x"})))
    assert issue.key == "secrets.token"
    assert issue.fix == "use one of: api_key."


def test_secret_pasted_into_a_setting_is_not_echoed_in_the_error() -> None:
    # A common slip: the API key pasted into the Base URL field of the form.
    error = config_error(config(settings={"subdomain": SECRET}))
    assert only_issue(error).key == "settings.subdomain"


def test_secret_from_env_never_appears_in_an_error_about_other_keys(api_key_env: str) -> None:
    error = config_error(
        config(
            secrets={"api_key": {"env": api_key_env}},
            settings={"subdomain": "evil.com/x"},
            mapping={"phone": "phone"},
        )
    )
    assert {i.key for i in error.issues} == {
        "settings.subdomain",
        "mapping.phone",
        "mapping.external_reference_id",
    }


# --- mapping -----------------------------------------------------------------------------------


def test_unknown_mapping_field_suggests_the_closest_field() -> None:
    issue = only_issue(config_error(config(mapping={"external_reference_id": "id", "phone": "phone"})))
    assert issue.key == "mapping.phone"
    assert "'phone' is not a field of this action" in issue.message
    assert issue.fix == "did you mean 'phone_number'?"


def test_unknown_mapping_field_in_a_file_carries_its_line(tmp_path: Path, api_key_env: str) -> None:
    path = write(
        tmp_path,
        f"""
        destination: hello_charles
        action: send_contacts
        settings: {{subdomain: acme}}
        secrets: {{api_key: {{env: {api_key_env}}}}}
        mapping:
          external_reference_id: id
          emial_address: email
    """,
    )
    issue = only_issue(config_error(path))
    assert (issue.key, issue.file, issue.line) == ("mapping.emial_address", str(path), 7)
    assert issue.fix == "did you mean 'email_address'?"
    assert str(issue).startswith(f"{path}:7: mapping.emial_address: ")


def test_missing_required_mapping_says_to_map_it() -> None:
    issue = only_issue(config_error(config(mapping={"first_name": "first"})))
    assert issue.key == "mapping.external_reference_id"
    assert "the required field 'external_reference_id' is not mapped" in issue.message
    assert "add `external_reference_id: <source path>`" in issue.fix


def test_template_that_does_not_compile_is_refused_at_build_time() -> None:
    error = config_error(
        config(mapping={"external_reference_id": "id", "first_name": {"template": "{{ first "}})
    )
    issue = only_issue(error)
    assert issue.key == "mapping.first_name.template"
    assert "does not compile" in issue.message


def test_constant_tag_not_in_the_catalog_is_refused_before_any_record() -> None:
    error, outcomes = prepare_error(
        config(mapping={"external_reference_id": "id", "tags": {"const": ["vip", "ghost"]}})
    )
    issue = only_issue(error)
    assert issue.key == "mapping.tags.const"
    assert "tag 'ghost' is not in the destination's tags catalog" in issue.message
    assert "Settings → Manage Tags" in issue.fix
    assert outcomes == []


def test_constant_tag_not_in_the_catalog_is_refused_even_under_drop_and_warn() -> None:
    cfg = config(
        mapping={"external_reference_id": "id", "tags": {"const": "ghost"}},
        options={"on_unknown_tag": "drop_and_warn"},
    )
    error, outcomes = prepare_error(cfg)
    assert only_issue(error).key == "mapping.tags.const"
    assert outcomes == []


def test_fix_for_a_constant_unknown_tag_does_not_offer_drop_and_warn() -> None:
    # drop_and_warn does not make the error go away (previous test) and would strip the tag from
    # every record if it did, so the fix must only say to create the tag.
    error, _ = prepare_error(config(mapping={"external_reference_id": "id", "tags": {"const": "ghost"}}))
    issue = only_issue(error)
    assert "Manage Tags" in issue.fix
    assert "drop_and_warn" not in issue.fix


def test_constant_comma_separated_tags_that_exist_are_accepted() -> None:
    # Array fields take "a, b" as two items for every record, so the constant check must too.
    sync = build_sync(config(mapping={"external_reference_id": "id", "tags": {"const": "vip, newsletter"}}))
    result = sync.dry_run([{"id": "c1"}], offline=True)
    assert result.requests[0].json()["contacts"][0]["tags"] == ["vip", "newsletter"]


def test_constant_tag_error_in_a_file_carries_its_line(tmp_path: Path, api_key_env: str) -> None:
    path = write(
        tmp_path,
        f"""
        destination: hello_charles
        action: send_contacts
        settings: {{subdomain: acme}}
        secrets: {{api_key: {{env: {api_key_env}}}}}
        catalogs:
          tags: [vip]
          custom_properties: [loyalty_tier]
        mapping:
          external_reference_id: id
          tags:
            const: [vip, ghost]
    """,
    )
    sync = build_sync(path)
    with pytest.raises(ConfigError) as info:
        sync.dry_run([{"id": "c1"}], offline=True)
    issue = only_issue(info.value)
    assert (issue.key, issue.file, issue.line) == ("mapping.tags.const", str(path), 11)


@pytest.mark.parametrize("catalog", [PROPERTIES, list(PROPERTIES)], ids=["with-labels", "names-only"])
def test_custom_property_display_name_as_a_mapping_key_names_the_technical_name(catalog: Any) -> None:
    cfg = config(
        mapping={"external_reference_id": "id", "custom_properties": {"Loyalty Tier": "attributes.tier"}},
        catalogs={"tags": TAGS, "custom_properties": catalog},
    )
    error, outcomes = prepare_error(cfg)
    issue = only_issue(error)
    assert issue.key == "mapping.custom_properties.Loyalty Tier"
    assert "'Loyalty Tier' is not a technical name" in issue.message
    assert issue.fix == "rename the key to 'loyalty_tier'."
    assert outcomes == []


def test_custom_property_display_name_in_a_file_carries_its_line(tmp_path: Path, api_key_env: str) -> None:
    path = write(
        tmp_path,
        f"""
        destination: hello_charles
        action: send_contacts
        settings: {{subdomain: acme}}
        secrets: {{api_key: {{env: {api_key_env}}}}}
        catalogs:
          tags: [vip]
          custom_properties: {{loyalty_tier: Loyalty Tier, zeotap_audience_name: Zeotap Audience Name}}
        mapping:
          external_reference_id: id
          custom_properties:
            zeotap_audience_name: {{const: Summer VIP}}
            Loyalty Tier: attributes.tier
    """,
    )
    sync = build_sync(path)
    with pytest.raises(ConfigError) as info:
        sync.dry_run([{"id": "c1"}], offline=True)
    issue = only_issue(info.value)
    assert (issue.key, issue.file, issue.line) == ("mapping.custom_properties.Loyalty Tier", str(path), 12)
    assert issue.fix == "rename the key to 'loyalty_tier'."


def test_catalog_needed_offline_but_not_given_says_to_list_it() -> None:
    cfg = config()
    del cfg["catalogs"]
    error, _ = prepare_error(cfg)
    assert [i.key for i in error.issues] == ["catalogs.tags"]
    assert "catalogs: {tags: [...]}" in error.issues[0].fix


def test_catalog_the_destination_does_not_have_is_refused() -> None:
    issue = only_issue(
        config_error(config(catalogs={"tags": TAGS, "custom_properties": [], "segments": ["a"]}))
    )
    assert issue.key == "catalogs.segments"
    assert issue.fix == "use one of: tags, custom_properties."


# --- the config file itself --------------------------------------------------------------------


def test_unknown_top_level_key_in_a_file_carries_its_line(tmp_path: Path, api_key_env: str) -> None:
    path = write(
        tmp_path,
        f"""
        destination: hello_charles
        action: send_contacts
        settings: {{subdomain: acme}}
        secrets: {{api_key: {{env: {api_key_env}}}}}
        mapping: {{external_reference_id: id}}
        mappings: {{first_name: first}}
    """,
    )
    issue = only_issue(config_error(path))
    assert (issue.key, issue.file, issue.line) == ("mappings", str(path), 6)
    assert "'mappings' is not a sync config key" in issue.message


def test_invalid_yaml_carries_the_line_of_the_syntax_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        destination: hello_charles
        action: send_contacts
        settings: {subdomain: acme
        mapping: {external_reference_id: id}
    """,
    )
    issue = only_issue(config_error(path))
    assert issue.key == "(yaml)"
    assert issue.file == str(path)
    assert issue.line is not None and issue.line >= 3


def test_missing_config_file_says_to_check_the_path(tmp_path: Path) -> None:
    issue = only_issue(config_error(tmp_path / "nope.yaml"))
    assert issue.key == "(file)"
    assert "does not exist" in issue.message


def test_errors_from_a_dict_carry_no_file_or_line() -> None:
    issue = only_issue(config_error(config(action="send_contact")))
    assert (issue.file, issue.line) == (None, None)


def test_every_problem_is_reported_at_once_each_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        destination: hello_charles
        action: send_contacts
        settings:
          subdomain: evil.com/x
          region: eu
        secrets:
          api_key: {SECRET}
        mapping:
          phone: phone
    """,
    )
    error = config_error(path)
    assert sorted((i.key, i.line) for i in error.issues) == [
        ("mapping.external_reference_id", 8),
        ("mapping.phone", 9),
        ("secrets.api_key", 7),
        ("settings.region", 5),
        ("settings.subdomain", 4),
    ]
    assert str(error).startswith("invalid sync config (5 problems):")


def test_plain_http_base_url_is_refused_without_allow_http() -> None:
    with pytest.raises(ConfigError) as info:
        build_sync(config(), base_url="http://127.0.0.1:8080")
    issue = only_issue(info.value)
    assert issue.key == "base_url"
    assert "allow_http=True" in issue.message
