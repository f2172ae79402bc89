"""Terminal injection: a value from the input never reaches the terminal with its control characters raw.

A CSV cell holding `ESC[2J` (clear the screen) or `ESC]0;title BEL` (set the window title) was printed as is
by `destkit preview` and in the not-delivered groups of `destkit dry-run`. Every such character is now
shown as its escape (`\\x1b`), in keys, messages and preview bodies alike; newlines and tabs stay.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from destkit.runtime.cli.display import shown

CLI = [sys.executable, "-m", "destkit.runtime.cli.app"]
HOSTILE_KEY = "u1\x1b[2J\x1b]0;pwned\x07"
HOSTILE_PHONE = "+1212\x1b[0m2254501"


@pytest.mark.parametrize(("text", "safe"), [
    ("\x1b[31mred", "\\x1b[31mred"),
    ("title\x1b]0;x\x07", "title\\x1b]0;x\\x07"),
    ("csi\x9b2J", "csi\\x9b2J"),
    ("bidi\u202egnp.exe", "bidi\\u202egnp.exe"),
    ("del\x7f and nul\x00", "del\\x7f and nul\\x00"),
    ("two\nlines\tand a tab", "two\nlines\tand a tab"),
    ("José 名前 +14155550100", "José 名前 +14155550100"),
])
def test_shown_escapes_control_characters_and_keeps_text(text: str, safe: str) -> None:
    assert shown(text) == safe


def run(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "audience.csv"
    source.write_text(f"user_id,first_name,phone\n{HOSTILE_KEY},Ada\x1b[31m,{HOSTILE_PHONE}\n", encoding="utf-8")
    config = tmp_path / "sync.yaml"
    config.write_text(
        "destination: hello_charles\naction: send_contacts\nsettings: {subdomain: acme}\n"
        "mapping: {external_reference_id: user_id, first_name: first_name, phone_number: phone}\n"
        "catalogs: {tags: [], custom_properties: []}\n", encoding="utf-8")
    more = ["--state", str(tmp_path / "state.sqlite")] if command == "dry-run" else []
    return subprocess.run([*CLI, command, str(config), "--input", str(source), "--offline", *more],
                          capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "COLUMNS": "300"})


def test_preview_prints_no_escape_character_from_the_input(tmp_path: Path) -> None:
    done = run(tmp_path, "preview")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "row 1 · invalid · u1\\x1b[2J\\x1b]0;pwned\\x07" in done.stdout
    assert "phone_number '+1212\\x1b[0m2254501' is not in international format" in done.stdout


def test_dry_run_prints_no_escape_character_from_the_input(tmp_path: Path) -> None:
    done = run(tmp_path, "dry-run")
    assert done.returncode == 1, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "key u1\\x1b[2J\\x1b]0;pwned\\x07" in done.stdout
