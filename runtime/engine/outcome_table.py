"""Outcomes as a table, one row per record, for a warehouse to join back to its source (`--outcomes PATH`).

The columns (`OUTCOME_COLUMNS`) are the same in Parquet (pyarrow, extra `destkit[arrow]`), JSON Lines and
CSV. Writers stream: Parquet in row groups of at most `ROW_GROUP_ROWS`, the others a line at a time, so
memory stays bounded whatever the input's size. Each file is written 0600 and never through a symlink
(`engine/files.py`); it holds what a report holds (keys, scrubbed messages), never a payload or a secret.
From Python, `outcome_file(path, run_id)` gives the writer whose `write` is a sync's `on_outcome`.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any, Protocol

import orjson

from destkit.runtime.engine.arrow_records import require_pyarrow
from destkit.runtime.engine.files import private_writer
from destkit.runtime.errors import UsageError
from destkit.runtime.outcomes import Outcome

if TYPE_CHECKING:  # pyarrow is an optional extra: imported only when a Parquet table is asked for
    import pyarrow

OUTCOME_COLUMNS: Mapping[str, str] = {
    "primary_key": "string",  # options.primary_key: the input's own key, to join back to the source
    "row": "int64",  # the record's place in its input (0 for a removal: no input row)
    "key": "string",  # the destination's key of the record (e.g. the email)
    "operation": "string",  # "remove" for a mirror sync's removal; empty for an input record
    "outcome": "string",
    "reason": "string",
    "field": "string",
    "message": "string",  # the outcome's message, else the destination's own
    "destination_status": "int32",
    "destination_code": "string",
    "destination_id": "string",
    "run_id": "string",
    "time": "timestamp[us, tz=UTC]",  # when the outcome was written
}
"""The columns of an outcome table, in order, with their Arrow types."""

ROW_GROUP_ROWS = 10_000
"""Rows a Parquet outcome file's row group holds at most (the writer buffers no more than this)."""

OUTCOME_SUFFIXES = (".parquet", ".jsonl", ".csv")


def outcome_schema() -> pyarrow.Schema:
    """The Arrow schema of an outcome table (`OUTCOME_COLUMNS`)."""
    pa = require_pyarrow("an outcome table")
    types = {"string": pa.string(), "int64": pa.int64(), "int32": pa.int32(),
             "timestamp[us, tz=UTC]": pa.timestamp("us", tz="UTC")}
    return pa.schema([pa.field(name, types[kind]) for name, kind in OUTCOME_COLUMNS.items()])


def outcome_row(outcome: Outcome, run_id: str, time: datetime) -> dict[str, Any]:
    """One outcome as a row of the table: a value per column of `OUTCOME_COLUMNS` (None when it has none)."""
    return {
        "primary_key": outcome.primary_key,
        "row": outcome.row,
        "key": outcome.key,
        "operation": None if outcome.operation is None else outcome.operation.value,
        "outcome": outcome.status.value,
        "reason": None if outcome.reason is None else str(outcome.reason),
        "field": outcome.field,
        "message": outcome.message if outcome.message is not None else outcome.destination_message,
        "destination_status": outcome.destination_status,
        "destination_code": outcome.destination_code,
        "destination_id": outcome.destination_id,
        "run_id": run_id,
        "time": time,
    }


def outcome_batch(outcomes: Iterable[Outcome], run_id: str, time: datetime | None = None) -> pyarrow.RecordBatch:
    """The outcomes as one Arrow record batch of `outcome_schema()`, every row stamped `time` (default: now)."""
    pa = require_pyarrow("an outcome table")
    return _batch_of(pa, list(outcomes), run_id, time or datetime.now(UTC))


def _batch_of(pa: ModuleType, outcomes: Sequence[Outcome], run_id: str,
              time: datetime | Sequence[datetime]) -> pyarrow.RecordBatch:
    """The batch built a column at a time (the values `outcome_row` gives, without a dict per row: 3-6x less CPU
    per outcome, measured); `time` one instant for every row, or one per row."""
    schema = outcome_schema()
    columns = [
        [o.primary_key for o in outcomes],
        [o.row for o in outcomes],
        [o.key for o in outcomes],
        [None if o.operation is None else o.operation.value for o in outcomes],
        [o.status.value for o in outcomes],
        [None if o.reason is None else str(o.reason) for o in outcomes],
        [o.field for o in outcomes],
        [o.destination_message if o.message is None else o.message for o in outcomes],
        [o.destination_status for o in outcomes],
        [o.destination_code for o in outcomes],
        [o.destination_id for o in outcomes],
    ]
    arrays = [pa.array(values, type=schema.field(i).type) for i, values in enumerate(columns)]
    arrays.append(pa.repeat(pa.scalar(run_id, pa.string()), len(outcomes)))
    time_type = schema.field("time").type
    arrays.append(pa.repeat(pa.scalar(time, time_type), len(outcomes)) if isinstance(time, datetime)
                  else pa.array(time, type=time_type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class OutcomeWriter(Protocol):
    """Writes outcomes as rows (`write`, usable as a sync's `on_outcome`) until `close`."""

    path: Path
    rows: int

    def write(self, outcome: Outcome) -> None: ...

    def close(self) -> None: ...


class ParquetOutcomeWriter:
    """Streams outcomes into a Parquet file of `outcome_schema()`, a row group per `ROW_GROUP_ROWS` rows.

    `write` is a sync's `on_outcome`; `close` writes the last row group (a run with no outcome leaves
    a file with the columns and no row). Needs pyarrow (`destkit[arrow]`): checked when it is made.

    The rows go to a hidden `.NAME.partial` beside `path`, renamed to `path` once the footer is written:
    a Parquet file is unreadable without its footer, so a killed process leaves `path` as it was (absent,
    or an earlier run's whole file) rather than a file no reader opens. Readers of a folder (pyarrow,
    Spark, DuckDB's globs of `*.parquet`) skip the partial; a resumed run writes the whole file again.
    """

    def __init__(self, path: str | Path, run_id: str, *, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self.pa = require_pyarrow("an outcome table in Parquet (--outcomes *.parquet)")
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.run_id = run_id
        self.row_group_rows = row_group_rows
        self.rows = 0
        self._buffer: list[Outcome] = []
        self._times: list[datetime] = []  # when each buffered outcome was written
        if self.path.is_dir():  # else found only at the rename, after the whole run
            raise UsageError(f"cannot write outcomes to {self.path}: it is a folder.", key="--outcomes",
                             fix="give a file name, e.g. outcomes.parquet inside that folder.")
        self.partial = partial_path(self.path)
        self._file = private_writer(self.partial)
        self._writer = pq.ParquetWriter(self._file, outcome_schema())

    def write(self, outcome: Outcome) -> None:
        self._buffer.append(outcome)
        self._times.append(datetime.now(UTC))
        self.rows += 1
        if len(self._buffer) >= self.row_group_rows:
            self.flush()

    def flush(self) -> None:
        """The buffered rows as one row group."""
        if self._buffer:
            self._writer.write_batch(_batch_of(self.pa, self._buffer, self.run_id, self._times))
            self._buffer, self._times = [], []

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self.flush()
            self._writer.close()
        finally:
            self._file.close()
        os.replace(self.partial, self.path)  # not reached when the footer failed: `path` stays as it was


def partial_path(path: Path) -> Path:
    """Where a Parquet outcome file is written until its footer is: hidden, beside it."""
    return path.with_name(f".{path.name}.partial")


class JsonlOutcomeWriter:
    """Outcome rows as JSON Lines, every column of `OUTCOME_COLUMNS` on each line (null when empty)."""

    def __init__(self, path: str | Path, run_id: str) -> None:
        self.path = Path(path)
        self.run_id = run_id
        self.rows = 0
        self._file: IO[bytes] = private_writer(self.path)

    def write(self, outcome: Outcome) -> None:
        self._file.write(orjson.dumps(outcome_row(outcome, self.run_id, datetime.now(UTC))) + b"\n")
        self.rows += 1

    def close(self) -> None:
        self._file.close()


# a cell a spreadsheet would run as a formula (`=cmd|' /C calc'!A0`, `@SUM(..)`, `+cmd|..`): a key, value or
# message comes from the input, so opening outcomes.csv in Excel must not execute it. A plain number or phone
# number (`-5`, `+14155550100`) is no formula and stays as it is, so keys still join.
FORMULA_STARTS = ("=", "@", "+", "-", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def inert_cell(value: object) -> object:
    """`value` as a CSV cell no spreadsheet runs: text starting like a formula gets a leading `'` (OWASP's
    advice, which Excel and LibreOffice show as text)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and PLAIN_NUMBER.fullmatch(value) is None:
        return "'" + value
    return value


class CsvOutcomeWriter:
    """Outcome rows as CSV with a header of `OUTCOME_COLUMNS` (an empty cell for no value; time in ISO 8601)."""

    def __init__(self, path: str | Path, run_id: str) -> None:
        self.path = Path(path)
        self.run_id = run_id
        self.rows = 0
        self._file = io.TextIOWrapper(private_writer(self.path), encoding="utf-8", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow(OUTCOME_COLUMNS)

    def write(self, outcome: Outcome) -> None:
        row = outcome_row(outcome, self.run_id, datetime.now(UTC))
        row["time"] = row["time"].isoformat()
        self._csv.writerow(["" if value is None else inert_cell(value) for value in row.values()])
        self.rows += 1

    def close(self) -> None:
        self._file.close()


def open_outcome_writer(path: str | Path, run_id: str) -> OutcomeWriter:
    """The writer for `path` by its suffix: `.parquet` (needs `destkit[arrow]`), `.jsonl` or `.csv`."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in OUTCOME_SUFFIXES:
        raise UsageError(f"cannot write outcomes to {target}: the file must end in {', '.join(OUTCOME_SUFFIXES)}.",
                         key="--outcomes", fix="name the file e.g. outcomes.parquet, outcomes.jsonl or outcomes.csv.")
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        return ParquetOutcomeWriter(target, run_id)
    return JsonlOutcomeWriter(target, run_id) if suffix == ".jsonl" else CsvOutcomeWriter(target, run_id)


@contextmanager
def outcome_file(path: str | Path, run_id: str) -> Iterator[OutcomeWriter]:
    """The Python API's `--outcomes`: a writer for `path` (see `open_outcome_writer`), closed however the run ends.

        with outcome_file("outcomes.parquet", run_id="nightly") as outcomes:
            sync.run(records, on_outcome=outcomes.write, run_id="nightly")
    """
    writer = open_outcome_writer(path, run_id)
    try:
        yield writer
    finally:
        writer.close()


__all__ = [
    "OUTCOME_COLUMNS",
    "ROW_GROUP_ROWS",
    "CsvOutcomeWriter",
    "JsonlOutcomeWriter",
    "OutcomeWriter",
    "ParquetOutcomeWriter",
    "inert_cell",
    "open_outcome_writer",
    "outcome_batch",
    "outcome_file",
    "outcome_row",
    "outcome_schema",
    "partial_path",
]
