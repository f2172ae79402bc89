"""Jinja2 templates, sandboxed and compiled once.

User templates run in an `ImmutableSandboxedEnvironment` (no attribute tricks, no mutation of
the record), with `StrictUndefined` (a typo is an error, not an empty string), no loader (so
`include`, `import` and `extends` cannot reach any file) and a cap on the output size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from destkit.mapping.errors import DestkitError

MAX_OUTPUT_CHARS = 65_536


class TemplateError(DestkitError, ValueError):
    """A template that does not compile, renders an undefined name, or breaks the sandbox."""


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        loader=None,
        keep_trailing_newline=False,
    )
    # No filter or global that can reach the outside world; `range` is bounded by the sandbox.
    env.globals.pop("cycler", None)
    env.globals.pop("joiner", None)
    env.globals.pop("namespace", None)
    return env


_ENV = _environment()


class Template:
    """A compiled template; `render(context)` returns a string no longer than the cap."""

    __slots__ = ("_template", "max_chars", "source")

    def __init__(self, source: str, max_chars: int = MAX_OUTPUT_CHARS) -> None:
        self.source = source
        self.max_chars = max_chars
        try:
            self._template = _ENV.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"template does not compile: {exc.message} (template line {exc.lineno})") from None

    def render(self, context: Mapping[str, Any]) -> str:
        try:
            out = self._template.render(context)
        except SecurityError as exc:
            raise TemplateError(f"template tried something the sandbox forbids: {exc}") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template uses an undefined value: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template failed: {exc}") from None
        except (TypeError, ValueError, ArithmeticError, OverflowError) as exc:
            raise TemplateError(f"template failed: {type(exc).__name__}: {exc}") from None
        if len(out) > self.max_chars:
            raise TemplateError(f"template output is {len(out)} characters, over the limit of {self.max_chars}")
        return out


def render_once(source: str, context: Mapping[str, Any]) -> str:
    """Compile and render in one go, for strings rendered once per sync (base URL, paths)."""
    return Template(source).render(context)
