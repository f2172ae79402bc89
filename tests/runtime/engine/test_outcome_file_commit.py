"""A Parquet outcome file appears whole or not at all: its rows go to a hidden partial file, renamed once the
footer is written (a Parquet file without its footer is unreadable)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from destkit.runtime.engine.outcome_table import ParquetOutcomeWriter, partial_path
from destkit.runtime.errors import UsageError
from destkit.runtime.outcomes import Outcome, Status


def delivered(row: int) -> Outcome:
    return Outcome(row=row, key=f"u{row}", status=Status.DELIVERED)


def test_the_rows_are_written_to_a_hidden_partial_file_beside_the_target() -> None:
    assert partial_path(Path("/data/out/outcomes.parquet")) == Path("/data/out/.outcomes.parquet.partial")


def test_until_it_is_closed_the_target_keeps_the_earlier_runs_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "outcomes.parquet"
    with_one = ParquetOutcomeWriter(target, "run-1")
    with_one.write(delivered(1))
    with_one.close()
    writer = ParquetOutcomeWriter(target, "run-2", row_group_rows=1)
    writer.write(delivered(1))
    writer.write(delivered(2))  # a row group is on disk, in the partial file
    assert pq.read_table(target).column("run_id").to_pylist() == ["run-1"]
    assert partial_path(target).exists()
    writer.close()
    assert pq.read_table(target).column("run_id").to_pylist() == ["run-2", "run-2"]
    assert not partial_path(target).exists()


def test_a_folder_as_the_target_is_refused_before_any_row_is_written(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="it is a folder") as raised:
        ParquetOutcomeWriter(tmp_path, "run-1")
    assert raised.value.issues[0].key == "--outcomes"
    assert list(tmp_path.iterdir()) == []
