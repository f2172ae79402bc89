"""`sync_dataframe`: a sync over a Spark DataFrame, one Sync per partition (mapInArrow), outcomes as a DataFrame;
a mirror sync adds a second stage that removes the departed members. `summary_of`: the counts per outcome and
reason of that DataFrame, for the whole job."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema

from destkit.runtime.config.model import SyncConfig
from destkit.runtime.engine.build import build_sync, load_config
from destkit.runtime.engine.membership import audience_of
from destkit.runtime.engine.mirror import removals_unsafe
from destkit.runtime.engine.sync import Sync
from destkit.runtime.outcomes import Operation, Reason, RunSummary
from destkit.spark.columns import HIDDEN_OUTPUT, spark_ddl
from destkit.spark.partition import PartitionJob
from destkit.spark.plan import (
    RateShare,
    check_columns,
    check_modes,
    columns_read,
    concurrent_partitions,
    primary_key_of,
    refuse_literal_secrets,
    refuse_overrides,
    spark_column_name,
    split_rate,
    with_rate_share,
)
from destkit.spark.removals import RemovalJob
from destkit.spark.state_table import (
    departed,
    next_mirror_state,
    next_state,
    read_state,
    with_previous,
    write_state,
)

_LOG = logging.getLogger("destkit.spark")


def sync_dataframe(df: DataFrame, config: SyncConfig | Mapping[str, Any] | str | Path, *,
                   state_table: str | None = None, **overrides: Any) -> DataFrame:
    """Send every row of `df` to the destination; one outcome row per input row (the `--outcomes` columns
    plus `partition`).

    The job runs when this is called, once: the outcomes are checkpointed, so counting or writing the result
    never sends again. `overrides` are `build_sync`'s keywords (`base_url=`, `allow_http=`, `retry=`, ...).
    Secrets must be references (`{env: NAME}`, `{file: PATH}`) the executors resolve: none is pickled.
    With `state_table` (a Parquet folder the driver owns) the sync is incremental: rows whose body was
    delivered unchanged before are `skipped` (`unchanged`), and the table is rewritten after the job.
    With `options.mirror` (which needs the state table) a second stage then removes the members of the table that
    no row of `df` has: their outcomes are rows with `operation` "remove".
    """
    refuse_overrides(overrides)
    checked = load_config(config)
    refuse_literal_secrets(checked)
    check_modes(checked, state_table)
    primary_key = primary_key_of(checked, state_table)
    probe = build_sync(checked, needs_secrets=False, **overrides)  # every config problem, on the driver
    check_columns(checked, to_arrow_schema(df.schema))
    spark = df.sparkSession
    audience = audience_of(probe.spec.id, probe.action_id, probe.settings) if checked.options.mirror else None
    state = read_state(spark, state_table, mirror=audience is not None) if state_table is not None else None
    df = only_columns_read(df, checked)
    rows = df if state is None or primary_key is None else with_previous(df, state, primary_key)
    share = rate_share_of(rows, probe.concurrency, probe.requests_per_second)
    job = PartitionJob(with_rate_share(checked, share, incremental=state is not None), dict(overrides),
                       uuid.uuid4().hex[:12], incremental=state is not None)
    outcomes = rows.mapInArrow(job, spark_ddl()).localCheckpoint(eager=True)  # the one run of the job
    if state is None or state_table is None:
        return outcomes.drop(*HIDDEN_OUTPUT)
    if audience is None:
        write_state(spark, next_state(outcomes, state), state_table)
        return outcomes.drop(*HIDDEN_OUTPUT)
    removals = remove_departed(outcomes, state, audience, Stage2(checked, job, probe), state_table)
    return outcomes.unionByName(removals).drop(*HIDDEN_OUTPUT)


def only_columns_read(df: DataFrame, config: SyncConfig) -> DataFrame:
    """`df` with only the columns the sync reads: Spark then reads no other column of a columnar table, no other
    column crosses to the Python workers in Arrow, and a value in another column cannot fail a row."""
    wanted = columns_read(config, df.columns)
    return df if wanted is None or len(wanted) == len(df.columns) else df.select(*map(F.col, map(spark_column_name, wanted)))


@dataclass(frozen=True)
class Stage2:
    """What stage 2 takes from the driver's stage 1: the checked config, stage 1's job (run id, overrides), the probe."""

    config: SyncConfig
    job: PartitionJob
    probe: Sync


def remove_departed(outcomes: DataFrame, state: DataFrame, audience: str, stage: Stage2, state_table: str) -> DataFrame:
    """Stage 2 of a mirror sync, once stage 1 (`outcomes`) saw every row without an abort (an aborted partition
    failed the job before this): the departed members through the removal request, a `mapInArrow` of its own;
    then the next state table. Should stage 2 fail, the table keeps every departed member for the next run."""
    spark = outcomes.sparkSession
    why = removals_skipped(outcomes, stage.config)
    if why is not None:  # the table keeps every member, as after a failed stage 2: the next run may remove them
        _LOG.warning("mirror sync %s removed no member: %s", stage.job.run_id, why)
        write_state(spark, next_mirror_state(outcomes, state, audience, None), state_table)
        return outcomes.limit(0)
    leaving = departed(state, outcomes, audience)
    share = rate_share_of(leaving, stage.probe.concurrency, stage.probe.requests_per_second)
    config = with_rate_share(stage.config, share, incremental=False)
    # each task removes its members through a run over an empty input (`RemovalRun`): the driver has decided
    config["options"]["allow_empty_mirror"] = True
    removal_job = RemovalJob(config, stage.job.overrides, stage.job.run_id)
    try:
        removals = leaving.mapInArrow(removal_job, spark_ddl()).localCheckpoint(eager=True)
    except BaseException:
        write_state(spark, next_mirror_state(outcomes, state, audience, None), state_table)
        raise
    write_state(spark, next_mirror_state(outcomes, state, audience, removals), state_table)
    return removals


def removals_skipped(outcomes: DataFrame, config: SyncConfig) -> str | None:
    """Why stage 2 must remove nobody, as one process says it (`Pipeline.cut_short`), or None: a row that could not
    be read has no key, so any member may be that row; and a DataFrame of no rows (an export that came out empty)
    must not empty the audience unless `options.allow_empty_mirror`."""
    rows = outcomes.where(F.coalesce(F.col("operation") != Operation.REMOVE.value, F.lit(True)))
    unreadable = rows.where(F.col("reason") == Reason.MALFORMED_INPUT.value).count()
    return removals_unsafe(unreadable, rows.limit(1).count(), config.options.allow_empty_mirror)


def rate_share_of(df: DataFrame, concurrency: int, requests_per_second: float | None) -> RateShare:
    """The share of a rate budget each concurrent partition of `df` gets."""
    spark = df.sparkSession
    return split_rate(concurrency, requests_per_second,
                      concurrent_partitions(df.rdd.getNumPartitions(), spark.sparkContext.defaultParallelism))


def summary_of(outcomes: DataFrame) -> RunSummary:
    """The whole job's counts per outcome and per reason (one small aggregate). A mirror sync's removals are no
    input rows: they are counted apart (`removed`, `removals_failed`, `removal_reasons`), as in one process."""
    removal = F.coalesce(F.col("operation") == Operation.REMOVE.value, F.lit(False)).alias("removal")
    rows = outcomes.groupBy("outcome", "reason", "run_id", removal).count().collect()
    summary = RunSummary(run_id=rows[0]["run_id"] if rows else "")
    for row in rows:
        counts, reasons = (summary.removals, summary.removal_reasons) if row["removal"] else (summary.counts,
                                                                                                summary.reasons)
        counts[row["outcome"]] += row["count"]
        if row["reason"] is not None:
            reasons[row["reason"]] += row["count"]
    summary.received = sum(summary.counts.values())
    summary.mirror = bool(summary.removals)  # a mirror sync that removed nobody cannot be told apart here
    return summary


__all__ = ["rate_share_of", "summary_of", "sync_dataframe"]
