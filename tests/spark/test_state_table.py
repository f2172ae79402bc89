"""Incremental sync on Spark: the driver's state table keeps a fingerprint per primary key between runs."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from spark_kit import contacts_df, spark_config

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.spark import summary_of, sync_dataframe
from tests.conftest import API_KEY, PROPERTIES, TAGS, emulator_state

ROWS = 200
DELIVERED = 185  # the other 15 contacts are invalid (bad phone, bad email, unknown tag)


def test_a_second_run_skips_every_row_delivered_unchanged_and_sends_a_changed_one(spark: SparkSession,
                                                                                 tmp_path: Path) -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    df = contacts_df(spark, ROWS, partitions=4)
    changed = df.withColumn("first_name", F.when(F.col("user_id") == "u000003", "Changed").otherwise(F.col("first_name")))
    state = str(tmp_path / "state")
    with running_server(app) as url:
        first = summary_of(sync_dataframe(df, spark_config(), state_table=state, base_url=url, allow_http=True))
        second = summary_of(sync_dataframe(df, spark_config(), state_table=state, base_url=url, allow_http=True))
        third = summary_of(sync_dataframe(changed, spark_config(), state_table=state, base_url=url, allow_http=True))

    assert dict(first.counts) == {"delivered": DELIVERED, "invalid": ROWS - DELIVERED}
    assert dict(second.counts) == {"skipped": DELIVERED, "invalid": ROWS - DELIVERED}
    assert second.reasons["unchanged"] == DELIVERED
    assert dict(third.counts) == {"delivered": 1, "skipped": DELIVERED - 1, "invalid": ROWS - DELIVERED}
    assert emulator_state(app).upsert_counts["u000003"] == 2


def test_the_state_table_holds_one_row_per_primary_key_delivered(spark: SparkSession, tmp_path: Path) -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    state = str(tmp_path / "state")
    with running_server(app) as url:
        sync_dataframe(contacts_df(spark, ROWS, partitions=2), spark_config(), state_table=state, base_url=url,
                       allow_http=True)

    table = spark.read.parquet(state)
    assert table.columns == ["primary_key", "key", "fingerprint"]
    assert table.count() == DELIVERED
    assert table.where("primary_key = key").count() == DELIVERED  # the key is the user id here

