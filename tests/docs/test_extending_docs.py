"""docs/extending.md: every snippet on the page is tested, as tests/docs/test_docs.py does for the tutorial.

The page's fenced blocks carry markers in their info string:

- ```` ```LANG title=FILE ````: written to a scratch folder under that name (blocks with the same title
  are concatenated); the folder is put on `sys.path`, so the spec's hooks import from it.
- ```` ```python test ````: executed with the scratch folder as the current directory.
- ```` ```console test ````: `$ ` lines are run there with bash (`destkit` and `python` are this
  interpreter); the lines shown after a command must appear in its output, in order.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doc_blocks import Block, parse_blocks

from destkit.runtime.authoring.check import check_spec
from destkit.runtime.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "extending.md"
SPEC_FILE = "relay_events.yaml"


BLOCKS = parse_blocks(DOC.read_text(encoding="utf-8"), DOC.name)
FILES: dict[str, str] = {}
for _block in BLOCKS:
    if _block.title:
        FILES[_block.title] = FILES.get(_block.title, "") + _block.text
PYTHON = [b for b in BLOCKS if b.lang == "python" and "test" in b.flags]
CONSOLE = [b for b in BLOCKS if b.lang == "console" and "test" in b.flags]
MODULES = [name.removesuffix(".py") for name in FILES if name.endswith(".py")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("extending")
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        for module in MODULES:  # the page's modules must not leak into other tests
            sys.modules.pop(module, None)


# --- the page's structure -----------------------------------------------------------------------


def test_every_code_block_on_the_page_is_tested() -> None:
    untested = [b for b in BLOCKS if not b.title and "test" not in b.flags]
    assert not untested, f"blocks with neither title=FILE nor `test`: {untested}"
    assert PYTHON and CONSOLE


def test_the_page_covers_every_extension_role_and_the_emulator_contract() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in ("AuthFactory", "AuthHookOptions", "ResultReader", "ReaderFactory", "Classifier", "Resolution",
                 "TestingProfile", "create_app", "testing_profile"):
        assert f"`{name}" in text, name
    assert set(FILES) == {SPEC_FILE, "relay_auth.py", "relay_results.py", "relay_errors.py", "relay_emulator.py"}


def test_the_example_spec_names_a_hook_for_each_role(workdir: Path) -> None:
    spec = load_spec(workdir / SPEC_FILE, trust_spec=True)
    action = spec.actions["send_events"]
    assert spec.auth.kind == "hook"
    assert (action.response.hook, action.errors.hook if action.errors else None) == (
        "relay_results:FailedPositions", "relay_errors:classify_relay")
    assert spec.emulator == "relay_emulator:create_app"


def test_the_example_spec_passes_spec_check_without_findings(workdir: Path) -> None:
    result = check_spec(workdir / SPEC_FILE)
    assert result.ok and result.findings == [], "\n".join(map(str, result.findings))


def test_python_files_on_the_page_compile() -> None:
    for name, text in FILES.items():
        if name.endswith(".py"):
            compile(text, name, "exec")


# --- the snippets -------------------------------------------------------------------------------


@pytest.mark.parametrize("block", PYTHON, ids=[f"line{b.line}" for b in PYTHON])
def test_python_block_runs(block: Block, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    namespace: dict[str, Any] = {"__name__": "__doc_snippet__"}
    exec(compile(block.text, f"{DOC.name}:{block.line}", "exec"), namespace)


def _commands(block: Block) -> Iterator[tuple[str, list[str]]]:
    command: str | None = None
    expected: list[str] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            if command is not None:
                yield command, expected
            command, expected = line[2:], []
        else:
            expected.append(line)
    if command is not None:
        yield command, expected


def _shell(command: str) -> str:
    exe = shlex.quote(sys.executable)
    if command.startswith("destkit "):
        return f"{exe} -m destkit.runtime.cli.app {command[len('destkit '):]}"
    if command.startswith("python "):
        return f"{exe} {command[len('python '):]}"
    return command


@pytest.mark.parametrize("block", CONSOLE, ids=[f"line{b.line}" for b in CONSOLE])
def test_console_block_runs_as_shown(block: Block, workdir: Path) -> None:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    for command, expected in _commands(block):
        done = subprocess.run(["bash", "-c", _shell(command)], cwd=workdir, env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        where = f"{DOC.name}:{block.line}: $ {command}"
        assert done.returncode == 0, f"{where}: exit {done.returncode}\n{done.stdout}{done.stderr}"
        lines = [line.rstrip() for line in (done.stdout + done.stderr).splitlines()]
        wanted = [w.rstrip() for w in expected if w.strip()]
        assert [line for line in lines if line in wanted] == wanted, f"{where}: expected {wanted} in\n{done.stdout}"
