"""What sync_dataframe refuses before any task starts, each with the reason and the fix."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pyspark.sql import DataFrame, SparkSession
from spark_kit import contacts_df, spark_config

from destkit.runtime.config.model import SyncConfig
from destkit.runtime.errors import ConfigError, UsageError
from destkit.spark import sync_dataframe
from destkit.spark.plan import primary_key_of
from tests.conftest import hc_config

URL = {"base_url": "http://127.0.0.1:9", "allow_http": True}  # never reached: each call is refused first


@pytest.fixture(scope="module")
def df(spark: SparkSession) -> DataFrame:
    return contacts_df(spark, 3, partitions=1)


def refusal(df: DataFrame, config: dict[str, Any], **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        sync_dataframe(df, config, **{**URL, **kwargs})
    return caught.value


def test_a_secret_given_as_its_value_is_refused_with_the_reference_to_use(df: DataFrame) -> None:
    issue = refusal(df, hc_config(options={"primary_key": "user_id"})).issues[0]

    assert issue.key == "secrets.api_key"
    assert issue.message.startswith("a secret given as its value cannot be sent to Spark executors")
    assert "`secrets: {api_key: {env: API_KEY}}`" in issue.fix


def test_the_refusal_of_a_literal_secret_does_not_show_it(df: DataFrame) -> None:
    error = refusal(df, hc_config(secrets={"api_key": "s3cret-value-123"}, options={"primary_key": "user_id"}))

    assert "s3cret-value-123" not in str(error)


def test_mirror_mode_without_a_state_table_is_refused(df: DataFrame) -> None:
    error = refusal(df, spark_config(mirror=True))

    assert isinstance(error, UsageError)
    assert error.issues[0].key == "options.mirror"
    assert "state_table=" in error.issues[0].fix


def test_incremental_without_a_state_table_is_refused(df: DataFrame) -> None:
    error = refusal(df, spark_config(incremental=True))

    assert error.issues[0].key == "options.incremental"
    assert "state_table=" in error.issues[0].fix


def test_a_state_table_without_a_primary_key_is_refused(df: DataFrame, tmp_path: Any) -> None:
    error = refusal(df, hc_config(secrets={"api_key": {"env": "K"}}), state_table=str(tmp_path / "state"))

    assert error.issues[0].key == "options.primary_key"


def test_a_transport_is_refused_since_executors_open_their_own_connections(df: DataFrame) -> None:
    error = refusal(df, spark_config(), transport=httpx.MockTransport(lambda request: httpx.Response(200)))

    assert isinstance(error, UsageError)
    assert error.issues[0].key == "transport"


def test_a_config_problem_is_found_on_the_driver(df: DataFrame) -> None:
    error = refusal(df, spark_config() | {"action": "no_such_action"})

    assert error.issues[0].key == "action"


def test_a_mapped_column_the_dataframe_lacks_is_refused_naming_it(df: DataFrame) -> None:
    config = spark_config()
    config["mapping"] = {**config["mapping"], "email_address": "mail"}
    issue = refusal(df, config).issues[0]

    assert (issue.key, issue.fix) == ("mapping.email_address", "did you mean 'email'?")


def test_a_primary_key_the_dataframe_lacks_is_refused(df: DataFrame) -> None:
    config = spark_config()
    config["options"] = {"primary_key": "customer_id"}

    assert refusal(df, config).issues[0].key == "options.primary_key"


def test_a_sync_without_a_primary_key_warns_that_rows_join_back_only_by_partition_and_row() -> None:
    with pytest.warns(UserWarning, match=r"options.primary_key is not set"):
        assert primary_key_of(SyncConfig.from_dict(hc_config(secrets={})), None) is None
