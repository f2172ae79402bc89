"""The README's example of config errors is what destkit prints for such a config.

README: "The config is checked as a whole before any record is read; every problem is listed with
the file, the line, the key and the fix", shown with a config that has two problems: a misspelt
destination field (found when the mapping compiles) and a display name used as a custom-property
key (found against the catalog). The second used to wait until the sync was prepared, so the
example printed `(1 problem)`; with the catalog given in the config both are listed at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from destkit.runtime import ConfigError, build_sync

README = Path(__file__).resolve().parents[2] / "README.md"

# lines 9 and 14 are the two problems the README names
CONFIG = """\
destination: hello_charles
action: send_contacts
settings: {subdomain: acme}
secrets: {api_key: {env: HELLO_CHARLES_API_KEY}}
catalogs:
  tags: [vip, newsletter]
  custom_properties: {loyalty_tier: Loyalty Tier}
mapping:
  phone: phone
  external_reference_id: id
  first_name: first_name
  tags: segments
  custom_properties:
    Loyalty Tier: attributes.tier
"""


def readme_example() -> str:
    """The README's ``` block that starts with `invalid sync config (`, its wrapped lines joined."""
    [block] = re.findall(r"^```\n(invalid sync config \(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M)
    return re.sub(r"\n {4}", " ", block).rstrip("\n")


def test_the_readme_config_error_example_is_printed_as_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HELLO_CHARLES_API_KEY", "sk_test_4f1c")
    Path("sync.yaml").write_text(CONFIG, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        build_sync("sync.yaml")
    assert info.value.render() == readme_example()


def test_the_readme_example_lists_two_problems() -> None:
    assert readme_example().startswith("invalid sync config (2 problems):\n")
