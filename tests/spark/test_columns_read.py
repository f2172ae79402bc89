"""sync_dataframe hands the partitions only the columns the sync reads (the mapped ones and the primary key)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from spark_kit import contacts_df, spark_config

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.runtime.config.model import SyncConfig
from destkit.spark import summary_of, sync_dataframe
from destkit.spark.plan import columns_read, spark_column_name
from tests.conftest import API_KEY, PROPERTIES, TAGS


def with_undecodable_blob(df: DataFrame) -> DataFrame:
    """`df` plus an unmapped binary column whose bytes are not UTF-8: a row read with it is malformed."""
    return df.withColumn("blob", F.lit(bytearray(b"\xff\xfe")))


def counts(df: DataFrame, config: dict[str, object]) -> dict[str, int]:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    with running_server(app) as url:
        return dict(summary_of(sync_dataframe(df, config, base_url=url, allow_http=True)).counts)


def test_an_unmapped_column_is_not_read_so_its_values_cannot_fail_a_row(spark: SparkSession) -> None:
    df = with_undecodable_blob(contacts_df(spark, 4, partitions=2))

    assert counts(df, spark_config()) == {"delivered": 4}


def test_a_mapping_that_renders_a_template_reads_every_column(spark: SparkSession) -> None:
    config = spark_config()
    config["mapping"] = {**config["mapping"], "first_name": {"template": "{{ first_name }}"}}
    df = with_undecodable_blob(contacts_df(spark, 2, partitions=1))

    assert counts(df, config) == {"invalid": 2}


def test_the_columns_read_are_the_mapped_ones_and_the_primary_key_in_the_frames_order() -> None:
    config = SyncConfig.model_validate(spark_config())

    assert columns_read(config, ["blob", "segments", "email", "phone", "user_id", "first_name", "last_name"]) == [
        "segments", "email", "phone", "user_id", "first_name", "last_name"]


def test_a_column_name_with_a_dot_or_a_backtick_is_quoted_as_one_column() -> None:
    assert spark_column_name("a.b") == "`a.b`"
    assert spark_column_name("x`y") == "`x``y`"
