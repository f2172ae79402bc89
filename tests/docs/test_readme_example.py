"""The README's sync config works as shown, and keys contacts by the phone number it sends.

Hello Charles matches contacts on `external_reference_id`, "typically a phone number in
international format" (seed 004). If the key were the raw cell while `phone_number` got the
E.164 form, `0151 12345678` and `+4915112345678` would be two contacts for one person.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Outcome, Status, build_sync

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLE = ROOT / "examples" / "hello_charles.sync.yaml"


def readme_sync_config() -> dict[str, Any]:
    """The ```yaml block of the README that starts with `# hello_charles.sync.yaml`."""
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    [block] = [b for b in blocks if b.startswith("# hello_charles.sync.yaml")]
    config: dict[str, Any] = yaml.safe_load(block)
    return config


@pytest.mark.parametrize("load", [readme_sync_config, lambda: yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))],
                         ids=["README", "examples"])
def test_the_example_normalises_the_key_and_the_phone_number_the_same_way(load: Any) -> None:
    mapping = load()["mapping"]
    key, phone = mapping["external_reference_id"], mapping["phone_number"]
    assert isinstance(key, dict) and key == phone
    assert key["transform"] == [{"e164": {"region": "DE"}}]


def test_the_readme_example_keys_the_contact_by_the_e164_number_it_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELLO_CHARLES_API_KEY", "readme-key")
    app = create_app(api_key="readme-key", tags=["vip"],
                     custom_properties=[("zeotap_audience_name", "Zeotap Audience Name"), ("loyalty_tier", "Loyalty Tier")])
    sync = build_sync(readme_sync_config(), base_url="http://acme.hello-charles.test",
                      transport=httpx.ASGITransport(app=app), allow_http=True)
    outcomes: list[Outcome] = []
    record = {"phone": "0151 12345678", "first_name": "Ann", "email": "Ann@Example.com ",
              "segment_membership": ["vip"], "attributes": {"tier": "Gold"}}
    sync.run([record], on_outcome=outcomes.append)
    assert [o.status for o in outcomes] == [Status.DELIVERED]
    contact = app.state.emulator.contacts["+4915112345678"]
    assert contact.phone_numbers == [{"type": "mobile", "value": "+4915112345678"}]
    assert set(app.state.emulator.contacts) == {"+4915112345678"}
