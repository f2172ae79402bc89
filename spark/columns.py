"""The outcomes DataFrame's columns: those of `--outcomes` (`engine/outcome_table.py`), then `partition`; a hidden
fingerprint column carries a partition's incremental state back to the driver (dropped from the result)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from destkit.runtime.engine.outcome_table import OUTCOME_COLUMNS, outcome_batch
from destkit.runtime.outcomes import Outcome

PARTITION = "partition"
FINGERPRINT = "_destkit_fingerprint"  # the body's fingerprint after the run (state table), dropped from the result

# Spark SQL's name for each Arrow type of the outcome table (timestamps are UTC instants in both)
_SPARK_TYPES = {"string": "string", "int64": "bigint", "int32": "int", "timestamp[us, tz=UTC]": "timestamp"}


def spark_ddl() -> str:
    """The mapInArrow output schema as Spark DDL: the outcome table's columns, the partition, the fingerprint."""
    columns = [f"`{name}` {_SPARK_TYPES[kind]}" for name, kind in OUTCOME_COLUMNS.items()]
    return ", ".join([*columns, f"`{PARTITION}` int", f"`{FINGERPRINT}` binary"])


def partition_batch(outcomes: Sequence[Outcome], fingerprints: Sequence[bytes | None], *, run_id: str,
                    time: datetime, partition: int) -> pa.RecordBatch:
    """One Arrow batch of outcome rows as `--outcomes` writes them, with the partition and the fingerprints."""
    table = outcome_batch(outcomes, run_id, time)
    extra = [pa.array([partition] * len(outcomes), pa.int32()), pa.array(list(fingerprints), pa.binary())]
    return pa.RecordBatch.from_arrays([*table.columns, *extra], names=[*table.schema.names, PARTITION, FINGERPRINT])


__all__ = ["FINGERPRINT", "PARTITION", "partition_batch", "spark_ddl"]
