"""The code stays ruff- and mypy-clean: checked by the same test command CI runs."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the dev extra)")
    proc = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_finds_nothing() -> None:
    origin = importlib.util.find_spec("destkit.runtime")
    if origin is None or origin.origin is None or ("__editable__" not in origin.origin and "site-packages" not in origin.origin):
        pytest.skip("mypy follows destkit.* only through a strict editable or a wheel install (see README)")
    proc = subprocess.run([sys.executable, "-m", "mypy", "-p", "destkit.mapping", "-p", "destkit.runtime",
                           "-p", "destkit.destinations", "-p", "destkit.testing",
                           "-p", "destkit.spark"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
