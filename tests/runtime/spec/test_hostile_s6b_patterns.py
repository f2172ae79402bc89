"""A field's `pattern` is checked where it is written: one that does not compile, or that backtracks
exponentially on a long value (`(a+)+$`, which would stall a sync on one record), is a spec error
naming the field; a nested repetition that ends each turn on a separator is fine."""

from __future__ import annotations

from pathlib import Path

import pytest

from destkit.runtime.errors import SpecError
from destkit.runtime.spec.loader import parse_spec
from destkit.runtime.spec.regex_risk import nested_repetition

HELLO_CHARLES = (Path(__file__).parents[3] / "specs" / "hello_charles.yaml").read_text(encoding="utf-8")
PERSON_ID = 'pattern: "^[A-Za-z0-9-]{1,64}$"'


def with_person_id_pattern(pattern: str) -> str:
    assert HELLO_CHARLES.count(PERSON_ID) == 1
    return HELLO_CHARLES.replace(PERSON_ID, f"pattern: {pattern!r}")


def only_issue(text: str) -> tuple[str, str, int | None]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "hc.yaml")
    [issue] = caught.value.issues
    return issue.key, issue.message, issue.line


def test_a_pattern_that_does_not_compile_is_an_error_on_the_fields_own_line() -> None:
    key, message, line = only_issue(with_person_id_pattern("([a-"))
    assert key == "actions.delete_contacts.fields.person_id.pattern"
    assert message == "Value error, '([a-' is not a regular expression: unterminated character set at position 1."
    assert line == with_person_id_pattern("([a-").splitlines().index("        pattern: '([a-'") + 1


def test_a_repeated_repetition_is_an_error_naming_the_part_and_the_fix() -> None:
    key, message, _line = only_issue(with_person_id_pattern("^(a+)+$"))
    assert key == "actions.delete_contacts.fields.person_id.pattern"
    assert message == (
        "Value error, (a+)+ repeats a repetition: on a long value that does not match, Python's regular expressions "
        "try every way to split it (40 characters take hours) and the sync stalls on it; repeat once "
        "(a+ for (a+)+), or end each turn on a character the repeated part cannot match (([a-z]+\\.)*).")


def test_a_repetition_ending_each_turn_on_a_separator_loads() -> None:
    spec = parse_spec(with_person_id_pattern("^([a-z0-9]+-)*[a-z0-9]+$"), "hc.yaml")
    assert spec.actions["delete_contacts"].fields["person_id"].pattern == "^([a-z0-9]+-)*[a-z0-9]+$"


@pytest.mark.parametrize(("pattern", "part"), [
    ("^(a+)+$", "(a+)+"),
    ("^(a*)*$", "(a*)*"),
    ("^(\\w+\\s?)*$", "(\\w+\\s?)*"),
    ("^(?:\\d+,?)+$", "(?:\\d+,?)+"),
    ("^(?P<word>[^]]+){2,}$", "(?P<word>[^]]+){2,}"),
    ("^((a+))+$", "((a+))+"),
    ("^(a|a+)+$", "(a|a+)+"),
])
def test_nested_repetition_names_the_part_that_backtracks(pattern: str, part: str) -> None:
    assert nested_repetition(pattern) == part


@pytest.mark.parametrize("pattern", [
    "^([a-z]+\\.)*[a-z]+$", "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", "^(a+)?$", "^[(a+)+]$", "^\\(a+\\)+$",
    "^(ab)+$", "^https?://[^\\s]+$", "^x{$", "^a{2}b+$",
])
def test_nested_repetition_passes_patterns_that_cannot_split_a_run_two_ways(pattern: str) -> None:
    assert nested_repetition(pattern) is None

