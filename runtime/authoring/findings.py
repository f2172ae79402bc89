"""What `destkit spec check` reports: an Issue with a severity (errors make a spec unusable, warnings do not)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from destkit.runtime.errors import Issue

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    issue: Issue

    def __str__(self) -> str:
        if self.severity == "error":
            return str(self.issue)
        i = self.issue
        where = f"{i.file}:{i.line}: " if i.file and i.line else f"{i.file}: " if i.file else ""
        text = f"{where}warning: {i.key}: {i.message}"
        return text + (f" Fix: {i.fix}" if i.fix else "")


__all__ = ["Finding", "Severity"]
