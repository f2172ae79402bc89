"""The Arrow outcome table is built a column at a time: each row holds exactly what `outcome_row` (the JSON Lines
and CSV writers' row) holds, and a Parquet file's rows keep the time each outcome was written."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from destkit.runtime.engine.outcome_table import ParquetOutcomeWriter, outcome_batch, outcome_row
from destkit.runtime.outcomes import Operation, Outcome, Reason, Status

WHEN = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


def varied_outcomes() -> list[Outcome]:
    """One outcome per status, with and without each optional value."""
    made = []
    for i, (status, reason) in enumerate(itertools.product(Status, [None, Reason.INVALID_PHONE, Reason.UNKNOWN_DELIVERY]), 1):
        made.append(Outcome(row=i, status=status, key=None if i % 3 == 0 else f"u{i}", reason=reason,
                            primary_key=f"C{i}" if i % 2 else None, field="phone_number" if reason else None,
                            message=None if i % 4 else f"message {i}", destination_message=f"theirs {i}" if i % 5 else None,
                            destination_status=200 + i if i % 2 else None, destination_code="code" if i % 3 else None,
                            destination_id=f"id-{i}" if i % 2 == 0 else None,
                            operation=Operation.REMOVE if i % 7 == 0 else None))
    return made


def test_each_row_of_a_batch_is_the_outcome_row_of_its_outcome() -> None:
    outcomes = varied_outcomes()
    assert outcome_batch(outcomes, "run-3", WHEN).to_pylist() == [outcome_row(o, "run-3", WHEN) for o in outcomes]


def test_an_empty_batch_has_the_columns_and_no_row() -> None:
    batch = outcome_batch([], "run-3", WHEN)
    assert batch.num_rows == 0
    assert batch.schema.names[-2:] == ["run_id", "time"]


def test_a_parquet_files_rows_keep_each_outcomes_write_time(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.parquet"
    writer = ParquetOutcomeWriter(path, "run-4", row_group_rows=2)
    before = datetime.now(UTC)
    for outcome in varied_outcomes()[:5]:
        writer.write(outcome)
    writer.close()
    after = datetime.now(UTC)
    times = pq.read_table(path).column("time").to_pylist()
    assert len(times) == 5
    assert times == sorted(times)
    assert before <= times[0] and times[-1] <= after
    assert pq.ParquetFile(path).num_row_groups == 3
