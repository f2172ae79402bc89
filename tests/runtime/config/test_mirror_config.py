"""`options.mirror` in a sync config: it needs an action that declares `remove:` and a state store."""

from __future__ import annotations

import pytest
from mirror_kit import config, people, spec

from destkit.runtime import ConfigError, build_sync


def test_mirror_on_an_action_without_a_removal_request_is_a_config_error_naming_the_fix() -> None:
    with pytest.raises(ConfigError) as info:
        build_sync(config("plain_add"), spec=spec(), base_url="http://mirror.test", allow_http=True)

    assert [(i.key, i.message, i.fix) for i in info.value.issues] == [
        ("options.mirror", "mirror removes members who left the audience, but the action 'plain_add' declares no "
         "removal request.", "remove `mirror: true`, or use an action whose spec declares `remove:`.")]


def test_mirror_without_a_state_store_is_a_config_error_naming_the_fix() -> None:
    sync = build_sync(config(), spec=spec(), base_url="http://mirror.test", allow_http=True)

    with pytest.raises(ConfigError) as info:
        sync.run(people(range(2)))

    assert [(i.key, i.fix) for i in info.value.issues] == [
        ("options.mirror", "run with a state store (drop --no-state, or pass state= to arun), or remove `mirror: true`.")]


def test_a_config_without_mirror_needs_no_removal_request() -> None:
    cfg = config("plain_add")
    cfg["options"] = {}

    assert build_sync(cfg, spec=spec(), base_url="http://mirror.test", allow_http=True).options.mirror is False
