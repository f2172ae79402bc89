"""The conformance report: checks per action (and settings variant), as data and as text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ActionReport", "Check", "CheckStatus", "ConformanceReport"]

CheckStatus = Literal["passed", "failed", "skipped"]

_MARKS: dict[CheckStatus, str] = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}


@dataclass
class Check:
    """One invariant of one action: passed, failed (with what was wrong) or skipped (and why)."""

    name: str
    status: CheckStatus
    message: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def lines(self) -> Iterator[str]:
        """The check as the report prints it: a status mark, the name, the message; details below."""
        yield f"  {_MARKS[self.status]} {self.name}" + (f": {self.message}" if self.message else "")
        for d in self.details:
            yield f"         {d}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "message": self.message, "details": self.details}


@dataclass
class ActionReport:
    action: str
    variant: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def name(self) -> str:
        if not self.variant:
            return self.action
        return f"{self.action} [{', '.join(f'{k}={v}' for k, v in self.variant.items())}]"

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def count(self, status: CheckStatus) -> int:
        return sum(1 for c in self.checks if c.status == status)

    def add(
        self, name: str, status: CheckStatus | bool, message: str = "", details: Iterable[str] = ()
    ) -> Check:
        if isinstance(status, bool):
            status = "passed" if status else "failed"
        check = Check(name, status, message, list(details))
        self.checks.append(check)
        return check

    def lines(self) -> Iterator[str]:
        """The action as the report prints it: a head line, its checks, its notes."""
        if self.skipped is not None:
            yield f"{self.name}: skipped: {self.skipped}"
            return
        failed = self.count("failed")
        head = "ok" if not failed else f"FAILED ({failed} of {len(self.checks)} checks)"
        yield f"{self.name}: {head}"
        for c in self.checks:
            yield from c.lines()
        for note in self.notes:
            yield f"  note {note}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "variant": self.variant,
            "skipped": self.skipped,
            "ok": self.ok,
            "notes": self.notes,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class ConformanceReport:
    """Per action (and settings variant): the checks, with messages; `ok` when none failed."""

    spec_id: str
    spec_name: str
    examples: int
    seed: int
    actions: list[ActionReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the suite could not run at all

    @property
    def ok(self) -> bool:
        return not self.problems and all(a.ok for a in self.actions)

    def failures(self) -> list[tuple[str, Check]]:
        return [(a.name, c) for a in self.actions for c in a.checks if c.status == "failed"]

    def action(self, name: str) -> ActionReport:
        return next(a for a in self.actions if a.name == name)

    def __str__(self) -> str:
        lines = [
            f"Conformance of {self.spec_name} ({self.spec_id}): {self.examples} examples per action, seed {self.seed}"
        ]
        lines += [f"  ERROR {problem}" for problem in self.problems]
        for a in self.actions:
            lines.append("")
            lines += a.lines()
        lines += ["", self._result_line()]
        return "\n".join(lines)

    def _tally(self) -> str:
        """How many checks passed, failed and were skipped (and actions skipped, if any)."""
        checks = [c for a in self.actions for c in a.checks]
        failed = sum(1 for c in checks if c.status == "failed")
        skipped = sum(1 for c in checks if c.status == "skipped")
        skipped_actions = sum(1 for a in self.actions if a.skipped is not None)
        tally = f"{len(checks) - failed - skipped} passed, {failed} failed, {skipped} skipped"
        if skipped_actions:
            tally += f", {skipped_actions} action(s) skipped"
        return tally

    def _result_line(self) -> str:
        if self.ok:
            return f"Result: OK ({self._tally()})"
        where = sorted({name for name, _ in self.failures()})
        return f"Result: FAILED ({self._tally()})" + (f" in {', '.join(where)}" if where else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec_id,
            "ok": self.ok,
            "examples": self.examples,
            "seed": self.seed,
            "problems": self.problems,
            "actions": [a.to_dict() for a in self.actions],
        }
