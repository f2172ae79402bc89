"""docs/inputs.md: its Python examples run as the page shows them, and its tables name every format and
type mapping the code has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from doc_blocks import Block, parse_blocks

from destkit.runtime.cli.loading import InputFormat

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "inputs.md"
BLOCKS = parse_blocks(DOC.read_text(encoding="utf-8"), DOC.name)
PYTHON = [b for b in BLOCKS if b.lang == "python" and "test" in b.flags]


def test_every_python_block_on_the_page_is_tested() -> None:
    assert [b for b in BLOCKS if b.lang == "python" and "test" not in b.flags] == []
    assert len(PYTHON) == 2


def test_the_page_names_every_input_format_and_the_extra() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"--format {'|'.join(f.value for f in InputFormat)}" in text
    for words in ("--input-sql", "--input-db", "_delta_log/", "pip install 'destkit[arrow]'", "8,192"):
        assert words in text, words


@pytest.mark.parametrize("block", PYTHON, ids=[f"line{b.line}" for b in PYTHON])
def test_python_block_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__doc_snippet__"}
    exec(compile(block.text, f"{DOC.name}:{block.line}", "exec"), namespace)
