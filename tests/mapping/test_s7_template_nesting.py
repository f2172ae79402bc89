"""Templates that build a small value standing for a huge one: lists of lists sharing their items.

`[[1]*1000]*1000` is 1,000 references to one list, sized 1,000 by its length, but it prints as a
million numbers; one more level is a billion, which `str`, `tojson`, `pprint`, `join` or `==`
walk in one C call that no step count or deadline interrupts (the render hung, past any limit).
So a list, tuple or mapping is sized with every shared part counted each time it appears (its
expanded size) when it is built: by `*` and `+`, by a literal, and by a filter or call that makes
one. Each failure is a TemplateError, raised before the work is done; so are `str.translate` with long
replacements, `sum` of lists, a filter given the wrong kind of value and a number too long to print.
"""

from __future__ import annotations

import pytest

from destkit.mapping import Template, TemplateError
from destkit.mapping.template_limits import MAX_VALUE_CHARS

OVER = f"over the limit of {MAX_VALUE_CHARS:,}"


def failure(source: str, **context: object) -> str:
    with pytest.raises(TemplateError) as info:  # refused before the work: no timing asserted (it varies with load)
        Template(source).render(context)
    return str(info.value)


@pytest.mark.parametrize("use", ["{{ x }}", "{{ x|string }}", "{{ x|tojson }}", "{{ x|pprint }}", "{{ 'a' ~ x }}",
                                 "{{ x|join(',') }}", "{{ x == y }}"])
def test_a_list_repeating_a_nested_list_is_refused_when_built(use: str) -> None:
    source = "{% set x = [[[1]*1000]*1000]*1000 %}{% set y = [[[1]*1000]*1000]*1000 %}" + use
    assert failure(source) == f"template would build a value of 1,001,001,000 characters, {OVER}"


def test_list_literals_doubling_a_list_are_refused_when_built() -> None:
    doubled = "".join("{% set x = [x, x] %}" for _ in range(25))
    message = failure("{% set x = [1] %}" + doubled + "{{ x }}")
    assert message.startswith("template would build a list or mapping of ") and message.endswith(
        f"items and characters once each repeated part is counted, {OVER}")


def test_a_mapping_literal_repeating_a_big_value_is_refused() -> None:
    message = failure("{% set x = 'a' * 600000 %}{% set d = {'a': x, 'b': x} %}{{ d }}")
    assert message == f"template would build a list or mapping of 1,200,006 items and characters once each repeated part is counted, {OVER}"


def test_a_filter_that_materializes_repeated_references_is_refused() -> None:
    message = failure("{% set x = [1] * 1000 %}{{ ([none] * 2000)|map('default', x, true)|list }}")
    assert message == f"template would build a list or mapping of 2,002,000 items and characters once each repeated part is counted, {OVER}"


def test_a_container_handed_to_a_filter_again_and_again_counts_each_time() -> None:
    source = "{% set x = [[1] * 1000] * 1000 %}{{ ([none] * 1000)|map('default', x, true)|map('string')|join }}"
    assert failure(source) == "template would build more than 8,388,608 characters in one render"


def test_a_call_that_builds_a_mapping_of_repeated_values_is_refused() -> None:
    message = failure("{% set x = 'a' * 600000 %}{{ dict(a=x, b=x) }}")
    assert "1,200,006 items and characters" in message


def test_a_long_string_repeated_in_a_list_is_sized_by_its_characters() -> None:
    assert failure("{{ ['x' * 1000000] * 1000 }}") == f"template would build a value of 1,000,001,000 characters, {OVER}"


def test_nested_lists_within_the_limit_are_built_and_printed() -> None:
    assert Template("{{ ([[1, 2]] * 3)|tojson }} {{ [[a, a], [a]]|length }}").render({"a": "x"}) == "[[1, 2], [1, 2], [1, 2]] 2"


def test_translate_with_long_replacements_is_refused_before_it_runs() -> None:
    assert failure("{{ ('a' * 1000).translate({97: 'x' * 1000000}) }}") == (
        f"template would build a value of 1,000,000,000 characters, {OVER}")


def test_translate_with_short_replacements_works() -> None:
    assert Template("{{ name.translate({97: 'A'}) }}").render({"name": "anna"}) == "AnnA"


def test_sum_of_lists_is_refused_for_its_quadratic_time() -> None:
    assert failure("{{ ([[1]] * 500000)|sum(start=[]) }}") == (
        "template sum adds numbers: its start must be a number, not a list (use |batch or a loop to combine lists)")


def test_a_filter_given_the_wrong_kind_of_value_is_a_template_error() -> None:
    assert failure("{{ [1, 2]|xmlattr }}") == "template failed: AttributeError: 'list' object has no attribute 'items'"


def test_a_number_too_long_to_print_is_named_without_python_advice() -> None:
    with pytest.raises(TemplateError) as info:
        Template("{{ 10 ** 30000 }}").render({})
    assert str(info.value) == "template would print a number of more than 4,300 digits; keep the numbers it computes smaller"
