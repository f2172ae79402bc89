"""What the driver decides before a Spark job sends anything: the config each executor builds its
Sync from (secret references only), and each partition's share of the destination's rate budget.

No pyspark import (Arrow schemas only), so it can be checked without a Spark session.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from destkit.runtime.config.model import SyncConfig
from destkit.runtime.config.secrets import Secret
from destkit.runtime.config.source_paths import source_columns, unknown_primary_key, unknown_source_paths
from destkit.runtime.engine.arrow_records import projection, schema_columns
from destkit.runtime.errors import ConfigError, Issue, UsageError

# build_sync keywords an executor cannot be handed: a transport is a live object of this process, and
# needs_secrets=False would send nothing (the executors always send)
REFUSED_OVERRIDES = {"transport": "a transport is a live object of the driver process; executors open their own "
                                  "connections (use base_url= and allow_http= to point them at an emulator).",
                     "needs_secrets": "the executors send, so they always need the secrets."}


@dataclass(frozen=True)
class RateShare:
    """One partition's part of the destination's rate budget: the job's concurrent partitions share it."""

    partitions: int  # how many partitions run at the same time (the divisor)
    concurrency: int
    requests_per_second: float | None


def concurrent_partitions(num_partitions: int, parallelism: int) -> int:
    """How many of the job's partitions run at once: never more than there are, nor than the cluster's task slots."""
    return max(1, min(num_partitions, parallelism))


def split_rate(concurrency: int, requests_per_second: float | None, partitions: int) -> RateShare:
    """Each of `partitions` concurrent partitions gets rps / P and max(1, concurrency // P), so together they stay
    within the budget one process would have (concurrency may round up to one request in flight per partition)."""
    p = max(1, partitions)
    rps = None if requests_per_second is None else requests_per_second / p
    return RateShare(p, max(1, concurrency // p), rps)


def with_rate_share(config: SyncConfig, share: RateShare, *, incremental: bool) -> dict[str, Any]:
    """The config an executor builds its Sync from (a plain dict: picklable, secret references only),
    its options set to the partition's rate share (and incremental when the job keeps a state table)."""
    data = config.model_dump(mode="python", exclude_none=False)
    options = dict(data.get("options") or {})
    options["concurrency"] = share.concurrency
    options["requests_per_second"] = share.requests_per_second
    if incremental:
        options["incremental"] = True
    data["options"] = options
    return data


def refuse_literal_secrets(config: SyncConfig) -> None:
    """A secret given as its value cannot reach executors: destkit never pickles a secret, on purpose."""
    literal = sorted(name for name, ref in config.secrets.items() if isinstance(ref, Secret))
    if not literal:
        return
    raise ConfigError([
        Issue(f"secrets.{name}", "a secret given as its value cannot be sent to Spark executors: destkit never "
              "pickles a secret, so it cannot appear in a task, a plan or a log.",
              f"give a reference the executors resolve themselves: `secrets: {{{name}: {{env: {name.upper()}}}}}` "
              f"with {name.upper()} set on every executor (spark.executorEnv.{name.upper()}, or the cluster's "
              "environment variables, e.g. a Databricks secret scope reference), or `{file: /path/on/executors}`.")
        for name in literal], title="invalid sync config for Spark")


def check_columns(config: SyncConfig, schema: pa.Schema) -> None:
    """Every mapped source path (and the primary key) is a column of the DataFrame, checked on the driver as the CLI
    checks a file's header: a missing one would make every row invalid. Warned instead with
    `on_unknown_source_path: warn`; not checked when a column is a map (its keys are data)."""
    columns = schema_columns(schema, origin="the DataFrame")
    if columns is None:
        return
    issues = unknown_source_paths(config.mapping, columns) + unknown_primary_key(config.options.primary_key, columns)
    if issues and config.options.on_unknown_source_path == "warn":
        for issue in issues:
            warnings.warn(f"destkit.spark: {issue}", stacklevel=3)
    elif issues:
        raise ConfigError(issues, title="the mapping does not fit the DataFrame")


def columns_read(config: SyncConfig, names: list[str]) -> list[str] | None:
    """The DataFrame's columns the sync reads (`source_columns`: the mapped ones and the primary key), in its
    order; None when it reads every column (a template may read any field)."""
    return projection(names, source_columns(config.mapping, config.options.primary_key))


def spark_column_name(name: str) -> str:
    """`name` quoted for `F.col`, so a column named `a.b` is that column and not field `b` of a struct `a`."""
    return "`" + name.replace("`", "``") + "`"


def refuse_overrides(overrides: dict[str, Any]) -> None:
    for name, why in REFUSED_OVERRIDES.items():
        if name in overrides:
            raise UsageError(f"sync_dataframe does not take {name}=: {why}", key=name)


def check_modes(config: SyncConfig, state_table: str | None) -> None:
    """Mirror and incremental syncs need the state table the driver keeps (an executor has no store of its own)."""
    if config.options.mirror and state_table is None:
        raise UsageError("options.mirror removes the members an earlier run delivered that this DataFrame no longer "
                         "has, which on Spark are kept in a state table the driver reads and writes.",
                         key="options.mirror",
                         fix="pass state_table='/path/to/state' to sync_dataframe (a Parquet folder it creates).")
    if config.options.incremental and state_table is None:
        raise UsageError("options.incremental needs the fingerprints of earlier runs, which on Spark live in a state "
                         "table the driver reads and writes.", key="options.incremental",
                         fix="pass state_table='/path/to/state' to sync_dataframe (a Parquet folder it creates).")


def primary_key_of(config: SyncConfig, state_table: str | None) -> str | None:
    """The source column outcomes join back by; a state table cannot do without it, a plain sync warns."""
    key = config.options.primary_key
    if key is None and state_table is not None:
        raise UsageError("a state table keeps one fingerprint per input row, found again by the row's primary key.",
                         key="options.primary_key", fix="set `options: {primary_key: <source column>}`.")
    if key is None:
        warnings.warn("destkit.spark: options.primary_key is not set, so outcomes can be joined back to the input "
                      "only by (partition, row), which depends on how the DataFrame is partitioned.", stacklevel=3)
    return key


__all__ = ["RateShare", "check_columns", "check_modes", "columns_read", "concurrent_partitions", "primary_key_of",
           "refuse_literal_secrets", "refuse_overrides", "spark_column_name", "split_rate", "with_rate_share"]
