"""Jinja2 templates, sandboxed, bounded and compiled once.

User templates run in an `ImmutableSandboxedEnvironment` (no attribute tricks, no mutation of
the record), with `StrictUndefined` (a typo is an error, not an empty string) and no loader (so
`include`, `import` and `extends` cannot reach any file). What a render may build and how long it
may run is bounded before anything is allocated (`destkit.mapping.template_limits`), and the
output is capped as it is produced.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from destkit.mapping.errors import TemplateError
from destkit.mapping.template_limits import (
    GUARD_FILTERS,
    MAX_SECONDS,
    bounded_filters,
    check_binop,
    checked_call_args,
    end_budget,
    guard_template,
    sized_container,
    start_budget,
)

MAX_OUTPUT_CHARS = 65_536

__all__ = ["MAX_OUTPUT_CHARS", "Template", "TemplateError", "render_once"]


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with the operators and calls that can grow a value sized before they run."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        args = checked_call_args(obj, args, kwargs)
        return sized_container(super().call(context, obj, *args, **kwargs))  # dict(a=x, b=x) holds x twice


def _environment() -> _BoundedEnvironment:
    env = _BoundedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        loader=None,
        keep_trailing_newline=False,
    )
    # No global that can reach the outside world or produce text by the megabyte; `range` is the
    # sandbox's (at most 100,000 items), and its loops are counted like any other.
    for name in ("cycler", "joiner", "namespace", "lipsum"):
        env.globals.pop(name, None)
    env.filters = {**bounded_filters(env.filters), **GUARD_FILTERS}
    return env


_ENV = _environment()


def _compile(source: str) -> jinja2.Template:
    try:
        parsed = _ENV.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template does not compile: {exc.message} (template line {exc.lineno})") from None
    guarded = guard_template(parsed)
    guarded.set_environment(_ENV)
    try:
        return _ENV.from_string(guarded)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template does not compile: {exc.message} (template line {exc.lineno})") from None


class Template:
    """A compiled template; `render(context)` returns a string no longer than the cap."""

    __slots__ = ("_template", "max_chars", "max_seconds", "source")

    def __init__(self, source: str, max_chars: int = MAX_OUTPUT_CHARS, max_seconds: float = MAX_SECONDS) -> None:
        self.source = source
        self.max_chars = max_chars
        self.max_seconds = max_seconds
        self._template = _compile(source)

    def render(self, context: Mapping[str, Any]) -> str:
        token = start_budget(self.max_seconds)
        try:
            return self._produce(context)
        except TemplateError:
            raise
        except SecurityError as exc:
            raise TemplateError(f"template tried something the sandbox forbids: {exc}") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template uses an undefined value: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template failed: {exc}") from None
        except ValueError as exc:
            if "integer string conversion" in str(exc):  # Python's words advise sys.set_int_max_str_digits()
                raise TemplateError(f"template would print a number of more than {sys.get_int_max_str_digits():,} "
                                    "digits; keep the numbers it computes smaller") from None
            raise TemplateError(f"template failed: ValueError: {exc}") from None
        except Exception as exc:  # a filter given the wrong kind of value (`[1]|xmlattr`: AttributeError), ...
            raise TemplateError(f"template failed: {type(exc).__name__}: {exc}") from None
        finally:
            end_budget(token)

    def _produce(self, context: Mapping[str, Any]) -> str:
        """The output, piece by piece, stopped as soon as it passes the cap."""
        parts: list[str] = []
        size = 0
        for part in self._template.root_render_func(self._template.new_context(dict(context))):
            size += len(part)
            if size > self.max_chars:
                raise TemplateError(f"template output is over the limit of {self.max_chars:,} characters")
            parts.append(part)
        return "".join(parts)


def render_once(source: str, context: Mapping[str, Any]) -> str:
    """Compile and render in one go, for strings rendered once per sync (base URL, paths)."""
    return Template(source).render(context)
