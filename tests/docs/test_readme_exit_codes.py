"""The README's list of exit codes is the one the CLI uses.

A scheduler reads the exit code: the README's paragraph "Exit codes of `destkit sync` ..." names each
code in bold, and each must be a code the CLI really exits with, for the cause the README gives.
"""

from __future__ import annotations

import re
from pathlib import Path

from destkit.runtime.cli import crashes, display, run_safety

README = Path(__file__).resolve().parents[2] / "README.md"


def exit_code_paragraph() -> str:
    text = README.read_text(encoding="utf-8")
    [paragraph] = [p for p in text.split("\n\n") if p.startswith("Exit codes of `destkit sync`")]
    return " ".join(paragraph.split())


def test_the_readme_names_every_exit_code_of_the_cli() -> None:
    codes = {int(c) for c in re.findall(r"\*\*(\d+)\*\*", exit_code_paragraph())}
    stops = {run_safety.stop_exit_code("SIGINT"), run_safety.stop_exit_code("SIGTERM")}
    assert codes == {display.EXIT_OK, display.EXIT_NOT_DELIVERED, display.EXIT_ERROR, display.EXIT_INTERNAL, *stops}


def test_the_readme_says_what_each_code_means() -> None:
    paragraph = exit_code_paragraph()
    assert "**1** some records not delivered" in paragraph
    assert "**2** a usage, config or environment error" in paragraph
    assert f"**3** an internal error (a bug in destkit): one line pointing at the traceback in `{crashes.CRASH_DIR}/`" \
        in paragraph
    assert "**130** / **143** Ctrl-C / SIGTERM" in paragraph
