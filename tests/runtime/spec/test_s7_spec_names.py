"""A destination too long to be a file name (over the file system's 255 bytes) is refused as a name, not an OSError.

`destination: aaa...` (5,000 characters) was an internal error ('[Errno 36] File name too long') in
`destkit sync` and a 500 in `destkit ui`.
"""

from __future__ import annotations

import pytest

from destkit.runtime.errors import SpecError
from destkit.runtime.spec.loader import load_spec

LONG = "a" * 5000


def test_a_destination_id_too_long_for_a_file_name_is_no_bundled_destination() -> None:
    with pytest.raises(SpecError) as info:
        load_spec(LONG)
    [issue] = info.value.issues
    assert issue.message == f"'{LONG}' is not a bundled destination."


def test_a_spec_path_too_long_for_a_file_name_does_not_exist() -> None:
    with pytest.raises(SpecError) as info:
        load_spec(LONG + ".yaml", trust_spec=True)
    [issue] = info.value.issues
    assert issue.message == f"spec file {LONG}.yaml does not exist."
