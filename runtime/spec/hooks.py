"""Resolve the import paths a spec names (auth, reader and classifier hooks, emulators), so runtime never imports a destination."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from destkit.runtime.errors import Issue, SpecError


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
