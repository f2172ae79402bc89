"""docs/writing-a-spec.md: every snippet in the tutorial is tested.

The page's fenced blocks carry markers in their info string:

- ```` ```yaml title=acme_crm.yaml ````: consecutive pieces of the tutorial's spec. Put together (a
  blank line before each piece that starts a new top-level key) they must equal
  docs/examples/acme_crm.yaml, load, and pass `destkit spec check` without a warning.
- ```` ```LANG title=FILE ```` (any other file): written to a scratch folder under that name.
- ```` ```console test ````: `$ ` lines are run there with bash (`destkit` and `python` are this
  interpreter); the lines shown after a command must appear in its output, in order (`...` lines are
  skipped, a line ending in `...` matches by prefix). Exit code 0 unless the command ends with a
  comment `# exit code N`. `$ export NAME=VALUE` sets a variable for the block's later commands.
- ```` ```python test ````: executed in the scratch folder.
- A Markdown table after `<!-- test: outcomes of contacts.csv -->`: compared with a dry run of the
  page's contacts.csv through the page's sync config.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from doc_blocks import Block, opens_block, read_block

from destkit.runtime import Outcome, build_sync
from destkit.runtime.authoring.check import check_spec_text
from destkit.runtime.spec.loader import parse_spec

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "writing-a-spec.md"
EXAMPLE = ROOT / "docs" / "examples" / "acme_crm.yaml"
SPEC_FILE = "acme_crm.yaml"
TOKEN_ENV = "ACME_CRM_TOKEN"


@dataclass
class Doc:
    blocks: list[Block] = field(default_factory=list)
    outcome_table: list[dict[str, str]] = field(default_factory=list)


def parse_doc(text: str) -> Doc:
    doc = Doc()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if opens_block(line):
            block, i = read_block(lines, i, DOC.name)
            doc.blocks.append(block)
        elif line.strip() == "<!-- test: outcomes of contacts.csv -->":
            i += 1
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            header, _, *body_rows = rows
            doc.outcome_table = [dict(zip(header, r, strict=True)) for r in body_rows]
            continue
        i += 1
    return doc


DOC_PARSED = parse_doc(DOC.read_text(encoding="utf-8"))


def assemble(pieces: list[str]) -> str:
    out = ""
    for piece in pieces:
        if out and piece[:1] not in (" ", "\n", ""):
            out += "\n"  # a piece that starts a new top-level key gets a blank line before it
        out += piece
    return out


def doc_files() -> dict[str, str]:
    files: dict[str, list[str]] = {}
    for block in DOC_PARSED.blocks:
        if block.title:
            files.setdefault(block.title, []).append(block.text)
    return {
        name: assemble(pieces) if name == SPEC_FILE else "".join(pieces) for name, pieces in files.items()
    }


FILES = doc_files()
CONSOLE = [b for b in DOC_PARSED.blocks if b.lang == "console" and "test" in b.flags]
PYTHON = [b for b in DOC_PARSED.blocks if b.lang == "python" and "test" in b.flags]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tutorial")
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def env_for_doc(**extra: str) -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **extra}
    env.pop(TOKEN_ENV, None)
    env.update(extra)
    return env


# --- the page's structure -----------------------------------------------------------------------


def test_every_code_block_on_the_page_is_tested() -> None:
    untested = [b for b in DOC_PARSED.blocks if not b.title and "test" not in b.flags]
    assert not untested, f"blocks with neither title=FILE nor `test`: {untested}"
    assert len([b for b in DOC_PARSED.blocks if b.title == SPEC_FILE]) >= 8
    assert CONSOLE and PYTHON and DOC_PARSED.outcome_table


def test_the_tutorial_covers_what_a_spec_author_needs() -> None:
    spec = parse_spec(FILES[SPEC_FILE], SPEC_FILE)
    action = spec.actions["upsert_contacts"]
    assert spec.settings and spec.secrets and spec.catalogs
    assert spec.auth.kind == "bearer"
    assert any(f.format for f in action.fields.values()) and any(f.required for f in action.fields.values())
    assert any(f.maxLength for f in action.fields.values()) and any(f.catalog for f in action.fields.values())
    assert action.request.path == "/v1/contacts:batchUpsert" and action.request.body == {"items": "$records"}
    assert action.response.results == "results" and action.errors is not None and action.variants
    commands = "\n".join(b.text for b in CONSOLE)
    for command in ("destkit spec check", "destkit preview", "destkit init", "pytest"):
        assert command in commands


# --- the spec -----------------------------------------------------------------------------------


def test_the_assembled_spec_is_docs_examples_acme_crm_yaml() -> None:
    assert FILES[SPEC_FILE] == EXAMPLE.read_text(encoding="utf-8"), (
        "the tutorial's ```yaml title=acme_crm.yaml blocks and docs/examples/acme_crm.yaml differ; "
        "change both together"
    )


def test_the_spec_loads_and_passes_spec_check_without_warnings() -> None:
    spec = parse_spec(FILES[SPEC_FILE], SPEC_FILE)
    assert spec.id == "acme_crm"
    result = check_spec_text(FILES[SPEC_FILE], SPEC_FILE)
    assert result.ok and result.findings == [], "\n".join(map(str, result.findings))


def test_the_example_file_passes_the_cli_spec_check() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "destkit.runtime.cli.app", "spec", "check", "--strict", str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env_for_doc(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "ok: acme_crm (1 action)"


# --- the claims ---------------------------------------------------------------------------------


def test_the_outcome_table_is_what_a_dry_run_of_contacts_csv_gives(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "acme-test-token-0f3c")
    sync = build_sync(workdir / "acme_crm.sync.yaml", trust_spec=True)
    outcomes: list[Outcome] = []
    with (workdir / "contacts.csv").open(newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
        result = sync.dry_run(records, offline=True, on_outcome=outcomes.append)
    got = [
        {"row": str(o.row), "customer_id": o.key or "", "outcome": o.status.value, "reason": o.reason or ""}
        for o in sorted(outcomes, key=lambda o: o.row)
    ]
    assert got == DOC_PARSED.outcome_table
    assert len(records) == len(got)
    delivered = [r for r in DOC_PARSED.outcome_table if r["outcome"] == "delivered"]
    assert len(result.requests) == 1 and result.requests[0].records == len(delivered)


def _commands(block: Block) -> Iterator[tuple[str, list[str], int]]:
    """(command, expected output lines, expected exit code) per `$ ` line."""
    command: str | None = None
    expected: list[str] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            if command is not None:
                yield command, expected, _exit_code(command)
            command, expected = line[2:], []
        else:
            expected.append(line)
    if command is not None:
        yield command, expected, _exit_code(command)


def _exit_code(command: str) -> int:
    m = re.search(r"#\s*exit code (\d+)\s*$", command)
    return int(m.group(1)) if m else 0


def _shell(command: str) -> str:
    exe = shlex.quote(sys.executable)
    if command.startswith("destkit "):
        return f"{exe} -m destkit.runtime.cli.app {command[len('destkit ') :]}"
    if command.startswith("python "):
        return f"{exe} {command[len('python ') :]}"
    return command


def _assert_output(expected: list[str], actual: str, where: str) -> None:
    lines = [line.rstrip() for line in actual.splitlines()]
    pos = 0
    for want in (w.rstrip() for w in expected):
        if want in ("...", ""):
            continue
        for i in range(pos, len(lines)):
            got = lines[i]
            if got == want or (want.endswith("...") and got.startswith(want[:-3])):
                pos = i + 1
                break
        else:
            raise AssertionError(
                f"{where}: expected the line\n  {want}\nin the output (after line {pos}):\n{actual}"
            )


@pytest.mark.parametrize("block", CONSOLE, ids=[f"line{b.line}" for b in CONSOLE])
def test_console_block_runs_as_shown(block: Block, workdir: Path) -> None:
    env = env_for_doc()
    for command, expected, code in _commands(block):
        if m := re.fullmatch(r"export ([A-Za-z_][A-Za-z0-9_]*)=(\S+)", command.strip()):
            env[m.group(1)] = m.group(2)
            continue
        done = subprocess.run(
            ["bash", "-c", _shell(command)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        where = f"{DOC.name}:{block.line}: $ {command}"
        assert done.returncode == code, (
            f"{where}: exit {done.returncode}, expected {code}\n{done.stdout}{done.stderr}"
        )
        _assert_output(expected, done.stdout + done.stderr, where)


@pytest.mark.parametrize("block", PYTHON, ids=[f"line{b.line}" for b in PYTHON])
def test_python_block_runs(block: Block, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    monkeypatch.setenv(TOKEN_ENV, "acme-test-token-0f3c")
    namespace: dict[str, Any] = {"__name__": "__doc_snippet__"}
    exec(compile(block.text, f"{DOC.name}:{block.line}", "exec"), namespace)


def test_python_files_on_the_page_compile() -> None:
    for name, text in FILES.items():
        if name.endswith(".py"):
            compile(text, name, "exec")


# --- conformance (the QA kit) -------------------------------------------------------------------


def _run_conformance() -> Any:
    module = pytest.importorskip(
        "destkit.testing.conformance",
        reason="destkit.testing.conformance is not in this checkout; the tutorial spec's conformance is not checked",
    )
    return module.run_conformance


def test_the_tutorial_spec_passes_dry_run_conformance() -> None:
    """Acme CRM has no emulator, so only the dry-run half of the suite applies; it must pass whole."""
    report = _run_conformance()(EXAMPLE, examples=30, seed=0)
    assert report.ok, str(report)
    checks = [c for a in report.actions for c in a.checks]
    assert [c.status for c in checks if c.name.startswith("dry run")] == ["passed"] * 5
    assert [c.status for c in checks if c.name.startswith("emulator")] == ["skipped"]
