"""The outcomes DataFrame's columns: those of `--outcomes` (`engine/outcome_table.py`), then `partition`; hidden
columns carry a partition's state back to the driver (dropped from the result): the body's fingerprint, and in a
mirror sync the member's removal record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from destkit.runtime.engine.membership import Member
from destkit.runtime.engine.outcome_table import OUTCOME_COLUMNS, outcome_batch
from destkit.runtime.outcomes import Outcome

PARTITION = "partition"
FINGERPRINT = "_destkit_fingerprint"  # the body's fingerprint after the run (state table), dropped from the result
REMOVAL = "_destkit_removal"  # mirror: the member's record as its removal request sends it (state table)
REMOVAL_PARAMS = "_destkit_removal_params"  # ... and its removal path's parameters, as JSON
SEEN_KEY = "_destkit_seen_key"  # mirror: the key the row's member is kept by (an invalid row's key is as given)
HIDDEN_OUTPUT = (FINGERPRINT, REMOVAL, REMOVAL_PARAMS, SEEN_KEY)

# Spark SQL's name for each Arrow type of the outcome table (timestamps are UTC instants in both)
_SPARK_TYPES = {"string": "string", "int64": "bigint", "int32": "int", "timestamp[us, tz=UTC]": "timestamp"}


def spark_ddl() -> str:
    """The mapInArrow output schema as Spark DDL: the outcome table's columns, the partition, the hidden state."""
    columns = [f"`{name}` {_SPARK_TYPES[kind]}" for name, kind in OUTCOME_COLUMNS.items()]
    hidden = [f"`{FINGERPRINT}` binary", f"`{REMOVAL}` binary", f"`{REMOVAL_PARAMS}` string", f"`{SEEN_KEY}` string"]
    return ", ".join([*columns, f"`{PARTITION}` int", *hidden])


def params_json(params: tuple[str, ...] | None) -> str | None:
    """A removal path's parameters as the membership table keeps them (JSON), None when the path has none."""
    return None if params is None else json.dumps(params)


def params_of(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))


def partition_batch(outcomes: Sequence[Outcome], fingerprints: Sequence[bytes | None], *, run_id: str,
                    time: datetime, partition: int, members: Sequence[Member | None] | None = None,
                    seen_keys: Sequence[str | None] | None = None) -> pa.RecordBatch:
    """One Arrow batch of outcome rows as `--outcomes` writes them, with the partition, the fingerprints and
    (mirror) each row's member as the state table keeps it, and the key its member is kept by."""
    table = outcome_batch(outcomes, run_id, time)
    held = members if members is not None else [None] * len(outcomes)
    extra = [pa.array([partition] * len(outcomes), pa.int32()), pa.array(list(fingerprints), pa.binary()),
             pa.array([None if m is None else m.body for m in held], pa.binary()),
             pa.array([None if m is None else params_json(m.params) for m in held], pa.string()),
             pa.array(list(seen_keys) if seen_keys is not None else [None] * len(outcomes), pa.string())]
    names = [*table.schema.names, PARTITION, *HIDDEN_OUTPUT]
    return pa.RecordBatch.from_arrays([*table.columns, *extra], names=names)


__all__ = ["FINGERPRINT", "HIDDEN_OUTPUT", "PARTITION", "REMOVAL", "REMOVAL_PARAMS", "SEEN_KEY", "params_json",
           "params_of", "partition_batch", "spark_ddl"]
