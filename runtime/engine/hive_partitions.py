"""Hive-style partition folders of a Parquet folder (`country=FR/part-0.parquet`): their values as columns.

Spark, Databricks, Hive and pyarrow write a table partitioned by a column as one folder level per column,
`name=value`, and leave that column out of the files. A record read from such a file gets each of its
folders' `name=value` pairs as a text column (values are URL-decoded as Spark writes them; Hive's
`__HIVE_DEFAULT_PARTITION__` is a null, as a null value in the file is). Text, not an inferred number: the
checks read a number from text as they read a CSV cell. A column the file itself holds wins.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def partition_values(root: Path, file: Path) -> dict[str, str | None]:
    """The `name=value` folders between `root` and `file`, outermost first (None for Hive's null)."""
    if file == root:
        return {}
    values: dict[str, str | None] = {}
    for part in file.relative_to(root).parts[:-1]:
        name, sep, value = part.partition("=")
        if sep and name:
            text = unquote(value)
            values[unquote(name)] = None if text == HIVE_NULL else text
    return values


def partition_names(root: Path, files: list[Path]) -> list[str]:
    """Every partition column named by the folders of `files`, in first-seen order."""
    names: dict[str, None] = {}
    for file in files:
        names.update(dict.fromkeys(partition_values(root, file)))
    return list(names)


def with_partitions(pa: Any, batches: Iterator[Any], values: dict[str, str | None]) -> Iterator[Any]:
    """`batches` with a text column per partition value the file does not hold itself (zero-copy when none)."""
    for batch in batches:
        for name, value in values.items():
            if name not in batch.schema.names:
                column = pa.nulls(batch.num_rows, pa.string()) if value is None else \
                    pa.repeat(pa.scalar(value, pa.string()), batch.num_rows)
                batch = batch.append_column(name, column)
        yield batch


__all__ = ["HIVE_NULL", "partition_names", "partition_values", "with_partitions"]
