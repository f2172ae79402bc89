"""Secrets reach the executors as references they resolve themselves; none travels in a task or an outcome."""

from __future__ import annotations

import pytest
from pyspark.errors import PythonException
from pyspark.sql import SparkSession
from spark_kit import contacts_df, spark_config

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.spark import summary_of, sync_dataframe
from tests.conftest import API_KEY, PROPERTIES, TAGS


def test_a_key_set_only_in_the_executors_environment_delivers(spark: SparkSession) -> None:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    with running_server(app) as url:
        outcomes = sync_dataframe(contacts_df(spark, 4, partitions=2), spark_config(), base_url=url, allow_http=True)

    assert dict(summary_of(outcomes).counts) == {"delivered": 4}


def test_a_key_the_executors_lack_fails_the_job_naming_the_variable(spark: SparkSession) -> None:
    config = spark_config() | {"secrets": {"api_key": {"env": "DESTKIT_SPARK_NOT_SET"}}}
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    with running_server(app) as url, pytest.raises(PythonException, match=r"DESTKIT_SPARK_NOT_SET"):
        sync_dataframe(contacts_df(spark, 2, partitions=1), config, base_url=url, allow_http=True)


def test_a_partition_refused_its_credentials_fails_the_job_without_showing_the_key(spark: SparkSession) -> None:
    app = create_app(api_key="another-key", tags=TAGS, custom_properties=PROPERTIES)  # refuses the executors' key
    with running_server(app) as url, pytest.raises(PythonException, match=r"was aborted: auth_failed") as caught:
        sync_dataframe(contacts_df(spark, 2, partitions=1), spark_config(), base_url=url, allow_http=True)

    assert API_KEY not in str(caught.value)
