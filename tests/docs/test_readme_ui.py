"""The README's section on `destkit ui` says what the command does: its address, and its screenshot."""

from __future__ import annotations

import inspect
from pathlib import Path

from destkit.runtime.cli.ui_command import ui

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")


def test_the_readme_shows_the_ui_screenshot_the_browser_test_saves() -> None:
    assert "![destkit ui: " in README and "](docs/images/ui.png)" in README
    assert (ROOT / "docs" / "images" / "ui.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_address_the_readme_gives_is_the_commands_default() -> None:
    defaults = {name: p.default for name, p in inspect.signature(ui).parameters.items()}
    assert "`destkit ui` serves a mapping tester on http://127.0.0.1:8765/" in README
    assert (defaults["host"], defaults["port"]) == ("127.0.0.1", 8765)
