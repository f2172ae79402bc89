"""Errors that stop a sync before or during its run (per-record problems are outcomes, not errors).

Every message names where the problem is (file, line, key) and what to do about it, because the
person reading it is fixing a config at a terminal, not debugging destkit.
"""

from __future__ import annotations

from dataclasses import dataclass


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


class ConfigError(Exception):
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


class AuthFailed(Exception):
    """The destination refused our credentials; the run stops, since every request would fail alike."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"the destination refused the credentials (HTTP {status}): {message}")
