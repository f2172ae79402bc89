"""A mirror run's removals in the Prometheus exposition: `destkit_removals_total` by outcome."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from destkit.runtime.ops.metrics import prometheus_text
from destkit.runtime.outcomes import Outcome, Reason, RunSummary, Status


def removal_samples(summary: RunSummary) -> dict[str, float]:
    return {s.labels["outcome"]: s.value for family in text_string_to_metric_families(prometheus_text(summary))
            for s in family.samples if s.name == "destkit_removals_total"}


def test_a_mirror_run_counts_its_removals_by_outcome() -> None:
    summary = RunSummary(run_id="r1", destination="d", action="a", mirror=True)
    for status in (Status.DELIVERED, Status.DELIVERED, Status.REJECTED):
        summary.add_removal(Outcome(row=0, status=status, key="k",
                                    reason=None if status is Status.DELIVERED else Reason.DESTINATION_REJECTED))

    assert removal_samples(summary) == {"delivered": 2.0, "rejected": 1.0, "dead_lettered": 0.0}


def test_a_run_that_does_not_mirror_has_no_removal_counter() -> None:
    assert removal_samples(RunSummary(run_id="r1", destination="d", action="a")) == {}
