"""The emulator contract: what a spec's `emulator:` module offers the QA kit, the demo and `destkit emulate`.

A spec names its emulator by import path (`emulator: package.module:create_app`); the module may
also expose `testing_profile(action) -> TestingProfile | None` saying how to test each action
against it (only `app_options`, `settings` and `secrets` are required), and
`demo_profile() -> DemoProfile` when `destkit demo` can show the destination end to end.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, Protocol, TypedDict

from destkit.runtime.outcomes import Reason, Status


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


@dataclass(frozen=True)
class Planted:
    """A problem planted in a demo audience, and the outcome its record must come out as."""

    row: int
    """the record's 1-based position in the audience"""
    what: str
    """the problem in words, e.g. a national phone number where E.164 is required"""
    outcome: Status
    reason: Reason | None = None


class DemoProfile(TypedDict):
    """What `destkit demo` needs to sync a sample audience to one destination's emulator, in process."""

    title: str
    """the destination's name in prose, for the demo's messages"""
    action: str
    """the action the demo syncs"""
    base_url: str
    """the origin the demo's sync addresses (served in process, never resolved)"""
    app_options: dict[str, Any]
    """create_app keyword arguments: the demo workspace (e.g. its catalogs)"""
    secret: str
    """the secret the demo makes a value up for: given to create_app under this name"""
    secret_env: str
    """the environment variable the demo config reads that secret from"""
    config: str
    """the sync config (YAML text) the demo writes beside the audience"""
    write_audience: Callable[[Path, int], list[Planted]]
    """write_audience(csv_path, rows) -> the problems planted in the rows it wrote"""
    by_default: NotRequired[bool]
    """False: shown only when asked for (`destkit demo --destination ID`), never as the default demo"""


class EmulatorModule(Protocol):
    """The module a spec's `emulator:` path points into (`create_app` is the named attribute)."""

    def testing_profile(self, action: str) -> TestingProfile | None: ...


class DemoEmulatorModule(Protocol):
    """An emulator module `destkit demo` can use."""

    def demo_profile(self) -> DemoProfile: ...


__all__ = ["DemoEmulatorModule", "DemoProfile", "EmulatorModule", "Planted", "TestingProfile"]
