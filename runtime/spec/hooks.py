"""Resolve the import paths a spec names (auth hooks, emulators), so runtime never imports a destination."""

from __future__ import annotations

import importlib
from typing import Any


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
