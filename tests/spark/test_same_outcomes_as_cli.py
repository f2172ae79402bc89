"""100,000 contacts in 8 partitions on Spark get the outcomes `destkit sync` gives the same rows, row for row
by primary key (the API key reaching the executors only through their environment)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from cli_runs import run_cli
from pyspark.sql import SparkSession
from spark_kit import CONTACT_DDL, KEY_ENV, write_contacts

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.spark import summary_of, sync_dataframe
from tests.conftest import API_KEY, PROPERTIES, TAGS, hc_config

ROWS = 100_000
MAPPING = {"external_reference_id": "user_id", "first_name": "first_name", "last_name": "last_name",
           "phone_number": "phone", "email_address": "email", "tags": "segments"}
CONFIG = hc_config(secrets={"api_key": {"env": KEY_ENV}}, mapping=MAPPING, options={"primary_key": "user_id"})


def by_primary_key(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, Any, Any]]:
    return {r["primary_key"]: (r["outcome"], r.get("reason"), r.get("field")) for r in rows}


@pytest.fixture(scope="module")
def audience(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_contacts(tmp_path_factory.mktemp("audience") / "contacts.jsonl", ROWS)


def cli_outcomes(audience: Path, folder: Path) -> dict[str, tuple[Any, Any, Any]]:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    config = folder / "sync.yaml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    outcomes = folder / "outcomes.jsonl"
    with running_server(app) as url:
        proc = run_cli(["sync", str(config), "--input", str(audience), "--base-url", url, "--allow-http",
                        "--no-state", "--quiet", "--outcomes", str(outcomes)], env={**os.environ, KEY_ENV: API_KEY},
                       timeout=600)
    assert proc.returncode == 1, proc.stderr  # some contacts are invalid
    return by_primary_key([orjson.loads(line) for line in outcomes.read_bytes().splitlines()])


def spark_outcomes(spark: SparkSession, audience: Path) -> tuple[dict[str, tuple[Any, Any, Any]], int, dict[str, int]]:
    app = create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)
    df = spark.read.schema(CONTACT_DDL).json(str(audience)).repartition(8)
    with running_server(app) as url:
        outcomes = sync_dataframe(df, CONFIG, base_url=url, allow_http=True)
    rows = [r.asDict() for r in outcomes.select("primary_key", "outcome", "reason", "field").collect()]
    partitions = outcomes.select("partition").distinct().count()
    return by_primary_key(rows), partitions, dict(summary_of(outcomes).counts)


def test_spark_gives_each_row_the_outcome_the_cli_gives_it(spark: SparkSession, audience: Path, tmp_path: Path) -> None:
    assert KEY_ENV not in os.environ  # the driver never has the key: the executors resolve it from their environment
    from_cli = cli_outcomes(audience, tmp_path)
    from_spark, partitions, counts = spark_outcomes(spark, audience)

    assert len(from_cli) == ROWS
    assert partitions == 8
    assert from_spark == from_cli
    assert counts == {"delivered": 93_133, "invalid": 6_867}
