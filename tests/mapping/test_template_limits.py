"""A template render is bounded before it allocates: size, work and time.

The Jinja sandbox keeps a template away from Python's internals, but `'x' * 10**9`,
`'x'|center(10**9)` or two nested 100,000-item loops are legal Jinja that take seconds and
gigabytes. Every operation that can grow a value is sized before it runs (at most
`MAX_VALUE_CHARS` per value, `MAX_RENDER_CHARS` in all), every loop iteration and call is a step
(at most `MAX_STEPS`), each render has a deadline, and the output stops at its cap as it is
produced. A template that goes over fails with a TemplateError, which a mapping turns into that
record's `mapping_error` outcome.
"""

from __future__ import annotations

import contextlib
import os
import re
import tracemalloc
from importlib.metadata import version
from pathlib import Path

import pytest

from destkit.mapping import Template, TemplateError
from destkit.mapping.template_limits import MAX_RENDER_CHARS, MAX_SECONDS, MAX_STEPS, MAX_VALUE_CHARS

ROOT = Path(__file__).resolve().parents[2]
OVER_VALUE = f"over the limit of {MAX_VALUE_CHARS:,}"


def failure(source: str, **context: object) -> str:
    """The message of the TemplateError `source` raises when rendered with `context`."""
    with pytest.raises(TemplateError) as info:
        Template(source).render(context)
    return str(info.value)


def peak_bytes(source: str) -> int:
    """The most memory (traced by tracemalloc) rendering `source` took, failing or not."""
    tracemalloc.start()
    try:
        with contextlib.suppress(TemplateError):
            Template(source).render({})
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_limits() -> None:
    assert (MAX_VALUE_CHARS, MAX_RENDER_CHARS, MAX_STEPS, MAX_SECONDS) == (1_048_576, 8_388_608, 200_000, 1.0)


# --- values sized before they are built --------------------------------------------------------


def test_string_repetition_over_the_value_limit_is_refused() -> None:
    assert failure("{{ 'x' * 10**9 }}") == f"template would build a value of 1,000,000,000 characters, {OVER_VALUE}"


def test_string_repetition_is_refused_before_the_string_is_built() -> None:
    assert peak_bytes("{{ 'x' * 10**9 }}") < 5_000_000


def test_list_repetition_over_the_value_limit_is_refused() -> None:
    assert failure("{{ ([1, 2] * 10**8)|length }}") == f"template would build a value of 200,000,000 characters, {OVER_VALUE}"


def test_the_center_filter_with_a_huge_width_is_refused() -> None:
    assert failure("{{ 'x'|center(400000000) }}") == f"template would build a value of 400,000,000 characters, {OVER_VALUE}"


def test_the_indent_filter_with_a_huge_indent_is_refused() -> None:
    assert failure("{{ 'a\nb'|indent(10**8) }}") == f"template would build a value of 200,000,003 characters, {OVER_VALUE}"


def test_the_wordwrap_filter_with_a_huge_wrapstring_is_refused() -> None:
    message = failure("{{ text|wordwrap(1, wrapstring='-' * 100000) }}", text="abcdefghijklmnopqrstuvwxyz")
    assert message == f"template would build a value of 2,600,026 characters, {OVER_VALUE}"


def test_a_str_method_that_pads_is_refused() -> None:
    assert failure("{{ 'x'.ljust(10**9) }}") == f"template would build a value of 1,000,000,000 characters, {OVER_VALUE}"


def test_a_printf_width_over_the_limit_is_refused() -> None:
    assert failure("{{ '%0999999999d'|format(1) }}") == f"template format width 999,999,999 is {OVER_VALUE}"
    assert failure("{{ '%0999999999d' % 1 }}") == f"template format width 999,999,999 is {OVER_VALUE}"


def test_a_printf_width_taken_from_an_argument_is_refused() -> None:
    assert "'*'" in failure("{{ '%*d' % (999999999, 1) }}")


def test_a_str_format_width_over_the_limit_is_refused() -> None:
    assert failure("{{ '{:>999999999}'.format(1) }}") == f"template format width 999,999,999 is {OVER_VALUE}"


def test_a_str_format_width_taken_from_an_argument_is_refused() -> None:
    assert failure("{{ '{:>{}}'.format(1, 999999999) }}") == (
        "template format widths must be written out, not taken from an argument")


def test_replace_that_multiplies_the_text_is_refused() -> None:
    source = "{{ 'abcd'|replace('', 'x' * 1000)|replace('', 'x' * 1000) }}"
    assert failure(source) == f"template would build a value of 5,010,004 characters, {OVER_VALUE}"


def test_doubling_a_string_with_set_and_tilde_is_refused() -> None:
    source = "{% set a = 'xxxxxxxxxx' %}" + "{% set a = a ~ a %}" * 40 + "{{ a|length }}"
    assert failure(source) == f"template would build a value of 1,310,720 characters, {OVER_VALUE}"


def test_doubling_a_string_with_set_and_plus_is_refused() -> None:
    source = "{% set a = 'xxxxxxxxxx' %}" + "{% set a = a + a %}" * 40 + "{{ a|length }}"
    assert failure(source) == f"template would build a value of 1,310,720 characters, {OVER_VALUE}"


def test_joining_with_a_big_separator_is_refused() -> None:
    assert failure("{{ range(1000)|join('x' * 100000) }}") == (
        f"template would build a value of 99,900,000 characters, {OVER_VALUE}")


def test_many_values_each_under_the_limit_are_refused_in_total() -> None:
    assert failure("{{ range(1000)|map('center', 1000000)|join }}") == (
        f"template would build more than {MAX_RENDER_CHARS:,} characters in one render")


def test_a_huge_power_is_refused() -> None:
    assert failure("{{ 2 ** (10 ** 9) }}") == "template would compute a number of about 1,000,000,000 bits, over the limit of 100,000"


# --- work and time -----------------------------------------------------------------------------


def test_nested_loops_stop_after_the_step_limit() -> None:
    source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    assert failure(source) == f"template ran more than {MAX_STEPS:,} loop iterations and calls; simplify it"


def test_loops_over_record_values_count_too() -> None:
    source = "{% for a in text %}{% for b in text %}{% endfor %}{% endfor %}"
    assert failure(source, text="x" * 1000) == f"template ran more than {MAX_STEPS:,} loop iterations and calls; simplify it"


def test_a_render_past_its_deadline_stops() -> None:
    with pytest.raises(TemplateError) as info:
        Template("{% for i in range(3) %}{{ i }}{% endfor %}", max_seconds=0).render({})
    assert str(info.value) == "template ran longer than its limit of 0 s; simplify it"


def test_output_stops_at_the_cap_as_it_is_produced() -> None:
    assert failure("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}") == (
        "template output is over the limit of 65,536 characters")


@pytest.mark.parametrize("source, construct", [
    ("{% macro m() %}x{% endmacro %}{{ m() }}", "{% macro %}"),
    ("{% set a %}x{% endset %}", "a {% set %} block"),
    ("{% filter upper %}x{% endfilter %}", "{% filter %}"),
    ("{% with a = 1 %}{{ a }}{% endwith %}", "{% with %}"),
    ("{% block b %}x{% endblock %}", "{% block %}"),
])
def test_constructs_that_render_into_hidden_buffers_are_refused_when_compiled(source: str, construct: str) -> None:
    with pytest.raises(TemplateError) as info:
        Template(source)
    assert str(info.value) == (f"template line 1: {construct} is not allowed; use {{{{ expressions }}}}, "
                               "{% if %}, {% for %} and {% set x = ... %}")


def test_recursive_loops_are_refused_when_compiled() -> None:
    with pytest.raises(TemplateError) as info:
        Template("{% for x in items recursive %}{{ loop(x) }}{% endfor %}")
    assert str(info.value) == "template line 1: recursive loops are not allowed"


def test_lipsum_is_not_available() -> None:
    assert failure("{{ lipsum(100000, False, 1000, 1000) }}") == "template uses an undefined value: 'lipsum' is undefined"


# --- what still works ----------------------------------------------------------------------------


def test_ordinary_templates_render_as_before() -> None:
    source = ("{% set full = first ~ ' ' ~ last %}{{ full|title }}: "
              "{% for t in tags if t != 'x' %}{{ loop.index }}={{ t|upper }}{{ ',' if not loop.last }}{% endfor %} "
              "{{ '%05d'|format(7) }} {{ '{:>4}'.format(n) }} {{ 'ab' * 2 }} {{ tags|join('|') }} {{ 2 ** 10 }}")
    out = Template(source).render({"first": "ann", "last": "lee", "tags": ["vip", "x", "news"], "n": 42})
    assert out == "Ann Lee: 1=VIP,2=NEWS 00007   42 abab vip|x|news 1024"


def test_values_up_to_the_limit_are_built() -> None:
    assert Template("{{ ('x' * 1048576)|length }}").render({}) == "1048576"


# --- the Jinja floor --------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    # CVE-2025-27516: under Jinja 3.1.5 the attr filter reached str.format outside the sandbox
    '{{ "{0.__globals__[os].environ[DESTKIT_CANARY_ENV]}"|attr("format")(lipsum) }}',
    '{{ "{0.__globals__[os].environ[DESTKIT_CANARY_ENV]}"|attr("format")(fn) }}',
    '{{ "{0.__globals__[os].environ[DESTKIT_CANARY_ENV]}".format(fn) }}',
])
def test_the_attr_format_sandbox_escape_fails_and_shows_no_environment_variable(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTKIT_CANARY_ENV", "canary-value-7f3a")
    with pytest.raises(TemplateError) as info:
        Template(source).render({"fn": failure})  # a function whose __globals__ hold `os`
    assert "canary-value-7f3a" not in str(info.value)
    assert os.environ["DESTKIT_CANARY_ENV"] == "canary-value-7f3a"


def test_the_package_requires_a_jinja_without_the_attr_format_escape() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"jinja2>=3\.1\.6"', pyproject)
    assert tuple(int(p) for p in version("jinja2").split(".")[:3]) >= (3, 1, 6)
