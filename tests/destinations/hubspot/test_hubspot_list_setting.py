"""HubSpot's list_id is a setting the list actions need (`settings.list_id.actions`): left out, building a sync of
add_to_list or remove_from_list is a config error keyed `settings.list_id`; an upsert does not need it."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.runtime import ConfigError, build_sync

SECRETS = {"private_app_token": "pat-na1-list-setting"}


def config(action: str, **settings: str) -> dict[str, Any]:
    return {"destination": "hubspot", "action": action, "settings": {"auth_type": "private_app", **settings},
            "secrets": SECRETS, "mapping": {"email": "email"}}


@pytest.mark.parametrize("action", ["add_to_list", "remove_from_list"])
def test_a_list_action_without_list_id_is_a_config_error_naming_the_setting(action: str) -> None:
    with pytest.raises(ConfigError) as raised:
        build_sync(config(action))
    assert [(i.key, i.message) for i in raised.value.issues] == [
        ("settings.list_id", f"the setting 'list_id' (List id) is required by the action '{action}'.")]


def test_an_upsert_needs_no_list_id() -> None:
    assert build_sync(config("upsert_contacts")).action_id == "upsert_contacts"


def test_a_list_action_with_list_id_builds() -> None:
    assert build_sync(config("add_to_list", list_id="123")).action_id == "add_to_list"
