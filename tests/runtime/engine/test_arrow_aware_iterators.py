"""`arrow_aware` over an iterator: it is looked into only when the run starts reading, and handed on whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from destkit.runtime.engine.arrow_records import arrow_aware

pa = pytest.importorskip("pyarrow")


def test_an_iterator_is_not_read_before_the_run_reads_it() -> None:
    taken: list[int] = []

    def records() -> Iterator[dict[str, Any]]:
        for i in range(3):
            taken.append(i)
            yield {"n": i}

    wrapped = arrow_aware(records())
    assert taken == []
    assert list(wrapped) == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_an_iterator_of_dicts_is_handed_on_in_order() -> None:
    assert list(arrow_aware(iter([{"a": 1}, {"a": 2}]))) == [{"a": 1}, {"a": 2}]


def test_an_empty_iterator_has_no_records() -> None:
    assert list(arrow_aware(iter([]))) == []


def test_an_iterator_of_record_batches_is_read_as_their_rows() -> None:
    batches = (pa.record_batch({"id": [f"u{i}", f"v{i}"]}) for i in range(2))
    assert list(arrow_aware(batches)) == [{"id": "u0"}, {"id": "v0"}, {"id": "u1"}, {"id": "v1"}]
