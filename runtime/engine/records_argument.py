"""The `records` a Python caller hands `Sync.run`/`dry_run`/`preview`, refused when iterating it gives no records.

A dict iterates its keys, a str its characters, a pandas DataFrame its column names: each would become one
`malformed_input` outcome per key, character or column while the caller's real records were never read.
Such an argument is a `UsageError` saying what to pass instead, before anything is read or sent.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from destkit.runtime.errors import UsageError

KEY = "records"
EXAMPLE = "e.g. a list of dicts, a generator of dicts, or a pyarrow Table"


def check_records_argument(records: Any) -> None:
    """Raise a `UsageError` if `records` is not an iterable of records (see the module docstring)."""
    problem = _what_is_wrong(records)
    if problem is not None:
        message, fix = problem
        raise UsageError(message, key=KEY, fix=fix)


def _what_is_wrong(records: Any) -> tuple[str, str] | None:
    """(message, fix) for an argument that is not records, or None when it is."""
    if records is None:
        return "records is None, not an iterable of records.", f"pass the records, {EXAMPLE}."
    if isinstance(records, str | bytes | os.PathLike):
        return (f"records is {_a(records)}, not an iterable of records (iterating it gives its "
                "characters).", "to read a file, pass destkit.runtime.engine.sources.read_records(path).")
    if isinstance(records, Mapping):
        return (f"records is one record (a {type(records).__name__} of {len(records)} fields), not an iterable of "
                "records (iterating it gives its keys).", "pass a list of records, e.g. [record].")
    if type(records).__name__ == "DataFrame":  # pandas, polars...: iterating one gives its column names
        return (f"records is a {type(records).__module__.split('.')[0]} DataFrame: iterating it gives its column "
                "names, not its rows.", "pass pyarrow.Table.from_pandas(df) (or df.to_arrow() for polars), or "
                "df.to_dict('records').")
    if not isinstance(records, Iterable | AsyncIterable) and not type(records).__module__.startswith("pyarrow"):
        return f"records is {_a(records)}, not an iterable of records.", f"pass the records, {EXAMPLE}."
    return None


def _a(value: Any) -> str:
    """`value`'s type name with its article: "a str", "an int"."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


__all__ = ["check_records_argument"]
