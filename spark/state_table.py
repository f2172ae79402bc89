"""The state table of incremental syncs on Spark: one row per input primary key with the destination key
and the fingerprint of the body last delivered for it. The driver owns it (a Parquet folder): it reads it
and joins it onto the rows before the job, and writes the next version once the job is done."""

from __future__ import annotations

import uuid
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from destkit.spark.columns import FINGERPRINT
from destkit.spark.partition import PREVIOUS_FINGERPRINT, PREVIOUS_KEY

STATE_DDL = "primary_key string, key string, fingerprint binary"
_JOIN_KEY = "_destkit_state_primary_key"


def read_state(spark: SparkSession, path: str) -> DataFrame:
    """The state table, or an empty one before the first run."""
    if not _exists(spark, path):
        return spark.createDataFrame([], STATE_DDL)
    return spark.read.parquet(path).select("primary_key", "key", "fingerprint")


def with_previous(df: DataFrame, state: DataFrame, primary_key: str) -> DataFrame:
    """The rows with the key and fingerprint last delivered for their primary key (null for new rows)."""
    previous = state.select(F.col("primary_key").alias(_JOIN_KEY), F.col("key").alias(PREVIOUS_KEY),
                            F.col("fingerprint").alias(PREVIOUS_FINGERPRINT))
    joined = df.join(previous, F.col(primary_key).cast("string") == F.col(_JOIN_KEY), "left")
    return joined.drop(_JOIN_KEY)


def next_state(outcomes: DataFrame, state: DataFrame) -> DataFrame:
    """This run's fingerprints, plus the earlier rows of primary keys this input did not have."""
    seen = (outcomes.where(F.col(FINGERPRINT).isNotNull() & F.col("primary_key").isNotNull())
            .select("primary_key", "key", F.col(FINGERPRINT).alias("fingerprint"))
            .dropDuplicates(["primary_key"]))
    kept = state.join(outcomes.select("primary_key").distinct(), "primary_key", "left_anti")
    return seen.unionByName(kept)


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


__all__ = ["STATE_DDL", "next_state", "read_state", "with_previous", "write_state"]
