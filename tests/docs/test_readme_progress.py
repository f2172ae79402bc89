"""The README's paragraph on progress names the interval and the variable the CLI really uses."""

from __future__ import annotations

from pathlib import Path

from destkit.runtime.cli import run_progress

README = Path(__file__).resolve().parents[2] / "README.md"


def progress_paragraph() -> str:
    [paragraph] = [p for p in README.read_text(encoding="utf-8").split("\n\n") if p.startswith("**Progress.**")]
    return " ".join(paragraph.split())


def test_the_readme_names_the_progress_interval_variable_and_its_default() -> None:
    paragraph = progress_paragraph()
    assert f"`{run_progress.PROGRESS_INTERVAL_ENV}` sets the seconds" in paragraph
    assert f"every {run_progress.DEFAULT_PROGRESS_INTERVAL_S:g} s" in paragraph


def test_the_readme_gives_the_size_above_which_the_total_is_estimated() -> None:
    assert f"above {run_progress.COUNT_LIMIT_BYTES // 2**20} MB" in progress_paragraph()
