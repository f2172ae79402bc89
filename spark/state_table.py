"""The state table of incremental and mirror syncs on Spark: one row per input primary key with the destination key
and the fingerprint of the body last delivered; a mirror sync adds, per member, its audience and the record its
removal request sends. The driver owns it (a Parquet folder): it reads it and joins it onto the rows before the
job, finds the departed members in it between the two stages of a mirror sync, and writes the next version once
the job is done."""

from __future__ import annotations

import uuid
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from destkit.spark.columns import FINGERPRINT, REMOVAL, REMOVAL_PARAMS, SEEN_KEY
from destkit.spark.partition import PREVIOUS_FINGERPRINT, PREVIOUS_KEY
from destkit.spark.removals import DEPARTED_COLUMNS

STATE_DDL = "primary_key string, key string, fingerprint binary"
MIRROR_COLUMNS = {"audience": "string", "removal": "binary", "removal_params": "string"}  # a mirror sync's members
MIRROR_DDL = STATE_DDL + "".join(f", {name} {kind}" for name, kind in MIRROR_COLUMNS.items())
_JOIN_KEY = "_destkit_state_primary_key"
_EARLIER = "_destkit_earlier_"  # prefix of the earlier member's columns, joined onto this run's rows


def read_state(spark: SparkSession, path: str, *, mirror: bool = False) -> DataFrame:
    """The state table (with the member columns for a mirror sync), or an empty one before the first run."""
    if not _exists(spark, path):
        return spark.createDataFrame([], MIRROR_DDL if mirror else STATE_DDL)
    table = spark.read.parquet(path)
    if not mirror:
        return table.select("primary_key", "key", "fingerprint")
    for name, kind in MIRROR_COLUMNS.items():  # a table an incremental sync wrote has no member yet
        if name not in table.columns:
            table = table.withColumn(name, F.lit(None).cast(kind))
    return table.select("primary_key", "key", "fingerprint", *MIRROR_COLUMNS)


def with_previous(df: DataFrame, state: DataFrame, primary_key: str) -> DataFrame:
    """The rows with the key and fingerprint last delivered for their primary key (null for new rows)."""
    previous = state.select(F.col("primary_key").alias(_JOIN_KEY), F.col("key").alias(PREVIOUS_KEY),
                            F.col("fingerprint").alias(PREVIOUS_FINGERPRINT))
    joined = df.join(previous, F.col(primary_key).cast("string") == F.col(_JOIN_KEY), "left")
    return joined.drop(_JOIN_KEY)


def is_member(audience: str) -> Column:
    """A state row is a member of the mirrored audience (never null: rows of incremental syncs are not)."""
    return F.coalesce((F.col("audience") == audience) & F.col("removal").isNotNull(), F.lit(False))


def departed(state: DataFrame, outcomes: DataFrame, audience: str) -> DataFrame:
    """The members no row of this run had (a left-anti join on the destination key), once each."""
    seen = outcomes.select(F.coalesce(F.col(SEEN_KEY), F.col("key")).alias("key")).where(F.col("key").isNotNull())
    members = state.where(is_member(audience)).join(seen, "key", "left_anti")
    return members.dropDuplicates(["key"]).select(*DEPARTED_COLUMNS)


def next_state(outcomes: DataFrame, state: DataFrame) -> DataFrame:
    """This run's fingerprints, plus the earlier rows of primary keys this input did not have."""
    seen = (outcomes.where(F.col(FINGERPRINT).isNotNull() & F.col("primary_key").isNotNull())
            .select("primary_key", "key", F.col(FINGERPRINT).alias("fingerprint"))
            .dropDuplicates(["primary_key"]))
    kept = state.join(outcomes.select("primary_key").distinct(), "primary_key", "left_anti")
    return seen.unionByName(kept)


def next_mirror_state(outcomes: DataFrame, state: DataFrame, audience: str, removals: DataFrame | None) -> DataFrame:
    """A mirror sync's next table: this run's rows with their members, the earlier rows of primary keys this input
    did not have, less the members whose removal the destination confirmed (`removals`: stage 2's outcomes; None
    when stage 2 failed, so every departed member is tried again by the next run)."""
    seen = with_members(outcomes, state, audience)
    read = outcomes.where(F.col("primary_key").isNotNull()).select("primary_key").distinct()
    kept = state.join(read, "primary_key", "left_anti")
    # a departed member whose primary key has another key now stays a member, with no row of its own, until removed
    orphaned = (departed(state, outcomes, audience).select("key").join(state.where(is_member(audience)), "key")
                .join(read, "primary_key", "left_semi").withColumn("primary_key", F.lit(None).cast("string")))
    earlier = kept.unionByName(orphaned)
    if removals is not None:
        removed = (removals.where(F.col("outcome") == "delivered")
                   .select("key", F.lit(audience).alias("audience")).distinct())
        earlier = earlier.join(removed, ["key", "audience"], "left_anti")
    return seen.unionByName(earlier)


def with_members(outcomes: DataFrame, state: DataFrame, audience: str) -> DataFrame:
    """This run's rows as the state table keeps them: a member's removal record is the one this run confirmed,
    else (a member seen under the same key but not confirmed: rejected, say) the one the table had, as the
    one-process membership keeps it."""
    fresh = (outcomes.withColumn("key", F.coalesce(F.col(SEEN_KEY), F.col("key")))  # the key members are kept by
             .where(F.col(FINGERPRINT).isNotNull() & F.col("primary_key").isNotNull()).dropDuplicates(["primary_key"]))
    earlier = state.where(is_member(audience)).select(*(F.col(c).alias(_EARLIER + c) for c in state.columns))
    rows = fresh.join(earlier, F.col("primary_key") == F.col(_EARLIER + "primary_key"), "left")
    confirmed = F.col(REMOVAL).isNotNull()
    still = F.coalesce(F.col(_EARLIER + "key") == F.col("key"), F.lit(False))
    removal = F.when(confirmed, F.col(REMOVAL)).when(still, F.col(_EARLIER + "removal"))
    params = F.when(confirmed, F.col(REMOVAL_PARAMS)).when(still, F.col(_EARLIER + "removal_params"))
    return rows.select("primary_key", "key", F.col(FINGERPRINT).alias("fingerprint"),
                       F.when(removal.isNotNull(), F.lit(audience)).alias("audience"), removal.alias("removal"),
                       params.alias("removal_params"))


def write_state(spark: SparkSession, state: DataFrame, path: str) -> None:
    """Write the next version beside the table, then put it in the table's place (the old one is read until then)."""
    if not _exists(spark, path):
        state.write.parquet(path)
        return
    staging = f"{path.rstrip('/')}.next-{uuid.uuid4().hex[:8]}"
    state.write.parquet(staging)
    fs, jpath = _filesystem(spark, path)
    fs.delete(jpath, True)
    fs.rename(_filesystem(spark, staging)[1], jpath)


def _filesystem(spark: SparkSession, path: str) -> tuple[Any, Any]:
    # Hadoop's FileSystem, so a table on DBFS, HDFS or an object store moves as a local folder does
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    return jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), jpath


def _exists(spark: SparkSession, path: str) -> bool:
    fs, jpath = _filesystem(spark, path)
    return bool(fs.exists(jpath))


__all__ = ["MIRROR_COLUMNS", "MIRROR_DDL", "STATE_DDL", "departed", "is_member", "next_mirror_state", "next_state",
           "read_state", "with_members", "with_previous", "write_state"]
