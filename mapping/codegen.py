"""A tiny helper for generating Python functions: values go into a namespace, never into source.

Generated source only ever contains identifiers we made up and Python syntax; every string,
number or object that came from a spec, a config or a record is bound to a name in the
namespace. That keeps generated code safe from injection and easy to read in a traceback.

One `CodeGen` is one namespace with one name counter, shared by every function built from it.
The mapping compiler builds its functions in one, and the record compiler continues it with
`child()`, so the mapping's expressions can be inlined next to the checks with no name clash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CodeGen:
    """The lines of the function being generated, and the namespace its names are bound in."""

    def __init__(self, ns: dict[str, Any] | None = None, counter: int = 0) -> None:
        self.ns: dict[str, Any] = {} if ns is None else ns
        self.lines: list[str] = []
        self._n = counter

    def const(self, value: Any, prefix: str = "c") -> str:
        """A new global name (`_<prefix><n>`) bound to `value`."""
        self._n += 1
        name = f"_{prefix}{self._n}"
        self.ns[name] = value
        return name

    def var(self, prefix: str = "v") -> str:
        """A new local variable name, unique across every function built from this namespace."""
        self._n += 1
        return f"{prefix}{self._n}"

    def bind(self, name: str, value: Any) -> str:
        """Bind a helper under a fixed name (it must not end in a digit, so no made-up name can clash).

        Binding a name twice is fine if it is the same object; another object would silently
        change code already generated, so that is refused.
        """
        if self.ns.get(name, value) is not value:
            raise ValueError(f"generated-code name {name} is already bound to something else")
        self.ns[name] = value
        return name

    def emit(self, line: str, indent: int = 1) -> None:
        self.lines.append("    " * indent + line)

    def build(self, name: str, signature: str, filename: str) -> tuple[Callable[..., Any], str]:
        """Compile the lines emitted so far as `def name(signature)`; they are consumed, so the
        next function starts empty. Returns the function and its source."""
        source = f"def {name}({signature}):\n" + "\n".join(self.lines or ["    pass"])
        self.lines = []
        exec(compile(source, filename, "exec"), self.ns)
        return self.ns[name], source

    def child(self) -> CodeGen:
        """A new CodeGen that sees every name bound here and makes no name already made here.

        The namespace is copied, not shared, so building from the child never changes this one.
        """
        return CodeGen(dict(self.ns), self._n)
