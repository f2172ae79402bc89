"""Specs are code: a spec file given by path needs an explicit trust flag, and hooks come only from the
packages the spec declares.

A spec names Python callables (`auth.hook`, `response.hook`, `errors.hook`, `emulator`) that run when
it is used. Bundled specs are trusted; a spec file by path is used only with `trust_spec=True` (CLI:
`--trust-spec`), except by the author's own tools (`destkit spec check`, `destkit test`). Whatever its
origin, a spec's hooks must live under `destkit.destinations.<id>` or a package it names in
`python_package:`; any other import path is refused before anything is imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.runtime import ConfigError, SpecError, build_sync, load_spec

SPEC = """\
spec_version: 1
id: demo
name: Demo
base_url: https://api.demo.example.com
secrets:
  token: {title: Token}
auth: {kind: bearer, token: "{{ secrets.token }}"}
actions:
  send:
    title: Send
    fields:
      id: {type: string, required: true}
    request: {method: POST, path: /items, record: {id: $id}}
"""
HOOKED = SPEC.replace('auth: {kind: bearer, token: "{{ secrets.token }}"}',
                      "auth: {kind: hook, hook: 'trust_marker.signing:sign'}")
TRUST_FIX = ("if you wrote this spec or trust its author, pass --trust-spec (Python: trust_spec=True); "
             "bundled destinations need no flag.")

# a package whose import leaves a marker file: the tests see whether a spec made Python import it
MARKER_PACKAGE = """\
import os
from pathlib import Path

Path(os.environ["TRUST_MARKER_FILE"]).write_text("imported", encoding="utf-8")
"""
SIGNING = """\
def sign(options):
    raise ValueError("never called in these tests")
"""


def write(folder: Path, text: str, name: str = "demo.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`trust_marker` on sys.path: importing it writes the returned file."""
    package = tmp_path / "lib" / "trust_marker"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(MARKER_PACKAGE, encoding="utf-8")
    (package / "signing.py").write_text(SIGNING, encoding="utf-8")
    flag = tmp_path / "imported.txt"
    monkeypatch.setenv("TRUST_MARKER_FILE", str(flag))
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    yield flag
    for name in ("trust_marker", "trust_marker.signing"):
        sys.modules.pop(name, None)


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "destkit.runtime.cli.app", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, cwd=cwd, timeout=120, check=False)


# --- a spec file by path --------------------------------------------------------------------------


def test_a_spec_file_is_refused_without_the_trust_flag(tmp_path: Path) -> None:
    path = write(tmp_path, SPEC)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert [(i.key, i.message, i.fix) for i in err.value.issues] == [
        ("destination", f"the spec file {path} is not trusted: a spec names Python code (hooks, an emulator) "
                        "that runs when it is used.", TRUST_FIX)]


def test_a_trusted_spec_file_loads(tmp_path: Path) -> None:
    assert load_spec(write(tmp_path, SPEC), trust_spec=True).id == "demo"


def test_a_bundled_spec_needs_no_flag() -> None:
    assert load_spec("webhook").id == "webhook"


def test_a_config_naming_a_spec_file_is_refused_without_the_trust_flag(tmp_path: Path) -> None:
    path = write(tmp_path, SPEC)
    config = {"destination": str(path), "action": "send", "secrets": {"token": "t0ken"}, "mapping": {"id": "id"}}
    with pytest.raises(ConfigError) as err:
        build_sync(config)
    assert [(i.key, i.fix) for i in err.value.issues] == [("destination", TRUST_FIX)]
    assert build_sync(config, trust_spec=True).spec.id == "demo"


def test_the_cli_refuses_a_config_naming_a_spec_file_and_names_the_flag(tmp_path: Path) -> None:
    write(tmp_path, SPEC)
    config = write(tmp_path, "destination: demo.yaml\naction: send\nsecrets: {token: {env: DEMO_TOKEN}}\n"
                             "mapping: {id: id}\n", "sync.yaml")
    records = write(tmp_path, '{"id": "a"}\n', "records.jsonl")
    args = ["preview", str(config), "--input", str(records), "--offline"]
    refused = cli(*args, env={"DEMO_TOKEN": "t0ken"})
    assert refused.returncode == 2
    assert "--trust-spec" in refused.stdout + refused.stderr
    trusted = cli(*args, "--trust-spec", env={"DEMO_TOKEN": "t0ken"})
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert "Previewed 1 record; nothing was sent." in trusted.stdout


def test_spec_check_on_a_file_implies_trust(tmp_path: Path) -> None:
    done = cli("spec", "check", str(write(tmp_path, SPEC)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: demo (1 action)" in done.stdout


# --- where hooks may come from ----------------------------------------------------------------------


def test_a_hook_outside_the_declared_packages_is_refused_before_it_is_imported(tmp_path: Path, marker: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(write(tmp_path, HOOKED), trust_spec=True)
    assert [(i.key, i.message, i.fix) for i in err.value.issues] == [
        ("auth.hook", "trust_marker.signing:sign is outside the packages this spec may run code from "
                      "(destkit.destinations.demo).",
         "move the hook into destkit.destinations.demo, or name its package in the spec: "
         "`python_package: trust_marker`.")]
    assert not marker.exists()
    assert "trust_marker" not in sys.modules


def test_spec_check_refuses_such_a_hook_without_importing_it(tmp_path: Path, marker: Path) -> None:
    done = cli("spec", "check", str(write(tmp_path, HOOKED)),
               env={"PYTHONPATH": str(tmp_path / "lib"), "TRUST_MARKER_FILE": str(marker)})
    assert done.returncode == 1
    assert "auth.hook: trust_marker.signing:sign is outside the packages this spec may run code from" in done.stdout
    assert not marker.exists()


def test_an_emulator_outside_the_declared_packages_is_refused() -> None:
    from destkit.runtime.spec.loader import parse_spec

    with pytest.raises(SpecError) as err:
        parse_spec(SPEC.replace("name: Demo\n", "name: Demo\nemulator: os:system\n"), "demo.yaml")
    assert [i.key for i in err.value.issues] == ["emulator"]


def test_a_hook_in_the_declared_package_is_accepted_and_imported_only_when_used(tmp_path: Path, marker: Path) -> None:
    spec = load_spec(write(tmp_path, HOOKED.replace("name: Demo\n", "name: Demo\npython_package: trust_marker\n")),
                     trust_spec=True)
    assert spec.python_packages() == ["destkit.destinations.demo", "trust_marker"]
    assert not marker.exists()


def test_a_package_that_is_only_a_prefix_of_the_hooks_module_is_not_its_package(tmp_path: Path) -> None:
    text = HOOKED.replace("name: Demo\n", "name: Demo\npython_package: trust\n")
    with pytest.raises(SpecError) as err:
        load_spec(write(tmp_path, text), trust_spec=True)
    assert [i.key for i in err.value.issues] == ["auth.hook"]


@pytest.mark.parametrize("package", ["os", "subprocess", "destkit", "destkit.runtime"])
def test_python_package_may_not_name_the_standard_library_or_destkit_itself(tmp_path: Path, package: str) -> None:
    text = SPEC.replace("name: Demo\n", f"name: Demo\npython_package: {package}\n")
    with pytest.raises(SpecError) as err:
        load_spec(write(tmp_path, text), trust_spec=True)
    assert [(i.key, i.fix) for i in err.value.issues] == [
        ("python_package", "name the connector's own package, where its hooks and emulator live.")]


def test_the_emulate_command_needs_the_flag_for_a_spec_file(tmp_path: Path) -> None:
    done = cli("emulate", str(write(tmp_path, SPEC)), "--port", "1")
    assert done.returncode == 2
    assert "--trust-spec" in done.stdout + done.stderr
