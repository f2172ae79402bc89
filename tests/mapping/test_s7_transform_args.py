"""A transform that takes no arguments refuses every argument, 1 and 0.0 too (1 == True let {lower: 1} through)."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.mapping.transforms import build_transform


@pytest.mark.parametrize("args", [1, 1.0, 0, 0.0, "x", [1]])
def test_an_argument_to_a_transform_without_arguments_is_refused(args: Any) -> None:
    with pytest.raises(ValueError) as info:
        build_transform({"lower": args})
    assert str(info.value) == "transform 'lower' takes no arguments"


@pytest.mark.parametrize("args", [None, {}, True])
def test_no_argument_written_as_null_an_empty_mapping_or_true_is_accepted(args: Any) -> None:
    assert build_transform({"lower": args})("AbC") == "abc"
