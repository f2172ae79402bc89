"""Exit codes a scheduler can trust: 1 only ever means "some records were not delivered".

A usage or environment error (a wrong `--log-level`, a busy metrics port) exits 2 with one line
and no traceback; an internal error (a bug) exits 3 with one line that points at a log file
holding the traceback. The CLI runs as a subprocess, as a scheduler would run it.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runs import ENV, run_cli, write_audience, write_config

from destkit.runtime.cli.crashes import exit_code_of
from destkit.runtime.errors import ConfigError, InternalError, Issue, UsageError


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_config(tmp_path), write_audience(tmp_path / "audience.csv", 2)


def sync(files: tuple[Path, Path], *more: str) -> list[str]:
    config, audience = files
    return ["sync", str(config), "--input", str(audience), "--no-state", "--quiet", *more]


def stderr_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    """What the command printed to stderr (without runpy's warning about `python -m` on a package's module)."""
    return [line for line in done.stderr.strip().splitlines() if not line.startswith("<frozen runpy>")]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_an_unknown_log_level_exits_2_with_one_line_naming_the_levels(files: tuple[Path, Path]) -> None:
    done = run_cli(sync(files, "--log-level", "verbose"))
    assert done.returncode == 2
    assert stderr_lines(done) == [
        "error: --log-level 'verbose' is not a log level (one of: debug, info, warning, error, critical). "
        "Fix: use one of: debug, info, warning, error, critical."
    ]


def test_a_misspelt_log_level_gets_a_did_you_mean(files: tuple[Path, Path]) -> None:
    done = run_cli(sync(files, "--log-level", "inf"))
    assert done.returncode == 2
    assert done.stderr.strip().endswith("Fix: did you mean 'info'?")


def test_a_busy_metrics_port_exits_2_with_one_line(files: tuple[Path, Path], busy_port: int) -> None:
    done = run_cli(sync(files, "--metrics-port", str(busy_port)))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = stderr_lines(done)
    assert len(lines) == 1
    assert lines[0].startswith(f"error: cannot serve metrics on 127.0.0.1:{busy_port}: ")


def test_a_metrics_port_out_of_range_is_a_usage_error(files: tuple[Path, Path]) -> None:
    done = run_cli(sync(files, "--metrics-port", "70000"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


# a bug, injected: reading the input raises what no command expects
CRASHING = [sys.executable, "-c",
            "import sys, destkit.runtime.cli.loading as r\n"
            "def boom(*a, **k): raise KeyError('no such thing')\n"
            "r.read_records = boom\n"
            "sys.argv[0] = 'destkit'\n"
            "from destkit.runtime.cli.app import main\n"
            "main()\n"]


def test_an_internal_error_exits_3_with_one_line_pointing_at_the_traceback(files: tuple[Path, Path],
                                                                            tmp_path: Path) -> None:
    done = subprocess.run([*CRASHING, *sync(files)], env=ENV, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 3
    lines = stderr_lines(done)
    assert len(lines) == 1, done.stderr
    match = re.fullmatch(r"internal error: KeyError: 'no such thing' \(a bug in destkit; the traceback is in "
                         r"(\S+\.log); please report it\)\.", lines[0])
    assert match is not None, lines[0]
    log = Path(match.group(1))
    assert log.parent == tmp_path / ".destkit" / "logs"
    assert "Traceback (most recent call last)" in log.read_text(encoding="utf-8")
    assert "KeyError: 'no such thing'" in log.read_text(encoding="utf-8")


@pytest.mark.parametrize("error", [ConfigError([Issue("x", "bad.")]), UsageError("wrong call.")],
                         ids=["config", "usage"])
def test_a_destkit_error_that_escapes_a_command_exits_2(error: Exception) -> None:
    assert exit_code_of(error) == 2


@pytest.mark.parametrize("error", [InternalError("unexpected"), KeyError("x"), AssertionError()],
                         ids=["internal", "key", "assert"])
def test_anything_else_that_escapes_a_command_exits_3(error: Exception) -> None:
    assert exit_code_of(error) == 3
