"""`destkit sync` shows live progress that tells the truth: on a terminal a bar with the total, percentage,
rate, ETA, outcomes so far, retries and throttling waits; log lines above it, never glued onto it; none
with -q; off a terminal a plain line now and then. SIGTERM prints the partial summary and the exact
command that resumes the run.

The CLI runs as a subprocess on a pseudo-terminal (`pty`), against the Hello Charles emulator served
behind a `Gate`, so a test knows the run is mid-way without timing anything. What the terminal shows
is rebuilt from the bytes by a tiny terminal (`screen`): carriage returns, line erases, cursor up.
"""

from __future__ import annotations

import os
import pty
import re
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from destkit.destinations._kit import FaultPlan
from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import CLI, ENV, Gate, outcome_rows, run_cli, wait_until, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS

ROWS = 3_000  # three batches of 1,000
BAD = frozenset({3, 9})
BAR = re.compile(r"(\d+)% · ([\d,]+)/([\d,]+) records · ")


class Terminal:
    """The CLI started on a pseudo-terminal; what it wrote is read on a thread as it comes."""

    def __init__(self, args: list[str]) -> None:
        self.raw = b""
        pid, self.fd = pty.fork()
        if pid == 0:  # the child: the CLI, with the pty as its terminal
            os.execve(sys.executable, [*CLI, *args], {**ENV, "TERM": "xterm-256color"})
        self.pid = pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            self.raw += data

    def text(self) -> str:
        return self.raw.decode(errors="replace")

    def wait(self, timeout: float = 120) -> int:
        """The exit code, once the CLI ended (killed, and the test failed, after `timeout` seconds)."""
        ended: list[int] = []

        def done() -> bool:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                ended.append(os.waitstatus_to_exitcode(status))
            return bool(pid)

        try:
            wait_until(done, timeout, "the CLI to end")
        except AssertionError:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            raise
        finally:
            self.reader.join(10)
            os.close(self.fd)
        return ended[0]


def screen(raw: str) -> list[str]:
    """The lines a terminal shows for `raw`: \\r returns, ESC[2K erases the line, ESC[1A goes up; styles dropped."""
    lines: list[str] = []
    line: list[str] = []
    col = 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r\n|.", raw, flags=re.DOTALL):
        if token in ("\r\n", "\n"):
            lines.append("".join(line))
            line, col = [], 0
        elif token == "\r":
            col = 0
        elif token == "\x1b[2K":
            line = [" "] * len(line)
        elif token == "\x1b[1A":
            line, col = list(lines.pop()) if lines else [], 0
        elif not token.startswith("\x1b"):
            line[col:col + 1] = [token]
            col += 1
    lines.append("".join(line))
    return [text.rstrip() for text in lines]


def bar_frames(raw: str) -> list[tuple[int, int, int]]:
    """(percent, done, total) of every bar frame drawn, in order."""
    return [(int(p), int(d.replace(",", "")), int(t.replace(",", ""))) for p, d, t in BAR.findall(raw)]


def args_for(tmp_path: Path, url: str, *more: str) -> list[str]:
    audience = write_audience(tmp_path / "a.csv", ROWS, bad_phone_rows=BAD)
    return ["sync", str(write_config(tmp_path)), "--input", str(audience), "--base-url", url, "--allow-http",
            "--state", str(tmp_path / "state.sqlite"), *more]


@pytest.fixture
def gate() -> Iterator[tuple[Gate, str]]:
    held = Gate(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES), passes=1)
    with running_server(held) as url:
        yield held, url
        held.open()


def test_on_a_terminal_the_bar_shows_total_percentage_and_outcomes_mid_run_and_ends_at_100_percent(
        gate: tuple[Gate, str], tmp_path: Path) -> None:
    held, url = gate
    terminal = Terminal(args_for(tmp_path, url))
    wait_until(lambda: held.held > 0 and any(0 < p < 100 for p, _, _ in bar_frames(terminal.text())),
               what="a bar frame mid-run")
    held.open()
    assert terminal.wait() == 1  # the two bad phones
    frames = bar_frames(terminal.text())
    assert {total for _, _, total in frames} == {ROWS}  # the total is known from the first frame on
    assert frames[-1] == (100, ROWS, ROWS)
    [last] = [line for line in screen(terminal.text()) if BAR.search(line)][-1:]
    assert f"delivered {ROWS - len(BAD):,} · invalid {len(BAD)} · rejected 0 · dead-lettered 0" in last
    assert "records/s" in last and "retries 0 · throttled 0" in last


def test_log_lines_print_whole_above_the_bar_never_glued_onto_it(gate: tuple[Gate, str], tmp_path: Path) -> None:
    held, url = gate
    held.open()
    terminal = Terminal(args_for(tmp_path, url, "--log-level", "info"))
    assert terminal.wait() == 1
    shown = screen(terminal.text())
    logged = [line for line in shown if '"event"' in line]
    assert [orjson.loads(line)["event"] for line in logged] == ["request"] * 3  # each line is the JSON alone
    assert BAR.search(shown[shown.index(logged[-1]) + 1])  # the bar is drawn again below the last log line


def test_quiet_on_a_terminal_shows_no_bar(gate: tuple[Gate, str], tmp_path: Path) -> None:
    held, url = gate
    held.open()
    terminal = Terminal(args_for(tmp_path, url, "--quiet"))
    assert terminal.wait() == 1
    assert bar_frames(terminal.text()) == []
    assert "records/s" not in terminal.text()


def test_sigterm_on_a_terminal_prints_the_partial_summary_and_the_exact_command_that_resumes(
        gate: tuple[Gate, str], tmp_path: Path) -> None:
    held, url = gate
    args = args_for(tmp_path, url)
    state = tmp_path / "state.sqlite"
    terminal = Terminal(args)
    wait_until(lambda: held.held > 0 and len(outcome_rows(state)) >= 1_000, what="a batch answered, one held")
    os.kill(terminal.pid, signal.SIGTERM)
    wait_until(lambda: "SIGTERM: stopping" in terminal.text(), what="the signal to be handled")
    held.open()
    assert terminal.wait() == 143
    shown = screen(terminal.text())
    done = len(outcome_rows(state))
    [stopped] = [line for line in shown if line.startswith("Stopped by SIGTERM")]
    assert stopped.startswith(f"Stopped by SIGTERM: {done:,} records got an outcome: {done - len(BAD):,} delivered, "
                              f"{len(BAD)} invalid (in the report)")
    [command] = [line.strip() for line in shown if line.strip().startswith("destkit ")]
    assert shlex.split(command)[1:] == [*args, "--resume"]
    resumed = run_cli(shlex.split(command)[1:])
    assert resumed.returncode == 1, resumed.stderr  # the two bad phones
    assert outcome_rows(state) == list(range(1, ROWS + 1))


def test_off_a_terminal_a_plain_progress_line_every_interval(gate: tuple[Gate, str], tmp_path: Path) -> None:
    held, url = gate
    held.open()
    result = run_cli(args_for(tmp_path, url), env={**ENV, "DESTKIT_PROGRESS_INTERVAL": "0"})
    lines = [line for line in result.stderr.splitlines() if line.startswith("progress: ")]
    assert len(lines) == 3  # after each batch
    assert lines[-1].startswith(f"progress: 100% · {ROWS:,}/{ROWS:,} records · ")
    assert "\x1b" not in result.stderr


def test_off_a_terminal_a_short_run_prints_no_progress_line(gate: tuple[Gate, str], tmp_path: Path) -> None:
    held, url = gate
    held.open()
    result = run_cli(args_for(tmp_path, url))
    assert result.returncode == 1
    assert "progress: " not in result.stderr


def test_the_bar_counts_each_throttled_answer_and_the_retry_it_caused(tmp_path: Path) -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES,
                     faults=FaultPlan(seed=7, rate_429=0.4, retry_after=0.05))
    with running_server(app) as url:
        terminal = Terminal(args_for(tmp_path, url))
        assert terminal.wait() == 1
    throttled = sum(1 for r in app.state.emulator.requests if r.status == 429)
    assert throttled > 0  # the seed throttles some batches
    [last] = [line for line in screen(terminal.text()) if BAR.search(line)][-1:]
    assert f"retries {throttled} · throttled {throttled}" in last  # a throttled batch is sent again once
    assert f"{throttled} retries" in terminal.text()  # the summary table says the same


def test_ctrl_c_on_a_terminal_stops_and_the_resumed_run_counts_on_from_what_was_done(
        gate: tuple[Gate, str], tmp_path: Path) -> None:
    held, url = gate
    args = args_for(tmp_path, url)
    state = tmp_path / "state.sqlite"
    terminal = Terminal(args)
    wait_until(lambda: held.held > 0 and len(outcome_rows(state)) >= 1_000, what="a batch answered, one held")
    os.write(terminal.fd, b"\x03")  # Ctrl-C: the terminal sends SIGINT to the CLI
    wait_until(lambda: "SIGINT: stopping" in terminal.text(), what="Ctrl-C to be handled")
    held.open()
    assert terminal.wait() == 130
    done = len(outcome_rows(state))
    [command] = [line.strip() for line in screen(terminal.text()) if line.strip().startswith("destkit ")]
    resumed = Terminal(shlex.split(command)[1:])
    assert resumed.wait() == 1
    frames = bar_frames(resumed.text())
    assert frames[0][1] >= done  # the rows the first part finished count as done from the first frame
    assert frames[-1] == (100, ROWS, ROWS)
    assert outcome_rows(state) == list(range(1, ROWS + 1))
