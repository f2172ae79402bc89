"""A local[2] SparkSession shared by the Spark tests (UI off, few shuffle partitions), its executors holding the
tests' secrets in their environment; and the mirror tests' `audience` and `url` fixtures (`mirror_kit`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from mirror_kit import TOKEN, audience, url  # noqa: F401 (audience, url: the mirror tests' fixtures)
from pyspark.sql import SparkSession
from spark_kit import KEY_ENV, MIRROR_TOKEN_ENV

from tests.conftest import API_KEY


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers import destkit from this environment
    session = (SparkSession.builder.master("local[2]").appName("destkit-tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.sql.session.timeZone", "UTC")
               .config(f"spark.executorEnv.{KEY_ENV}", API_KEY)
               .config(f"spark.executorEnv.{MIRROR_TOKEN_ENV}", TOKEN)
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
