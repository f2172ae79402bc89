"""`destkit ... --help` shows a flag as the switch it is: `--quiet  -q`, with no `<bool>` value."""

from __future__ import annotations

import pytest

from tests.cli_runs import ENV, run_cli


@pytest.mark.parametrize("command", [["sync"], ["retry"], ["runs"], []])
def test_help_shows_no_bool_value_for_a_flag(command: list[str]) -> None:
    result = run_cli([*command, "--help"], env={**ENV, "COLUMNS": "160"})
    assert result.returncode == 0, result.stderr
    assert "<bool>" not in result.stdout


def test_sync_help_shows_quiet_with_its_short_form() -> None:
    result = run_cli(["sync", "--help"], env={**ENV, "COLUMNS": "160"})
    [line] = [line for line in result.stdout.splitlines() if "--quiet" in line]
    assert line.split()[1:4] == ["--quiet", "-q", "No"]
