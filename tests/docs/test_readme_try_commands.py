"""The README's "Testing a mapping before running it" commands exist, with the options it shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli_runs import run_cli
from tests.doc_blocks import parse_blocks

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Testing a mapping before running it"


def section_commands() -> list[list[str]]:
    """The words of each command in the section's ```bash block (comments left out)."""
    text = (ROOT / "README.md").read_text("utf-8")
    start = text.index(SECTION)
    section = text[start:text.index("\n## ", start + len(SECTION))]
    [block] = [b for b in parse_blocks(section, "README.md") if b.lang == "bash"]
    return [shlex.split(line, comments=True) for line in block.text.splitlines() if line.strip()]


def test_the_section_shows_config_init_dry_run_and_send_one() -> None:
    assert [words[1] for words in section_commands()] == ["config", "dry-run", "dry-run", "send-one", "send-one"]


@pytest.mark.parametrize("words", section_commands(), ids=lambda words: " ".join(words[1:3]))
def test_each_option_the_section_shows_is_in_the_commands_help(words: list[str]) -> None:
    command = words[1:3] if words[1] == "config" else words[1:2]
    result = run_cli([*command, "--help"])
    assert result.returncode == 0, result.stderr
    for option in (w for w in words if w.startswith("--")):
        assert re.search(rf"{re.escape(option)}\b", result.stdout), f"{option} is not in `destkit {' '.join(command)} --help`"
