"""Where the spec language and the author's kit sit among runtime's subpackages, and the house
rules their modules keep: imports run one way, no module reaches into another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import destkit.runtime.spec as spec_package
from destkit.runtime.spec import loader, models

RUNTIME = Path(__file__).resolve().parents[3] / "runtime"
SPEC_FILES = sorted((RUNTIME / "spec").glob("*.py"))
AUTHORING_FILES = sorted((RUNTIME / "authoring").glob("*.py"))


def destkit_imports(path: Path) -> list[ast.ImportFrom | ast.Import]:
    """The import statements of a module that import from destkit."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom | ast.Import)]
    return [node for node in imports if any(m.startswith("destkit") for m in modules_of(node))]


def modules_of(node: ast.ImportFrom | ast.Import) -> list[str]:
    return [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]


def is_within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_spec_imports_only_mapping_the_base_modules_and_itself(path: Path) -> None:
    allowed = ("destkit.mapping", "destkit.runtime.errors", "destkit.runtime.outcomes", "destkit.runtime.spec")
    imported = [m for node in destkit_imports(path) for m in modules_of(node)]
    assert [m for m in imported if not is_within(m, allowed)] == []


@pytest.mark.parametrize("path", AUTHORING_FILES, ids=lambda p: p.name)
def test_authoring_imports_only_the_subpackages_below_it(path: Path) -> None:
    allowed = (
        "destkit.mapping",
        "destkit.runtime.errors",
        "destkit.runtime.outcomes",
        "destkit.runtime.spec",
        "destkit.runtime.record",
        "destkit.runtime.config",
        "destkit.runtime.delivery",
        "destkit.runtime.engine",
        "destkit.runtime.authoring",
    )
    imported = [m for node in destkit_imports(path) for m in modules_of(node)]
    assert [m for m in imported if not is_within(m, allowed)] == []


@pytest.mark.parametrize("path", SPEC_FILES + AUTHORING_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_module_imports_another_modules_private_name(path: Path) -> None:
    private = [
        f"{node.module}.{alias.name}"
        for node in destkit_imports(path)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []


@pytest.mark.parametrize("path", SPEC_FILES + AUTHORING_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_module_stays_under_600_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) < 600


def test_the_spec_package_exports_the_loader_and_the_spec_model() -> None:
    assert spec_package.load_spec is loader.load_spec
    assert spec_package.parse_spec is loader.parse_spec
    assert spec_package.bundled_spec_names is loader.bundled_spec_names
    assert spec_package.DestinationSpec is models.DestinationSpec
