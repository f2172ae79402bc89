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


@pytest.mark.parametrize(("spec", "message"), [
    ({"e164": 1}, "transform 'e164' takes {region: XX}, a two-letter ISO country code"),
    ({"split": 1}, "transform 'split' takes a non-empty separator string, e.g. {split: ';'}"),
    ({"join": 1}, "transform 'join' takes a separator string, e.g. {join: ', '}"),
    ({"sha256": 1}, "transform 'sha256' takes {normalize: true|false, rehash: true|false}"),
])
def test_the_number_1_is_no_option_of_a_transform_with_options(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        build_transform(spec)
    assert str(info.value) == message
