"""A path argument too long for the file system (a name over 255 bytes) is the user's to fix: exit 2, not a bug.

`--input`, `--report`, the config's own path or `runs --state` of 5,000 characters were each
'internal error: OSError: [Errno 36] File name too long' (exit 3, with a crash log).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from destkit.runtime import ConfigError
from destkit.runtime.config.model import SyncConfig
from tests.cli_runs import run_cli, write_audience, write_config

LONG = "b" * 5000


@pytest.mark.parametrize(("where", "name"), [("input", f"{LONG}.csv"), ("report", f"{LONG}.jsonl")])
def test_a_path_too_long_for_the_file_system_exits_2_naming_it_clipped(tmp_path: Path, where: str, name: str) -> None:
    paths = {"input": write_audience(tmp_path / "a.csv", 2), "report": tmp_path / "report.jsonl", where: tmp_path / name}
    done = run_cli(["dry-run", str(write_config(tmp_path)), "--input", str(paths["input"]), "--report", str(paths["report"])],
                   cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    shown = f"{str(tmp_path / name)[:60]}…{name[-16:]} ({len(str(tmp_path / name)):,} characters)"
    assert done.stderr.splitlines()[-1] == (f"error: the path {shown} is too long for the file system (a name is at most "
                                            "255 bytes); give a shorter one.")


def test_a_config_path_too_long_exits_2(tmp_path: Path) -> None:
    done = run_cli(["dry-run", str(tmp_path / f"{LONG}.yaml"), "--input", str(write_audience(tmp_path / "a.csv", 2))],
                   cwd=tmp_path)
    assert done.returncode == 2
    assert "File name too long" in done.stderr and "internal error" not in done.stderr


def test_runs_with_a_state_path_too_long_exits_2(tmp_path: Path) -> None:
    done = run_cli(["runs", "--state", str(tmp_path / f"{LONG}.sqlite")], cwd=tmp_path)
    assert done.returncode == 2
    assert "internal error" not in done.stderr


def test_loading_a_config_at_a_path_too_long_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        SyncConfig.load(tmp_path / f"{LONG}.yaml")
    [issue] = info.value.issues
    assert issue.message.startswith("cannot read config file ") and issue.message.endswith(": File name too long.")
