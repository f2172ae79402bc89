"""The house rules of the code base, checked: imports run one way, the public API is exactly
what `__all__` says, no module reaches into another's private names, and the README's closed
list of reason codes is the one the code uses."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import destkit.runtime as runtime
from destkit.mapping import MappingReason
from destkit.runtime.outcomes import Reason

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"mapping": "destkit.mapping", "runtime": "destkit.runtime", "destinations": "destkit.destinations",
            "testing": "destkit.testing", "spark": "destkit.spark"}

# Layers inside runtime: a module may import its own layer and lower ones, never a higher one.
RUNTIME_LAYERS = {"errors": 0, "outcomes": 0, "spec": 1, "record": 2, "config": 3, "delivery": 4,
                  "engine": 5, "ops": 1, "authoring": 6, "ui": 7, "cli": 8}
# Across packages: destinations → runtime → mapping (testing is the QA kit on top of them, spark the Spark runner).
PACKAGE_LAYERS = {"destkit.mapping": 0, "destkit.runtime": 1, "destkit.destinations": 2, "destkit.testing": 3,
                  "destkit.spark": 3}

# The one upward import allowed: `destkit test SPEC` is the QA kit's front door, imported lazily
# inside that command so the runtime never loads hypothesis otherwise.
FRONT_DOORS = {("destkit.runtime.cli.authoring_commands", "destkit.testing.conformance")}

EXPECTED_PUBLIC_API = {
    "AuthFailed", "ConfigError", "DestinationSpec", "DestkitError", "InternalError", "Issue", "Outcome",
    "PreparedRequest", "PreviewItem", "Reason", "RunResult", "RunSummary", "Secret", "SpecError", "Status",
    "Sync", "SyncConfig", "SyncOptions", "build_sync", "bundled_spec_names", "load_spec",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return PACKAGES[parts[0]] + "".join("." + p for p in parts[1:])


def _sources() -> list[Path]:
    return sorted(p for folder in PACKAGES for p in (ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, imported names, line) for every absolute or relative import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: list[tuple[str, list[str], int]] = []
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                 for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in type_only:  # annotations only: no import at run time, so no cycle
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, [a.name for a in node.names], node.lineno))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_area(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["destkit", "runtime"] or len(parts) < 3:
        return None
    return parts[2]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in _sources():
        me = _module_name(path)
        graph[me] = {m for m, _, _ in _imports(path) if m.startswith("destkit.")}
    return graph


def test_packages_import_one_way_destinations_runtime_mapping() -> None:
    upward = []
    for path in _sources():
        me = _module_name(path)
        mine = PACKAGE_LAYERS[".".join(me.split(".")[:2])]
        for module, _, line in _imports(path):
            top = ".".join(module.split(".")[:2])
            if top in PACKAGE_LAYERS and PACKAGE_LAYERS[top] > mine and (me, module) not in FRONT_DOORS:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert upward == []


def test_runtime_subpackages_import_only_their_own_layer_or_lower() -> None:
    upward = []
    for path in (ROOT / "runtime").rglob("*.py"):
        me = _module_name(path)
        area = _runtime_area(me)
        if area is None:  # the curated API, runtime/__init__.py, may import every room
            continue
        for module, names, line in _imports(path):
            target = _runtime_area(module)
            if module == "destkit.runtime":
                upward.append(f"{path.relative_to(ROOT)}:{line} imports the top-level API ({names})")
            elif target is not None and target != area and RUNTIME_LAYERS[target] >= RUNTIME_LAYERS[area]:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({area}) imports {module} ({target})")
    assert upward == []


def test_the_spec_room_imports_no_other_runtime_room() -> None:
    offenders = [f"{p.relative_to(ROOT)}: {m}" for p in (ROOT / "runtime" / "spec").rglob("*.py")
                 for m, _, _ in _imports(p)
                 if _runtime_area(m) not in (None, "spec", "errors", "outcomes")]
    assert offenders == []


def test_no_module_imports_an_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt):], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    # a package importing its own submodules from __init__ is not a cycle of concern
    real = [c for c in cycles if not all(a.startswith(c[-1]) or c[-1].startswith(a) for a in c)]
    assert real == []


def test_no_module_imports_another_modules_private_name() -> None:
    offenders = []
    for path in _sources():
        for module, names, line in _imports(path):
            if not module.startswith("destkit."):
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            leaf = module.rsplit(".", 1)[-1]
            if private or (leaf.startswith("_") and not leaf.startswith("__") and leaf not in ("_kit",)):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: from {module} import {', '.join(names)}")
    assert offenders == []


def test_public_api_is_exactly_all() -> None:
    assert set(runtime.__all__) == EXPECTED_PUBLIC_API
    assert sorted(runtime.__all__) == runtime.__all__


@pytest.mark.parametrize("name", sorted(EXPECTED_PUBLIC_API))
def test_each_public_name_is_importable_from_destkit_runtime(name: str) -> None:
    assert getattr(importlib.import_module("destkit.runtime"), name) is not None


def test_every_runtime_subpackage_says_what_lives_there_and_what_it_may_import() -> None:
    missing = []
    for init in sorted((ROOT / "runtime").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        if "import" not in doc.lower() or len(doc.strip().splitlines()) < 2:
            missing.append(str(init.relative_to(ROOT)))
    assert missing == []


def test_every_exception_class_derives_from_the_one_root() -> None:
    from destkit.runtime.errors import DestkitError

    strays = []
    for path in _sources():
        module = importlib.import_module(_module_name(path))
        for name, value in vars(module).items():
            if (isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == module.__name__
                    and not issubclass(value, DestkitError)):
                strays.append(f"{module.__name__}.{name}")
    assert strays == []


def test_readme_lists_exactly_the_reason_codes_in_use() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("Reason codes (closed set", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`([a-z_]+)`", section)) - {"destkit", "runtime", "reason"}
    assert listed == {r.value for r in Reason}


def test_mapping_reasons_are_runtime_reasons() -> None:
    assert {r.value for r in MappingReason} <= {r.value for r in Reason}


def test_outcomes_are_built_with_keyword_arguments_only() -> None:
    from destkit.runtime.outcomes import Outcome, Status

    with pytest.raises(TypeError):
        Outcome(1, Status.DELIVERED)  # type: ignore[misc]
    assert Outcome(row=1, status=Status.DELIVERED).reason is None
