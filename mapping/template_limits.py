"""What one template render may build, and for how long: checked before anything is allocated.

The sandbox stops a template from reaching Python's internals, not from asking for a gigabyte:
`'x' * 10**9`, `'x'|center(10**9)`, `'%0999999999d'|format(1)` or two nested 100,000-item loops
are all legal Jinja. So every operation that can make a value bigger than its inputs is sized
*before* it runs (`*`, `+`, `~`, `%`, `**`, the padding and joining filters and str methods),
and each render has a budget (`RenderBudget`): at most `MAX_VALUE_CHARS` per value,
`MAX_RENDER_CHARS` built in all, `MAX_STEPS` loop iterations and calls, and a deadline. The
budget is counted on the render's own thread (a context variable): no thread or signal per
record.

A list, tuple or mapping is sized by its expanded size (`expanded_size`): every shared part counted
each time it appears, as `str`, `tojson` or `==` will walk it. `[[1]*1000]*1000` is a thousand
references to one list but prints a million numbers, and one level more is a billion, walked in
one C call no step count or deadline interrupts; so a container is sized when it is built (by
`*` and `+`, a literal, a filter that materializes one, a call), never only when it is printed.

The hooks are wired in by `destkit.mapping.templates`: binary operators and calls through the
sandbox's `call_binop`/`call`, filters by wrapping them, loops, `~` and list/tuple/mapping literals
by rewriting the parsed template (`guard_template`) to pass through filters of ours (`GUARD_FILTERS`). Templates may use expressions,
`{% if %}`, `{% for %}` and `{% set x = ... %}`; macros, call/filter/set blocks, `with` and
recursive loops (which render into hidden buffers, out of reach of these checks) are refused.
"""

from __future__ import annotations

import functools
import math
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar, Token
from typing import Any

from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from destkit.mapping.errors import TemplateError

MAX_VALUE_CHARS = 1 << 20  # characters (or list items) in one value a template builds
MAX_RENDER_CHARS = 8 << 20  # characters built by size-checked operations in one render
MAX_STEPS = 200_000  # loop iterations and calls in one render
MAX_SECONDS = 1.0  # wall-clock time of one render
MAX_INT_BITS = 100_000  # size of a number `**` may compute
MAX_JSON_INDENT = 16
MAX_SLOW_FILTER_CHARS = 65_536  # input of a filter whose time grows faster than its input (striptags, wordwrap)

_SEQUENCES = (str, bytes, list, tuple)
_CONTAINERS = (list, tuple, dict)


class RenderBudget:
    """What is left of one render's allowance; every check goes through `step` or `take`."""

    __slots__ = ("chars_left", "deadline", "seconds", "steps_left")

    def __init__(self, seconds: float = MAX_SECONDS) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.steps_left = MAX_STEPS
        self.chars_left = MAX_RENDER_CHARS

    def step(self) -> None:
        """One loop iteration or call; the clock is read every 16 steps (and on the first)."""
        self.steps_left -= 1
        if self.steps_left & 15 == 15:
            self._check()

    def _check(self) -> None:
        if self.steps_left < 0:
            raise TemplateError(f"template ran more than {MAX_STEPS:,} loop iterations and calls; simplify it")
        if time.monotonic() > self.deadline:
            raise TemplateError(f"template ran longer than its limit of {self.seconds:g} s; simplify it")

    def take(self, size: int) -> None:
        """A value of `size` characters (or items) is about to be built."""
        if size > MAX_VALUE_CHARS:
            raise TemplateError(f"template would build a value of {size:,} characters, "
                                f"over the limit of {MAX_VALUE_CHARS:,}")
        self.chars_left -= size
        if self.chars_left < 0:
            raise TemplateError(f"template would build more than {MAX_RENDER_CHARS:,} characters in one render")


_BUDGET: ContextVar[RenderBudget] = ContextVar("destkit_template_budget")


def start_budget(seconds: float = MAX_SECONDS) -> Token[RenderBudget]:
    """A fresh budget for the render about to run on this thread; pass the token to `end_budget`."""
    return _BUDGET.set(RenderBudget(seconds))


def end_budget(token: Token[RenderBudget]) -> None:
    _BUDGET.reset(token)


def current_budget() -> RenderBudget:
    budget = _BUDGET.get(None)
    if budget is None:
        raise TemplateError("template rendered outside Template.render, so without its limits")
    return budget


# --- sizes of operations, before they run --------------------------------------------------------


def _size(value: Any) -> int:
    return len(value) if isinstance(value, _SEQUENCES) else 0


def _parts(container: Any) -> list[Any]:
    return [*container.keys(), *container.values()] if isinstance(container, dict) else list(container)


def _part_size(part: Any, sizes: dict[int, int]) -> int:
    return sizes.get(id(part), 0) if isinstance(part, _CONTAINERS) else _size(part)


def _flat_size(value: list[Any] | tuple[Any, ...]) -> int | None:
    """The expanded size of a list or tuple holding no container, or None: the common case, in one loop."""
    total = len(value)
    for part in value:
        if isinstance(part, str):
            total += len(part)
        elif isinstance(part, _CONTAINERS):
            return None
    return total


def expanded_size(value: Any) -> int:
    """Items and characters `value` stands for, every shared part counted each time it appears.

    A string is its length; a container its items plus its parts' sizes (a mapping's keys too).
    Each distinct container is walked once (its size reused), without recursion, and the walk
    stops at the first container over MAX_VALUE_CHARS: measuring costs what building did.
    """
    if not isinstance(value, _CONTAINERS):
        return _size(value)
    flat = _flat_size(value) if isinstance(value, list | tuple) else None
    if flat is not None:
        return flat
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, measured_parts = stack.pop()
        if measured_parts:
            parts = _parts(node)
            sizes[id(node)] = len(parts) + sum(_part_size(part, sizes) for part in parts)
            if sizes[id(node)] > MAX_VALUE_CHARS:
                return sizes[id(node)]
        elif id(node) not in sizes:
            sizes[id(node)] = 0  # being measured: a cycle (no template can make one) counts as nothing
            stack.append((node, True))
            stack.extend((part, False) for part in _parts(node) if isinstance(part, _CONTAINERS))
    return sizes[id(value)]


def sized_container(value: Any) -> Any:
    """`value`, refused if it is a container whose expanded size is over the limit."""
    if isinstance(value, _CONTAINERS):
        size = expanded_size(value)
        if size > MAX_VALUE_CHARS:
            raise TemplateError(f"template would build a list or mapping of {size:,} items and characters once each "
                                f"repeated part is counted, over the limit of {MAX_VALUE_CHARS:,}")
    return value


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `*`, `+`, `%` and `**` whose result would be over the limits, before computing it."""
    budget = current_budget()
    budget.step()
    if operator == "*":
        times, seq = (right, left) if isinstance(left, _SEQUENCES) else (left, right)
        if isinstance(seq, _SEQUENCES) and isinstance(times, int):
            budget.take(expanded_size(seq) * max(times, 0))
    elif operator == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            budget.take(expanded_size(left) + expanded_size(right))
    elif operator == "%":
        if isinstance(left, str):
            check_percent_format(left)
    elif operator == "**":
        _check_power(left, right)


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        bits = int(math.log2(abs(base)) * exponent)
        if bits > MAX_INT_BITS:
            raise TemplateError(f"template would compute a number of about {bits:,} bits, over the limit of {MAX_INT_BITS:,}")


# printf-style conversions: %[(name)][flags][width][.precision][length]type
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def check_percent_format(fmt: str) -> None:
    """`'%09999999d' % 1` pads to the width given: refuse widths over the limit and `*` widths."""
    for width, precision in _PERCENT_SPEC.findall(fmt):
        _check_widths(width, precision)


def check_brace_format(fmt: str) -> None:
    """`'{:>999999999}'.format(1)` likewise; a width taken from an argument (`{:{}}`) is refused."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format raises the same error when called
    for _literal, _name, spec, _conversion in fields:
        if spec and "{" in spec:
            raise TemplateError("template format widths must be written out, not taken from an argument")
        for number in re.findall(r"\d+", spec or ""):
            _check_widths(number, "")


def _check_widths(*numbers: str) -> None:
    for number in numbers:
        if number == "*":
            raise TemplateError("template format widths must be written out ('*' takes them from an argument)")
        if number and int(number) > MAX_VALUE_CHARS:
            raise TemplateError(f"template format width {int(number):,} is over the limit of {MAX_VALUE_CHARS:,}")


def _replaced_size(text: str, old: Any, new: Any, count: Any) -> int:
    """The size of `text.replace(old, new, count)`: `''` as `old` matches between every character."""
    old_len, new_len = _size(old), _size(new)
    found = len(text) + 1 if old_len == 0 else len(text) // old_len
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(new_len - old_len, 0)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _padded_size(text: Any, width: Any) -> int:
    return max(_size(text), width if isinstance(width, int) else 0)


def _indented_size(text: Any, width: Any) -> int:
    per_line = width if isinstance(width, int) else _size(width)
    return _size(text) + (str(text).count("\n") + 1) * max(per_line, 0)


def _wrapped_size(text: Any, wrapstring: Any) -> int:
    # at worst a break after every character
    return _size(text) * (1 + max(_size(wrapstring), 1))


def _joined(budget: RenderBudget, separator: Any, items: Iterable[Any]) -> list[Any]:
    """`items` as a list, after checking the joined string fits."""
    listed = list(items)
    budget.take(_size(separator) * max(len(listed) - 1, 0) + expanded_size(listed) - len(listed))
    return listed


# --- filters ---------------------------------------------------------------------------------------


def _check_center(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    return _padded_size(args[0], _arg(args, kwargs, 1, "width", 80))


def _check_indent(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    return _indented_size(args[0], _arg(args, kwargs, 1, "width", 4))


def _slow(name: str, check: Callable[[tuple[Any, ...], Mapping[str, Any]], int] | None = None
          ) -> Callable[[tuple[Any, ...], Mapping[str, Any]], int]:
    """A filter whose time grows faster than its input (`striptags` over 300,000 tags: 12 s in one call) takes
    at most MAX_SLOW_FILTER_CHARS: more than a template's whole output."""

    def checked(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
        size = len(args[0]) if isinstance(args[0], str) else 0
        if size > MAX_SLOW_FILTER_CHARS:
            raise TemplateError(f"template filter {name} is given {size:,} characters, over its limit of "
                                f"{MAX_SLOW_FILTER_CHARS:,} (its time grows faster than its input)")
        return check(args, kwargs) if check is not None else 0

    return checked


def _check_wordwrap(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    return _wrapped_size(args[0], _arg(args, kwargs, 4, "wrapstring", None))


def _check_format(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    if isinstance(args[0], str):
        check_percent_format(args[0])
    return 0


def _check_replace(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    text = args[0]
    if not isinstance(text, str):
        return 0
    return _replaced_size(text, _arg(args, kwargs, 1, "old", ""), _arg(args, kwargs, 2, "new", ""),
                          _arg(args, kwargs, 3, "count", None))


def _check_count_arg(index: int, name: str) -> Callable[[tuple[Any, ...], Mapping[str, Any]], int]:
    """`batch(n)` and `slice(n)` make n-item lists or n slices: n counts as the size."""

    def check(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
        n = _arg(args, kwargs, index, name, 0)
        return n if isinstance(n, int) else 0

    return check


def _check_sum(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """`sum(start=[])` concatenates lists, copying the total each time: quadratic, in one C call."""
    start = _arg(args, kwargs, 2, "start", 0)
    if not isinstance(start, int | float):
        raise TemplateError(f"template sum adds numbers: its start must be a number, not a {type(start).__name__} "
                            "(use |batch or a loop to combine lists)")
    return 0


def _check_tojson(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    indent = _arg(args, kwargs, 1, "indent", None)
    if isinstance(indent, int) and indent > MAX_JSON_INDENT:
        raise TemplateError(f"template tojson indent {indent:,} is over the limit of {MAX_JSON_INDENT}")
    return 0


_FILTER_CHECKS: dict[str, Callable[[tuple[Any, ...], Mapping[str, Any]], int]] = {
    "center": _check_center,
    "indent": _check_indent,
    "wordwrap": _slow("wordwrap", _check_wordwrap),
    "striptags": _slow("striptags"),
    "urlize": _slow("urlize"),
    "format": _check_format,
    "replace": _check_replace,
    "batch": _check_count_arg(1, "linecount"),
    "slice": _check_count_arg(1, "slices"),
    "tojson": _check_tojson,
    "sum": _check_sum,
}
# filters that make a list, tuple or mapping of what they are given: their result is sized
_MATERIALIZING = frozenset({"list", "batch", "slice", "groupby", "sort", "reverse", "unique", "dictsort", "items", "sum"})


def _passes_first_arg(fn: Any) -> bool:
    """True for filters Jinja calls with the environment or a context first (`@pass_environment`...)."""
    return getattr(fn, "jinja_pass_arg", None) is not None


def _container_sized(original: Callable[..., Any], skip: int) -> Callable[..., Any]:
    """A filter that grows nothing (`upper`, `map`...): only a container it is given is sized, as `string`,
    `tojson` or `e` walk it and `map` may hand one a thousand times (a string costs one isinstance)."""

    @functools.wraps(original)  # keeps `jinja_pass_arg`, so Jinja passes the same first argument
    def sized(*args: Any, **kwargs: Any) -> Any:
        if len(args) > skip and isinstance(args[skip], _CONTAINERS):
            current_budget().take(expanded_size(args[skip]))
        return original(*args, **kwargs)

    return sized


def _bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    check = _FILTER_CHECKS.get(name)
    skip = 1 if _passes_first_arg(original) else 0
    materializes = name in _MATERIALIZING
    if check is None and not materializes and name != "join":
        return _container_sized(original, skip)

    @functools.wraps(original)  # keeps `jinja_pass_arg`, so Jinja passes the same first argument
    def bounded(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.step()
        if name == "join" and len(args) > skip:  # `_joined` sizes what it is given
            args = (*args[:skip], _joined(budget, _arg(args[skip:], kwargs, 1, "d", ""), args[skip]), *args[skip + 1:])
        else:
            if len(args) > skip and isinstance(args[skip], _CONTAINERS):
                budget.take(expanded_size(args[skip]))
            if check is not None:
                budget.take(check(args[skip:], kwargs))
        result = original(*args, **kwargs)
        return sized_container(result) if materializes else result

    return bounded


def bounded_filters(filters: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Every filter with a container it is given sized against the render's budget; those that can grow a
    value beyond their input are also counted as a step and sized before they run (the others, `upper`,
    `map`..., give at most a few times what they are given)."""
    return {name: _bounded_filter(name, fn) for name, fn in filters.items()}


# --- calls -----------------------------------------------------------------------------------------

_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def checked_call_args(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    """Count a call as a step and size it if it is a str/bytes method that can grow a value.

    Returns the arguments to call with: `str.join`'s iterable is turned into a list to be sized.
    """
    budget = current_budget()
    budget.step()
    wrapped = getattr(obj, "__wrapped__", None)  # the sandbox's wrapper around str.format
    if wrapped is not None and getattr(wrapped, "__name__", "") in ("format", "format_map"):
        if isinstance(getattr(wrapped, "__self__", None), str):
            check_brace_format(wrapped.__self__)
        return args
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, str | bytes):
        return args
    name = getattr(obj, "__name__", "")
    if name in _PADDING_METHODS:
        budget.take(_padded_size(owner, _arg(args, kwargs, 0, "width", 0)))
    elif name == "expandtabs":
        tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
        budget.take(len(owner) + tabs * max(_arg(args, kwargs, 0, "tabsize", 8), 0))
    elif name == "replace":
        budget.take(_replaced_size(str(owner), _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", ""),
                                   _arg(args, kwargs, 2, "count", -1)))
    elif name == "join" and args:
        return (_joined(budget, owner, args[0]), *args[1:])
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1)
        budget.take(len(owner) * max(longest, 1))
    return args


# --- loops and ~, through filters whose names a template cannot write ------------------------------

# Not identifiers, so a template can neither call nor shadow them; only `guard_template` uses them.
LOOP_FILTER = "destkit:loop"
CONCAT_FILTER = "destkit:concat"
SIZED_FILTER = "destkit:sized"


def _counted_loop(iterable: Iterable[Any]) -> Iterator[Any]:
    """The items of a `{% for %}`, each counted as a step."""
    budget = current_budget()
    for item in iterable:
        budget.step()
        yield item


def _sized_concat(parts: list[Any]) -> str:
    """`a ~ b ~ c`, sized before it is joined."""
    texts = [p if isinstance(p, str) else str(p) for p in parts]
    current_budget().take(sum(len(t) for t in texts))
    return "".join(texts)


GUARD_FILTERS: dict[str, Callable[..., Any]] = {LOOP_FILTER: _counted_loop, CONCAT_FILTER: _sized_concat,
                                                SIZED_FILTER: sized_container}


_REFUSED: dict[type[nodes.Node], str] = {
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.AssignBlock: "a {% set %} block",
    nodes.With: "{% with %}",
    nodes.Block: "{% block %}",
}


class _Guard(NodeTransformer):
    @staticmethod
    def _filter(name: str, value: nodes.Node, lineno: int) -> nodes.Filter:
        return nodes.Filter(value, name, [], [], None, None, lineno=lineno)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        if node.recursive:
            raise TemplateError(f"template line {node.lineno}: recursive loops are not allowed")
        self.generic_visit(node)
        node.iter = self._filter(LOOP_FILTER, node.iter, node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._filter(CONCAT_FILTER, nodes.List(list(node.nodes), lineno=node.lineno), node.lineno)

    def _sized_literal(self, node: nodes.List | nodes.Tuple | nodes.Dict) -> nodes.Node:
        """`[x, x]` holds x twice: a literal is sized as it is built (a tuple only where it is a value)."""
        self.generic_visit(node)
        if isinstance(node, nodes.Tuple) and node.ctx != "load":
            return node
        return self._filter(SIZED_FILTER, node, node.lineno)

    visit_List = visit_Tuple = visit_Dict = _sized_literal

    def generic_visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> nodes.Node:
        refused = _REFUSED.get(type(node))
        if refused is not None:
            raise TemplateError(f"template line {node.lineno}: {refused} is not allowed; use {{{{ expressions }}}}, "
                                "{% if %}, {% for %} and {% set x = ... %}")
        return super().generic_visit(node, *args, **kwargs)


def guard_template(template: nodes.Template) -> nodes.Template:
    """The parsed template with its loops counted, `~` and literals sized; refuses the constructs above."""
    guarded = _Guard().visit(template)
    assert isinstance(guarded, nodes.Template)
    return guarded
