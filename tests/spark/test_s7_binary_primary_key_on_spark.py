"""On Spark as in the CLI (tests/runtime/engine/test_s7_binary_primary_key.py): a binary primary key column the
mapping does not read is each row's hex key, and its bytes that are not UTF-8 fail no row."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from spark_kit import contacts_df, spark_config

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.spark import sync_dataframe
from tests.conftest import API_KEY, PROPERTIES, TAGS


def test_a_binary_primary_key_column_is_each_rows_hex_key_on_spark(spark: SparkSession) -> None:
    df = contacts_df(spark, 3, partitions=1).withColumn("crm_key", F.lit(bytearray(b"\xff\x00\x10")))
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    with running_server(app) as url:
        outcomes = sync_dataframe(df, spark_config(primary_key="crm_key"), base_url=url, allow_http=True).collect()

    assert sorted((o["outcome"], o["reason"], o["primary_key"]) for o in outcomes) == [("delivered", None, "ff0010")] * 3
