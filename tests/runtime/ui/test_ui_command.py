"""`destkit ui` run as a user runs it: a port already taken is one line and exit 2, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def test_a_taken_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "destkit.runtime.cli.app", "ui", "--port", str(port)],
                              capture_output=True, text=True, timeout=60, check=False,
                              env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"cannot listen on 127.0.0.1:{port}:" in done.stderr + done.stdout
    assert "choose another --port." in done.stderr + done.stdout
