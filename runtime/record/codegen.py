"""A tiny helper for generating Python functions: values go into a namespace, never into source.

Generated source only ever contains identifiers we made up and Python syntax; every string,
number or object that came from a spec, a config or a record is bound to a name in the
namespace. That keeps generated code safe from injection and easy to read in a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CodeGen:
    def __init__(self) -> None:
        self.ns: dict[str, Any] = {}
        self.lines: list[str] = []
        self._n = 0

    def const(self, value: Any, prefix: str = "c") -> str:
        self._n += 1
        name = f"_{prefix}{self._n}"
        self.ns[name] = value
        return name

    def var(self, prefix: str = "v") -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def emit(self, line: str, indent: int = 1) -> None:
        self.lines.append("    " * indent + line)

    def build(self, name: str, signature: str, filename: str) -> tuple[Callable[..., Any], str]:
        source = f"def {name}({signature}):\n" + "\n".join(self.lines or ["    pass"])
        exec(compile(source, filename, "exec"), self.ns)
        return self.ns[name], source
