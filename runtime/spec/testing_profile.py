"""The emulator contract: what a spec's `emulator:` module offers the QA kit, the demo and `destkit emulate`.

A spec names its emulator by import path (`emulator: package.module:create_app`); the module may
also expose `testing_profile(action) -> TestingProfile | None` saying how to test each action
against it. Only `app_options`, `settings` and `secrets` are required.
"""


from collections.abc import Callable, Mapping, Sequence
from typing import Any, NotRequired, Protocol, TypedDict


class TestingProfile(TypedDict):
    """How to drive one action against its emulator."""


    app_options: dict[str, Any]
    """keyword arguments for create_app (credentials, catalogs, limits)"""
    settings: dict[str, Any]
    """sync settings"""
    secrets: dict[str, str]
    """literal secret values (the emulator accepts them)"""
    catalogs: NotRequired[Mapping[str, Any]]
    """catalog values the records may use (a list, or value → display label)"""
    options: NotRequired[dict[str, Any]]
    """sync options"""
    mapping: NotRequired[dict[str, Any]]
    """fields mapped otherwise than by name"""
    variants: NotRequired[Sequence[Mapping[str, Any]]]
    """settings overrides, each run as one more conformance pass (e.g. [{"batch_api": False}])"""
    skip: NotRequired[str]
    """why the action is not conformance-tested at all"""
    skip_emulator: NotRequired[str]
    """why the action is only dry-run (its emulator phase is skipped)"""
    prepare: NotRequired[Callable[[Any, list[dict[str, Any]]], list[dict[str, Any]]]]
    """prepare(app, valid_records) -> records: create the state the records depend on"""
    verify: NotRequired[Callable[[Any, list[dict[str, Any]]], list[str]]]
    """verify(app, delivered_records) -> problems with what the emulator holds"""
    fetch_catalogs: NotRequired[bool]
    """False: give the catalogs in the config instead of reading them from the emulator"""


class EmulatorModule(Protocol):
    """The module a spec's `emulator:` path points into (`create_app` is the named attribute)."""

    def testing_profile(self, action: str) -> TestingProfile | None: ...


__all__ = ["EmulatorModule", "TestingProfile"]
