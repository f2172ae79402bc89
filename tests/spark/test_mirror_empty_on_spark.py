"""Mirror mode on Spark over a DataFrame of no rows: stage 2 removes nobody and the state table keeps every member,
unless `options.allow_empty_mirror` (as in one process: an export that came out empty must not empty the audience)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mirror_kit import Audience, emails, spec
from mirror_kit import config as mirror_config
from pyspark.sql import DataFrame, SparkSession
from spark_kit import MIRROR_TOKEN_ENV

from destkit.spark import summary_of, sync_dataframe

MEMBER_DDL = "user_id string, email string, name string"


def members(spark: SparkSession, numbers: range) -> DataFrame:
    rows = [{"user_id": f"u{n}", "email": f"user{n}@example.com", "name": "N"} for n in numbers]
    return spark.createDataFrame(rows, MEMBER_DDL).repartition(2)


def spark_mirror(df: DataFrame, url: str, state: Path, **options: Any) -> DataFrame:
    config = mirror_config(primary_key="user_id", **options) | {"secrets": {"token": {"env": MIRROR_TOKEN_ENV}}}
    return sync_dataframe(df, config, state_table=str(state), spec=spec(), base_url=url, allow_http=True)


def test_an_empty_dataframe_removes_nobody_and_the_next_run_still_can(spark: SparkSession, url: str,
                                                                     audience: Audience, tmp_path: Path) -> None:
    spark_mirror(members(spark, range(6)), url, tmp_path / "state")

    empty = summary_of(spark_mirror(members(spark, range(0)), url, tmp_path / "state"))
    after = summary_of(spark_mirror(members(spark, range(4)), url, tmp_path / "state"))

    assert (empty.received, empty.removed) == (0, 0)
    assert (after.removed, sorted(audience.removed)) == (2, sorted(emails(range(4, 6))))


def test_with_allow_empty_mirror_an_empty_dataframe_removes_every_member(spark: SparkSession, url: str,
                                                                        audience: Audience, tmp_path: Path) -> None:
    spark_mirror(members(spark, range(6)), url, tmp_path / "state", allow_empty_mirror=True)

    empty = summary_of(spark_mirror(members(spark, range(0)), url, tmp_path / "state", allow_empty_mirror=True))

    assert (empty.removed, audience.members) == (6, set())
