"""Whether a file given as `--state` is a destkit state store, before destkit writes anything into it.

A directory, a device or a pipe, a file that is no SQLite database, or another program's SQLite database
(its tables are none of ours, or one of ours lacks a column every destkit wrote) is not one, and
`StateStore` refuses it (`NotAStateStore`) with the reason found here: adding our tables to another
program's database, or failing on the first write with a hint about disk space, would both mislead.
A store of an older destkit passes (`StateStore` adds its missing optional columns), as does an empty file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from functools import cache
from pathlib import Path


@cache
def _required_columns(schema: str, optional: tuple[tuple[str, str], ...]) -> dict[str, frozenset[str]]:
    """Table → the columns a store of any destkit version has (the schema's, less those added later)."""
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(schema)
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        later = {(table, column) for table, column in optional}
        return {table: frozenset(name for (_, name, *_rest) in db.execute(f"PRAGMA table_info({table})")
                                 if (table, name) not in later) for table in tables}
    finally:
        db.close()


def why_not_a_file(path: Path) -> str | None:
    """What the path is when it is no regular file: SQLite says only "unable to open database file" for
    a directory, and "disk I/O error" for /dev/null or a named pipe (with a hint about free space)."""
    if path.is_dir():
        return "it is a directory"
    if path.exists() and not path.is_file():
        return "it is no regular file (a device, a named pipe or a socket)"
    return None


def why_not_a_store(db: sqlite3.Connection, schema: str,
                    optional: Mapping[str, tuple[tuple[str, str], ...]]) -> str | None:
    """Why the database at `db` is no destkit state store; None when it is one, or is empty."""
    pairs = tuple((table, column) for table, added in optional.items() for column, _kind in added)
    required = _required_columns(schema, pairs)
    try:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:  # "file is not a database": a text file, an image, ...
        return "it is not an SQLite database"
    ours = tables & required.keys()
    if tables and not ours:
        return f"it is an SQLite database with other tables ({_listed(tables)})"
    for table in sorted(ours):
        have = {name for (_, name, *_rest) in db.execute(f"PRAGMA table_info({table})")}
        if missing := sorted(required[table] - have):
            return f"its table {table} has no column {missing[0]}"
    return None


def _listed(names: set[str]) -> str:
    shown = sorted(names)[:5]
    return ", ".join(shown) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


__all__ = ["why_not_a_file", "why_not_a_store"]
