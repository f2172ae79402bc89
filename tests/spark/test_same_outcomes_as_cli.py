"""100,000 contacts in 8 partitions on Spark get the outcomes `destkit sync` gives the same rows, row for row
by primary key (the API key reaching the executors only through their environment)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from cli_runs import run_cli
from pyspark.sql import DataFrame, SparkSession
from spark_kit import CONTACT_DDL, KEY_ENV, spark_config, write_contacts

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.spark import summary_of, sync_dataframe
from tests.conftest import API_KEY, PROPERTIES, TAGS

ROWS = 100_000
CONFIG = spark_config()


COMPARED = "primary_key string, outcome string, reason string, field string"


@pytest.fixture(scope="module")
def audience(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_contacts(tmp_path_factory.mktemp("audience") / "contacts.jsonl", ROWS)


def cli_outcomes(audience: Path, folder: Path) -> Path:
    """`destkit sync --outcomes` on the audience; the outcomes file."""
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    config = folder / "sync.yaml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    outcomes = folder / "outcomes.jsonl"
    with running_server(app) as url:
        proc = run_cli(["sync", str(config), "--input", str(audience), "--base-url", url, "--allow-http",
                        "--no-state", "--quiet", "--outcomes", str(outcomes)], env={**os.environ, KEY_ENV: API_KEY},
                       timeout=600)
    assert proc.returncode == 1, proc.stderr  # some contacts are invalid
    return outcomes


def spark_outcomes(spark: SparkSession, audience: Path) -> DataFrame:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    df = spark.read.schema(CONTACT_DDL).json(str(audience)).repartition(8)
    with running_server(app) as url:
        return sync_dataframe(df, CONFIG, base_url=url, allow_http=True)


def test_spark_gives_each_row_the_outcome_the_cli_gives_it(spark: SparkSession, audience: Path, tmp_path: Path) -> None:
    assert KEY_ENV not in os.environ  # the driver never has the key: the executors resolve it from their environment
    from_cli = spark.read.schema(COMPARED).json(str(cli_outcomes(audience, tmp_path)))
    outcomes = spark_outcomes(spark, audience)
    from_spark = outcomes.select("primary_key", "outcome", "reason", "field")

    assert from_cli.count() == ROWS
    assert from_spark.count() == ROWS
    assert from_spark.exceptAll(from_cli).limit(5).collect() == []  # the same (outcome, reason, field) per primary key
    assert from_cli.exceptAll(from_spark).limit(5).collect() == []
    assert outcomes.select("partition").distinct().count() == 8
    assert dict(summary_of(outcomes).counts) == {"delivered": 93_133, "invalid": 6_867}
