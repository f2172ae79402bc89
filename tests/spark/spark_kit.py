"""What the Spark tests send: the config (API key from the executors' environment) and the audience."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pyspark.sql import DataFrame, SparkSession

from tests.conftest import TAGS, hc_config

KEY_ENV = "DESTKIT_SPARK_TEST_KEY"  # the API key reaches the executors through their environment only
MIRROR_TOKEN_ENV = "DESTKIT_SPARK_MIRROR_TOKEN"  # the membership emulator's token (`mirror_kit`), the same way


MAPPING = {"external_reference_id": "user_id", "first_name": "first_name", "last_name": "last_name",
           "phone_number": "phone", "email_address": "email", "tags": "segments"}  # the columns of `contact`


def spark_config(**options: Any) -> dict[str, Any]:
    """The tests' Send Contacts config with the API key as an env reference the executors resolve."""
    return hc_config(secrets={"api_key": {"env": KEY_ENV}}, mapping=MAPPING, options={"primary_key": "user_id", **options})


def contact(i: int) -> dict[str, Any]:
    """Row i of the test audience: mostly valid, with bad phones, unknown tags and bad emails planted."""
    return {
        "user_id": f"u{i:06d}",
        "first_name": f"F{i % 97}",
        "last_name": f"L{i % 89}",
        "phone": "415-555-0101" if i % 37 == 5 else f"+1415{i:07d}",
        "email": f"bad-email-{i}" if i % 41 == 7 else f"c{i}@example.com",
        "segments": [TAGS[i % 3]] + (["no_such_tag"] if i % 53 == 11 else []),
    }


CONTACT_DDL = "user_id string, first_name string, last_name string, phone string, email string, segments array<string>"


def write_contacts(path: Path, rows: int) -> Path:
    """The first `rows` contacts as JSON Lines (what the CLI reads, and Spark reads with `CONTACT_DDL`)."""
    with path.open("wb") as fh:
        for i in range(rows):
            fh.write(orjson.dumps(contact(i)) + b"\n")
    return path


def contacts_df(spark: SparkSession, rows: int, partitions: int) -> DataFrame:
    """The first `rows` contacts in `partitions` partitions (rows kept in order within each)."""
    df = spark.createDataFrame([contact(i) for i in range(rows)], CONTACT_DDL)
    return df.repartition(partitions)
