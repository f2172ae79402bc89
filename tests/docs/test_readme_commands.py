"""The README starts with two commands, and `.ci/run` runs exactly those; the first one works with or
without an active virtual environment (Debian's system Python refuses `pip install` outside one)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.doc_blocks import parse_blocks

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    """The lines of the README's first ```bash block."""
    [first, *_] = [b for b in parse_blocks((ROOT / "README.md").read_text("utf-8"), "README.md") if b.lang == "bash"]
    return [line for line in first.text.splitlines() if line.strip()]


def ci_commands() -> list[str]:
    """The commands of `.ci/run` after it has changed into the checkout (comments left out)."""
    lines = (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    after_cd = lines[next(i for i, line in enumerate(lines) if line.startswith("cd ")) + 1:]
    return [line for line in after_cd if line.strip() and not line.lstrip().startswith("#")]


def test_ci_runs_exactly_the_two_commands_the_readme_starts_with() -> None:
    assert len(readme_commands()) == 2
    assert ci_commands() == readme_commands()


def test_the_second_readme_command_runs_the_tests() -> None:
    assert readme_commands()[1] == "python -m pytest"


def run_install_command(folder: Path, virtual_env: str | None) -> str:
    """The README's first command in `folder`, with `pip` and `destkit` stubbed as shell functions that say
    which virtual environment they ran in (python3 -m venv is real)."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    if virtual_env is not None:
        env["VIRTUAL_ENV"] = virtual_env
    script = ('pip() { echo "pip in ${VIRTUAL_ENV:-none}"; }; destkit() { echo "destkit $*"; }\n'
              f"set -euo pipefail\n{readme_commands()[0]}\n")
    done = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_without_an_active_virtual_environment_the_first_command_creates_one_and_installs_into_it(
        tmp_path: Path) -> None:
    assert run_install_command(tmp_path, None) == f"pip in {tmp_path / '.venv'}\ndestkit demo\n"
    assert (tmp_path / ".venv" / "bin" / "activate").is_file()


def test_with_an_active_virtual_environment_the_first_command_installs_into_it(tmp_path: Path) -> None:
    assert run_install_command(tmp_path, "/opt/ci-venv") == "pip in /opt/ci-venv\ndestkit demo\n"
    assert not (tmp_path / ".venv").exists()


def test_the_checkout_ignores_the_virtual_environment_and_the_run_folders() -> None:
    ignored = (ROOT / ".gitignore").read_text("utf-8").splitlines()
    assert {"/.venv/", "/.destkit/"} <= set(ignored)
