"""`destkit demo` keeps the current directory clean: it writes into `.destkit/demo/` only."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli_runs import ENV, run_cli


def test_the_demo_writes_nothing_but_destkit_demo_into_the_current_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "DESTKIT_DEMO_DIR"}
    result = run_cli(["demo"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert os.listdir(tmp_path) == [".destkit"]
    assert os.listdir(tmp_path / ".destkit") == ["demo"]
    assert sorted(os.listdir(tmp_path / ".destkit" / "demo")) == [
        "audience.csv", "audience.report.jsonl", "audience.report.summary.json", "sync.yaml"]
    assert "  report   .destkit/demo/audience.report.jsonl" in result.stdout.splitlines()
