"""`sync_dataframe`: a sync over a Spark DataFrame, one Sync per partition (mapInArrow), outcomes as a DataFrame;
`summary_of`: the counts per outcome and reason of that DataFrame, for the whole job."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema

from destkit.runtime.config.model import SyncConfig
from destkit.runtime.engine.build import build_sync, load_config
from destkit.runtime.outcomes import RunSummary
from destkit.spark.columns import FINGERPRINT, spark_ddl
from destkit.spark.partition import PartitionJob
from destkit.spark.plan import (
    RateShare,
    check_columns,
    check_modes,
    concurrent_partitions,
    primary_key_of,
    refuse_literal_secrets,
    refuse_overrides,
    split_rate,
    with_rate_share,
)
from destkit.spark.state_table import next_state, read_state, with_previous, write_state


def sync_dataframe(df: DataFrame, config: SyncConfig | Mapping[str, Any] | str | Path, *,
                   state_table: str | None = None, **overrides: Any) -> DataFrame:
    """Send every row of `df` to the destination; one outcome row per input row (the `--outcomes` columns
    plus `partition`).

    The job runs when this is called, once: the outcomes are checkpointed, so counting or writing the result
    never sends again. `overrides` are `build_sync`'s keywords (`base_url=`, `allow_http=`, `retry=`, ...).
    Secrets must be references (`{env: NAME}`, `{file: PATH}`) the executors resolve: none is pickled.
    With `state_table` (a Parquet folder the driver owns) the sync is incremental: rows whose body was
    delivered unchanged before are `skipped` (`unchanged`), and the table is rewritten after the job.
    """
    refuse_overrides(overrides)
    checked = load_config(config)
    refuse_literal_secrets(checked)
    check_modes(checked, state_table)
    primary_key = primary_key_of(checked, state_table)
    probe = build_sync(checked, needs_secrets=False, **overrides)  # every config problem, on the driver
    check_columns(checked, to_arrow_schema(df.schema))
    spark = df.sparkSession
    state = read_state(spark, state_table) if state_table is not None else None
    rows = df if state is None or primary_key is None else with_previous(df, state, primary_key)
    share = rate_share_of(rows, probe.concurrency, probe.requests_per_second)
    job = PartitionJob(with_rate_share(checked, share, incremental=state is not None), dict(overrides),
                       uuid.uuid4().hex[:12], incremental=state is not None)
    outcomes = rows.mapInArrow(job, spark_ddl()).localCheckpoint(eager=True)  # the one run of the job
    if state is not None and state_table is not None:
        write_state(spark, next_state(outcomes, state), state_table)
    return outcomes.drop(FINGERPRINT)


def rate_share_of(df: DataFrame, concurrency: int, requests_per_second: float | None) -> RateShare:
    """The share of a rate budget each concurrent partition of `df` gets."""
    spark = df.sparkSession
    return split_rate(concurrency, requests_per_second,
                      concurrent_partitions(df.rdd.getNumPartitions(), spark.sparkContext.defaultParallelism))


def summary_of(outcomes: DataFrame) -> RunSummary:
    """The whole job's counts per outcome and per reason (one small aggregate; removals are not input rows)."""
    rows = (outcomes.where(F.col("operation").isNull() | (F.col("operation") != "remove"))
            .groupBy("outcome", "reason", "run_id").count().collect())
    summary = RunSummary(run_id=rows[0]["run_id"] if rows else "")
    for row in rows:
        summary.counts[row["outcome"]] += row["count"]
        if row["reason"] is not None:
            summary.reasons[row["reason"]] += row["count"]
    summary.received = sum(summary.counts.values())
    return summary


__all__ = ["rate_share_of", "summary_of", "sync_dataframe"]
