"""Resolve the import paths a spec names (auth, reader and classifier hooks, emulators), so runtime never imports a destination.

A spec is code: its import paths name callables that run when it is used. `import_paths` finds every
one, and `outside_packages` says which lie outside the packages the spec may run code from (its own
under destkit.destinations, and those it declares in `python_package:`); the loader refuses those
before anything is imported.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from destkit.runtime.errors import Issue, SpecError
from destkit.runtime.spec.models import DestinationSpec

Loc = list[str | int]


def load_hook(path: str) -> Any:
    """'package.module:attr' → the attribute; ValueError/ImportError say which part is wrong."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"'{path}' is not an import path of the form package.module:name")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"{module_name} has no attribute {attr!r} (from '{path}')") from None


def load_callable(path: str, key: str, role: str) -> Callable[..., Any]:
    """The hook a spec field (`key`, e.g. 'errors.hook') names; a SpecError if it does not load or is not `role`."""
    try:
        hook: Callable[..., Any] = load_hook(path)
    except (ImportError, ValueError) as exc:
        raise SpecError([Issue(key, f"the hook {path} does not load: {exc}.",
                               "give the import path 'package.module:name' of an installed module.")]) from None
    if not callable(hook):
        raise SpecError([Issue(key, f"{path} is not callable.", f"name {role}.")])
    return hook


def import_paths(spec: DestinationSpec) -> list[tuple[Loc, str]]:
    """Every import path the spec names, with where: the emulator, then each `hook` wherever it sits."""
    found: list[tuple[Loc, str]] = [(["emulator"], spec.emulator)] if spec.emulator else []
    _collect_hooks(spec, [], found)
    return found


def _collect_hooks(value: Any, loc: Loc, found: list[tuple[Loc, str]]) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            item = getattr(value, name)
            if name == "hook" and isinstance(item, str):
                found.append(([*loc, name], item))
            else:
                _collect_hooks(item, [*loc, name], found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect_hooks(item, [*loc, key], found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _collect_hooks(item, [*loc, i], found)


def in_package(path: str, packages: list[str]) -> bool:
    """Whether the module of import path 'package.module:name' is one of `packages` or inside one."""
    module = path.partition(":")[0]
    return any(module == p or module.startswith(p + ".") for p in packages)


def outside_packages(spec: DestinationSpec) -> list[tuple[Loc, str, str]]:
    """(where, message, fix) for each import path outside the packages the spec may run code from."""
    packages = spec.python_packages()
    found = []
    for loc, path in import_paths(spec):
        if not in_package(path, packages):
            top = path.partition(":")[0].split(".")[0]
            fix = (f"move it into {packages[0]} or the connector's own package (named in `python_package:`)."
                   if not_a_connector(top) else
                   f"move the hook into {packages[0]}, or name its package in the spec: `python_package: {top}`.")
            found.append((loc, f"{path} is outside the packages this spec may run code from ({', '.join(packages)}).",
                          fix))
    return found


def not_a_connector(package: str) -> str | None:
    """Why `package` cannot be a connector's package (the standard library, destkit's own code), or None."""
    top = package.split(".")[0]
    if top in sys.stdlib_module_names:
        return "a standard-library module"
    if top == "destkit" and not package.startswith("destkit.destinations."):
        return "destkit's own code"
    return None
