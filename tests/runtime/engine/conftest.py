"""Fixtures the engine's tests share."""

from __future__ import annotations

from typing import Any

import pytest

from destkit.runtime.engine.pipeline import Pipeline


@pytest.fixture
def fed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every record `Pipeline.feed` (the record-by-record path) is given from the moment the fixture is asked for."""
    seen: list[Any] = []
    feed = Pipeline.feed

    def spy(self: Pipeline, record: Any) -> Any:
        seen.append(record)
        return feed(self, record)

    monkeypatch.setattr(Pipeline, "feed", spy)
    return seen
