"""`first_line`: a library's error message made one line of ours (the readers' messages quote it)."""

from __future__ import annotations

from destkit.runtime.errors import first_line


def test_the_first_non_empty_line_is_kept_without_colour_codes() -> None:
    assert first_line(OSError("\n  \x1b[31mGeneric error\x1b[0m: gone \n↳ detail")) == "Generic error: gone"


def test_an_error_without_a_message_is_named_by_its_class() -> None:
    assert first_line(ValueError()) == "ValueError"
