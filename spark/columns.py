"""The outcomes DataFrame's columns (those of `--outcomes`, plus `partition`) and how a partition's
outcomes become one Arrow batch of them; a hidden fingerprint column carries incremental state back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from destkit.runtime.outcomes import Outcome

FINGERPRINT = "_destkit_fingerprint"  # the body's fingerprint after the run (state table), dropped from the result

# (name, Arrow type, Spark DDL type): contract 2's outcome columns, then the partition that produced them
OUTCOME_FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("primary_key", pa.string(), "string"),
    ("row", pa.int64(), "bigint"),
    ("key", pa.string(), "string"),
    ("operation", pa.string(), "string"),
    ("outcome", pa.string(), "string"),
    ("reason", pa.string(), "string"),
    ("field", pa.string(), "string"),
    ("message", pa.string(), "string"),
    ("destination_status", pa.int32(), "int"),
    ("destination_code", pa.string(), "string"),
    ("destination_id", pa.string(), "string"),
    ("run_id", pa.string(), "string"),
    ("time", pa.timestamp("us", tz="UTC"), "timestamp"),
    ("partition", pa.int32(), "int"),
    (FINGERPRINT, pa.binary(), "binary"),
]
OUTCOME_COLUMNS = [name for name, _, _ in OUTCOME_FIELDS if name != FINGERPRINT]


def arrow_schema() -> pa.Schema:
    return pa.schema([pa.field(name, kind) for name, kind, _ in OUTCOME_FIELDS])


def spark_ddl() -> str:
    """The mapInArrow output schema as Spark DDL."""
    return ", ".join(f"`{name}` {ddl}" for name, _, ddl in OUTCOME_FIELDS)


def outcome_batch(outcomes: Sequence[Outcome], primary_keys: Sequence[str | None], fingerprints: Sequence[bytes | None],
                  *, run_id: str, time: datetime, partition: int) -> pa.RecordBatch:
    """One Arrow batch of outcome rows, column by column (the conversion is on the hot path)."""
    n = len(outcomes)

    def text(values: list[Any]) -> pa.Array:
        return pa.array(values, pa.string())

    columns = [
        text(list(primary_keys)),
        pa.array([o.row for o in outcomes], pa.int64()),
        text([o.key for o in outcomes]),
        text([None if o.operation is None else str(o.operation) for o in outcomes]),
        text([o.status.value for o in outcomes]),
        text([None if o.reason is None else str(o.reason) for o in outcomes]),
        text([o.field for o in outcomes]),
        text([o.message for o in outcomes]),
        pa.array([o.destination_status for o in outcomes], pa.int32()),
        text([o.destination_code for o in outcomes]),
        text([o.destination_id for o in outcomes]),
        pa.array([run_id] * n, pa.string()),
        pa.array([time] * n, pa.timestamp("us", tz="UTC")),
        pa.array([partition] * n, pa.int32()),
        pa.array(list(fingerprints), pa.binary()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=arrow_schema())


__all__ = ["FINGERPRINT", "OUTCOME_COLUMNS", "OUTCOME_FIELDS", "arrow_schema", "outcome_batch", "spark_ddl"]
