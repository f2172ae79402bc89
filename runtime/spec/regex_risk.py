"""Finding a pattern that backtracks exponentially (ReDoS): a repetition repeated, as in `(a+)+$`.

Python's `re` backtracks, so `^(a+)+$` tries every way to split a long run of `a`s before it gives up
on one that does not match: 40 characters take hours, and a record holding them would stall a sync.
This finds the common shape only, with few false alarms: a group repeated without bound whose one
required part is itself repeated without bound (`(a+)+`, `(\\w+\\s?)*`, `(a*)*`); `([a-z]+\\.)*` is safe
(the dot ends each turn) and is not flagged. Imports nothing of destkit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_UNBOUNDED = 1 << 30
_COUNTS = re.compile(r"(?P<low>[0-9]*)(?P<comma>,?)(?P<high>[0-9]*)")  # inside {m,n}


@dataclass
class _Item:
    """One atom (a character, an escape, a class or a group) and how often it may repeat."""

    start: int
    end: int = 0
    least: int = 1
    most: int = 1
    alternatives: list[list[_Item]] = field(default_factory=list)  # a group's body, one list per `|` branch


class _Reader:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def branches(self) -> list[list[_Item]]:
        """Items up to the `)` closing the current group (or the end), split at `|`."""
        found: list[list[_Item]] = [[]]
        while self.i < len(self.p) and self.p[self.i] != ")":
            if self.p[self.i] == "|":
                self.i += 1
                found.append([])
                continue
            item = self.atom()
            self.quantifier(item)
            item.end = self.i
            found[-1].append(item)
        return found

    def atom(self) -> _Item:
        item = _Item(self.i)
        char = self.p[self.i]
        if char == "\\":
            self.i += 2
        elif char == "[":
            self.skip_class()
        elif char == "(":
            self.i += 1
            self.skip_group_prefix()
            item.alternatives = self.branches()
            self.i += 1  # the ")"
        else:
            self.i += 1
        return item

    def skip_class(self) -> None:
        self.i += 1
        if self.p.startswith("^", self.i):
            self.i += 1
        if self.p.startswith("]", self.i):  # a "]" first is a member, not the end
            self.i += 1
        while self.i < len(self.p) and self.p[self.i] != "]":
            self.i += 2 if self.p[self.i] == "\\" else 1
        self.i += 1

    def skip_group_prefix(self) -> None:
        """`(?:`, `(?P<name>`, `(?=` ...: what follows the prefix is the group's body."""
        if not self.p.startswith("?", self.i):
            return
        if self.p.startswith("?P<", self.i):
            self.i = self.p.find(">", self.i) + 1
        elif self.p.startswith(("?<=", "?<!"), self.i):
            self.i += 3
        else:
            self.i += 2

    def quantifier(self, item: _Item) -> None:
        rest = self.p[self.i:]
        if rest[:1] in ("*", "+", "?"):
            item.least, item.most = {"*": (0, _UNBOUNDED), "+": (1, _UNBOUNDED), "?": (0, 1)}[rest[0]]
            self.i += 1
        elif rest[:1] == "{" and "}" in rest:
            self.braces(item, rest[1:rest.index("}")])
        else:
            return
        if self.p[self.i:self.i + 1] in ("?", "+"):  # lazy or possessive: the same repetition for this purpose
            self.i += 1

    def braces(self, item: _Item, inside: str) -> None:
        counts = _COUNTS.fullmatch(inside)
        if counts is None or not (counts["low"] or counts["high"]):
            return  # "{" as a literal
        low, high = counts["low"], counts["high"]
        item.least = int(low or 0)
        item.most = _UNBOUNDED if counts["comma"] and not high else int(high or low)
        self.i += len(inside) + 2


def _repeats(item: _Item) -> bool:
    """The item matches a run of any length: it is repeated without bound, or is a group around such a run."""
    return item.most == _UNBOUNDED or any(_one_repeated_part(branch) for branch in item.alternatives)


def _one_repeated_part(branch: list[_Item]) -> bool:
    """The branch's required items are one unbounded repetition (or none, beside an unbounded one)."""
    required = [item for item in branch if item.least > 0]
    return any(map(_repeats, branch)) and (not required or (len(required) == 1 and _repeats(required[0])))


def _risky_group(items: list[_Item], pattern: str) -> str | None:
    for item in items:
        if item.most == _UNBOUNDED and any(_one_repeated_part(branch) for branch in item.alternatives):
            return pattern[item.start:item.end]
        for branch in item.alternatives:
            if (found := _risky_group(branch, pattern)) is not None:
                return found
    return None


def nested_repetition(pattern: str) -> str | None:
    """The part of `pattern` that repeats a repetition (e.g. "(a+)+"), or None; `pattern` must compile."""
    reader = _Reader(pattern)
    items = [item for branch in reader.branches() for item in branch]
    return _risky_group(items, pattern)


__all__ = ["nested_repetition"]
