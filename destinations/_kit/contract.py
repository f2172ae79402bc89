"""Helpers for the functions an emulator module offers generic tools (``testing_profile``, ``demo_profile``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["not_a_test"]

F = TypeVar("F", bound=Callable[..., Any])


def not_a_test(func: F) -> F:
    """Keep pytest from collecting ``func`` where a test module imports it.

    ``testing_profile`` starts with "test", so pytest's default ``python_functions`` would take it
    for a test in any module that imports it by name.
    """
    func.__dict__["__test__"] = False
    return func
