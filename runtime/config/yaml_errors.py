"""A YAML syntax error as a person fixing the file needs it: the right line, shown, with a caret.

PyYAML reports where it noticed the problem, which for a flow mapping (`{a: 1`) or a quoted string
left open is a later line; the construct that was never closed is where the fix goes, so that is
the line named and shown.
"""

from __future__ import annotations

import yaml

# constructs whose problem PyYAML notices only after they end: the mistake is where they start
_UNCLOSED = ("while parsing a flow", "while scanning a quoted scalar", "while scanning a double-quoted scalar",
             "while scanning a single-quoted scalar")


def error_mark(exc: yaml.YAMLError) -> yaml.Mark | None:
    """Where the mistake is: the start of an unclosed construct, else where the parser stopped."""
    problem = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    unclosed = str(getattr(exc, "context", "") or "").startswith(_UNCLOSED)
    if context is not None and unclosed and (problem is None or context.line < problem.line):
        return context  # type: ignore[no-any-return]
    return problem  # type: ignore[no-any-return]


def error_line(exc: yaml.YAMLError) -> int | None:
    """1-based line of the mistake."""
    mark = error_mark(exc)
    return mark.line + 1 if mark is not None else None


def excerpt(text: str, exc: yaml.YAMLError) -> str:
    """The line of the mistake, numbered, with a caret under its column (empty if the error has no place)."""
    mark = error_mark(exc)
    lines = text.splitlines()
    if mark is None or not 0 <= mark.line < len(lines):
        return ""
    number = str(mark.line + 1)
    return f"\n    {number} | {lines[mark.line]}\n    {' ' * len(number)} | {' ' * mark.column}^"


def describe(exc: yaml.YAMLError) -> str:
    """What is wrong, in PyYAML's words (the construct that is not closed, then what the parser found)."""
    problem = str(getattr(exc, "problem", "") or exc)
    context = str(getattr(exc, "context", "") or "")
    if context.startswith(_UNCLOSED):
        construct = context.removeprefix("while parsing ").removeprefix("while scanning ").replace("scalar", "string")
        return f"{construct} that starts here is not closed ({problem})"
    return problem


__all__ = ["describe", "error_line", "error_mark", "excerpt"]
