"""Every exception destkit defines, under one root, grouped by what the engine does with it.

Per-record problems are outcomes, not exceptions; these are the errors that stop something::

    DestkitError                      the root (defined in destkit.mapping, the bottom package)
    ├── ConfigError                   the sync config is wrong: nothing read or sent; exit 2
    │   ├── SpecError                 a destination spec does not load or make sense
    │   └── UsageError                a command was called wrongly (e.g. `destkit init` on a taken name)
    ├── MappingConfigError            a mapping does not compile; build_sync turns it into ConfigError issues
    ├── TemplateError                 a template does not compile or broke the sandbox
    ├── AuthFailed                    the destination refused the credentials: the run stops (auth stop)
    ├── RecordError                   one record cannot be mapped or validated: that record's outcome
    │   └── (TransformError)          a transform refused a value (the compiler adds the field)
    ├── EmulatorError                 an emulator refuses a request (never raised by a sync)
    └── InternalError                 a bug in destkit; exit 3

Every message names where the problem is (file, line, key) and what to do about it, because the
person reading it is fixing a config at a terminal, not debugging destkit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from destkit.mapping.errors import DestkitError, MappingConfigError, RecordError, TransformError
from destkit.mapping.templates import TemplateError


@dataclass(frozen=True, slots=True)
class Issue:
    key: str
    message: str
    fix: str = ""
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        text = f"{where}{self.key}: {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class ConfigError(DestkitError):
    """The sync config (or a spec) is wrong; nothing was read or sent. Exit code 2 at the CLI."""

    def __init__(self, issues: list[Issue], title: str = "invalid sync config") -> None:
        self.issues = issues
        self.title = title
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.title} ({len(self.issues)} problem{'s' if len(self.issues) != 1 else ''}):"]
        lines += [f"  - {issue}" for issue in self.issues]
        return "\n".join(lines)


class SpecError(ConfigError):
    """A destination spec does not load or does not make sense."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues, title="invalid destination spec")


class UsageError(ConfigError, ValueError):
    """A command or API was called in a way that cannot work (a taken name, a wrong argument)."""

    def __init__(self, message: str, key: str = "arguments", fix: str = "") -> None:
        super().__init__([Issue(key, message, fix)], title="cannot do that")
        self.message = message

    def __str__(self) -> str:
        return self.message


class AuthFailed(DestkitError):
    """The destination refused our credentials; the run stops, since every request would fail alike."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"the destination refused the credentials (HTTP {status}): {message}")


class EmulatorError(DestkitError):
    """An emulator refuses a request; raised inside emulators and turned into an HTTP answer there."""


class InternalError(DestkitError):
    """Something destkit did not expect: a bug. The CLI exits 3 and points at the log."""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours some libraries put in their messages (deltalake's "↳" lines)


def first_line(exc: BaseException) -> str:
    """An error's message for one line of ours: its first non-empty line, without terminal colour codes."""
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


__all__ = [
    "AuthFailed",
    "ConfigError",
    "DestkitError",
    "EmulatorError",
    "InternalError",
    "Issue",
    "MappingConfigError",
    "RecordError",
    "SpecError",
    "TemplateError",
    "TransformError",
    "UsageError",
    "first_line",
]
