"""A keyed run whose delivered records get no outcome object (nothing watches them) keeps no primary key
for them: the pipeline's table of keys in flight ends empty, however long the input."""

from __future__ import annotations

from typing import Any

import pytest
from test_primary_key_fused_loop import contact, keyed_sync

from destkit.runtime import Outcome
from destkit.runtime.engine.pipeline import Pipeline
from destkit.runtime.outcomes import skipping_delivered


@pytest.fixture
def pipelines(monkeypatch: pytest.MonkeyPatch) -> list[Pipeline]:
    """Every pipeline a run builds, kept to look at once it has ended."""
    built: list[Pipeline] = []
    original = Pipeline.__init__

    def keep(self: Pipeline, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(Pipeline, "__init__", keep)
    return built


def test_a_keyed_dry_run_reporting_only_problems_holds_no_primary_key_once_done(pipelines: list[Pipeline]) -> None:
    problems: list[Outcome] = []
    records = [contact(i) for i in range(3_000)]
    records[10] = contact(10, id="")  # invalid: its outcome carries its primary key
    keyed_sync("pk").dry_run(records, keep_requests=False, on_outcome=skipping_delivered(problems.append))
    assert [(o.row, o.primary_key) for o in problems] == [(11, "1010")]
    assert len(pipelines) == 1
    assert pipelines[0].primary_keys == {}
    assert pipelines[0].summary.count("delivered") == 2_999
