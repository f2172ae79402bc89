"""The destination's rate budget is shared by the partitions of a job that run at the same time."""

from __future__ import annotations

from pyspark.sql import SparkSession
from spark_kit import contacts_df

from destkit.spark import RateShare, rate_share_of, split_rate
from destkit.spark.plan import concurrent_partitions


def test_each_concurrent_partition_gets_an_equal_part_of_the_requests_per_second() -> None:
    assert split_rate(8, 10.0, 4) == RateShare(partitions=4, concurrency=2, requests_per_second=2.5)


def test_concurrency_is_divided_rounding_down() -> None:
    assert split_rate(10, None, 3).concurrency == 3


def test_a_partition_always_has_one_request_in_flight() -> None:
    assert split_rate(2, 4.0, 8) == RateShare(partitions=8, concurrency=1, requests_per_second=0.5)


def test_without_a_rate_limit_no_partition_gets_one() -> None:
    assert split_rate(4, None, 2).requests_per_second is None


def test_partitions_running_at_once_are_never_more_than_the_task_slots() -> None:
    assert concurrent_partitions(num_partitions=8, parallelism=2) == 2


def test_partitions_running_at_once_are_never_more_than_there_are() -> None:
    assert concurrent_partitions(num_partitions=1, parallelism=16) == 1


def test_a_dataframe_of_eight_partitions_on_local_2_splits_the_budget_in_two(spark: SparkSession) -> None:
    df = contacts_df(spark, 16, partitions=8)

    assert rate_share_of(df, concurrency=8, requests_per_second=10.0) == RateShare(2, 4, 5.0)
