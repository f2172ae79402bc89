"""Filters whose time grows faster than their input take at most MAX_SLOW_FILTER_CHARS of it.

`striptags` over 300,000 tags took 12 s and `wordwrap(1)` over one 500,000-character word 8 s, each
in one call no deadline interrupts; `urlize` made 3.3 million characters of 600,000. A template's
output is at most 65,536 characters, so more input than that is refused, naming the filter.
"""

from __future__ import annotations

import pytest

from destkit.mapping import Template, TemplateError
from destkit.mapping.template_limits import MAX_SLOW_FILTER_CHARS


@pytest.mark.parametrize(("filter_call", "text"), [("striptags", "'<a>' * 300000"), ("wordwrap(1)", "'a' * 500000"),
                                                   ("urlize", "'a@b.c ' * 100000")])
def test_a_slow_filter_given_more_than_its_limit_is_refused_at_once(filter_call: str, text: str) -> None:
    with pytest.raises(TemplateError) as info:  # refused before the filter runs: no timing asserted (load varies it)
        Template(f"{{{{ ({text})|{filter_call} }}}}").render({})
    name = filter_call.split("(")[0]
    assert str(info.value).startswith(f"template filter {name} is given ")
    assert str(info.value).endswith(f" characters, over its limit of {MAX_SLOW_FILTER_CHARS:,} (its time grows faster "
                                    "than its input)")


def test_a_slow_filter_within_its_limit_works() -> None:
    assert Template("{{ text|striptags }} {{ 'ab cd'|wordwrap(2) }}").render({"text": "<b>bold</b>"}) == "bold ab\ncd"

