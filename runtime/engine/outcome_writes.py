"""How the state store writes outcomes: the SQL for a batch of `Outcome`s, and for delivered records
given as columns (`DeliveredRows`). Imports base modules and `delivery.delivered` only."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

from destkit.runtime.delivery.delivered import DeliveredRows
from destkit.runtime.outcomes import Outcome, Status

# named in each write: an older store's added columns come last, whatever order a new store has them in
_OUTCOME_COLUMNS = ("run_id, row, key, status, reason, field, message, destination_status, destination_code, "
                    "destination_message, destination_id, warnings, attempts, value, primary_key")


_OUTCOME_INSERT = f"INSERT OR REPLACE INTO outcomes ({_OUTCOME_COLUMNS}) VALUES ({', '.join('?' * 15)})"
# the columns a delivered outcome has; the others are left NULL by not naming them (binding a None
# costs the sqlite3 module a failed adapter lookup per value: most of the write's CPU, measured)
_PLAIN_OUTCOME_INSERT = ("INSERT OR REPLACE INTO outcomes (run_id, row, key, status, destination_id, attempts) "
                         "VALUES (?, ?, ?, ?, ?, ?)")
_PLAIN_KEYED_OUTCOME_INSERT = ("INSERT OR REPLACE INTO outcomes (run_id, row, key, status, destination_id, attempts, "
                               "primary_key) VALUES (?, ?, ?, ?, ?, ?, ?)")


@dataclass(frozen=True)
class Shared:
    """What every row of a delivered batch has alike, written without a bound value a row (a bound value
    costs the sqlite3 module ~0.1-0.2 µs a record, measured): `attempts` as a literal when every row has
    the same, and the destination id as the key's own parameter when every row's id is its key."""

    attempts: int | None = None
    id_is_key: bool = False


@lru_cache(maxsize=64)
def values_insert(names: tuple[str, ...], rows: int, shared: Shared = Shared()) -> str:
    """INSERT OR REPLACE of `rows` delivered outcomes in one statement (SQLite caches it by its text): the
    run id bound once (?1) for every row, the status a literal, `names` bound row after row, `shared` as said."""
    k = len(names)
    literals = f"'{Status.DELIVERED.value}'" + ("" if shared.attempts is None else f", {int(shared.attempts)}")
    columns = ["run_id", "status", *([] if shared.attempts is None else ["attempts"]), *names]
    key_at = names.index("key") if shared.id_is_key else -1
    if shared.id_is_key:
        columns.append("destination_id")

    def row(i: int) -> str:
        params = [f"?{2 + i * k + j}" for j in range(k)]
        return f"(?1, {literals}, {', '.join(params + ([params[key_at]] if key_at >= 0 else []))})"

    return f"INSERT OR REPLACE INTO outcomes ({', '.join(columns)}) VALUES {', '.join(row(i) for i in range(rows))}"


def outcome_rows(run_id: str, outcomes: list[Outcome]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The statements that write `outcomes` and their rows: plain ones (nothing but a key, an id and
    attempts) through the short insert, the others through the full one."""
    if len({o.row for o in outcomes}) != len(outcomes):  # a row twice: written in order, the last one stays
        return [(_OUTCOME_INSERT, [_full_outcome_row(run_id, o) for o in outcomes])]
    plain: list[tuple[Any, ...]] = []
    keyed: list[tuple[Any, ...]] = []  # plain, with the input's primary key (options.primary_key)
    full: list[tuple[Any, ...]] = []
    for o in outcomes:
        if (o.reason is None and o.field is None and o.message is None and o.destination_status is None
                and o.destination_code is None and o.destination_message is None and not o.warnings and o.value is None):
            if o.primary_key is None:
                plain.append((run_id, o.row, o.key, str(o.status), o.destination_id, o.attempts))
            else:
                keyed.append((run_id, o.row, o.key, str(o.status), o.destination_id, o.attempts, o.primary_key))
        else:
            full.append(_full_outcome_row(run_id, o))
    statements = ((_PLAIN_OUTCOME_INSERT, plain), (_PLAIN_KEYED_OUTCOME_INSERT, keyed), (_OUTCOME_INSERT, full))
    return [(sql, rows) for sql, rows in statements if rows]


def _full_outcome_row(run_id: str, o: Outcome) -> tuple[Any, ...]:
    return (run_id, o.row, o.key, o.status.value, o.reason, o.field, o.message, o.destination_status,
            o.destination_code, o.destination_message, o.destination_id,
            json.dumps(o.warnings) if o.warnings else None, o.attempts, None if o.value is None else json.dumps(o.value),
            o.primary_key)


def write_delivered(db: sqlite3.Connection, run_id: str, columns: DeliveredRows, max_variables: int) -> bool:
    """Delivered records' outcomes from their columns, naming no column that would bind only None (binding
    a None costs an adapter lookup per value), nor binding what `Shared` writes once. Whether any of them
    has a destination id."""
    n = len(columns.rows)
    names = ["row", "key"]
    values: list[Iterable[Any]] = [columns.rows, columns.keys]
    first = columns.attempts[0] if n else None
    attempts = first if type(first) is int and columns.attempts.count(first) == n else None
    if attempts is None:
        names.append("attempts")
        values.append(columns.attempts)
    with_ids = columns.ids.count(None) < n
    id_is_key = with_ids and columns.ids == columns.keys
    if with_ids and not id_is_key:
        names.append("destination_id")
        values.append(columns.ids)
    if columns.primary_keys is not None and columns.primary_keys.count(None) < n:
        names.append("primary_key")
        values.append(columns.primary_keys)
    insert_values(db, run_id, names, values, n, max_variables, Shared(attempts, id_is_key))
    return with_ids


def insert_values(db: sqlite3.Connection, run_id: str, names: list[str], values: list[Iterable[Any]], n: int,
                  max_variables: int, shared: Shared = Shared()) -> None:
    """`n` delivered outcomes of `run_id` from columns, up to 500 rows a statement: a row of VALUES each
    costs SQLite less than a step of `executemany` each (measured: 1.6 against 2.5-4 µs a record);
    rows in order, so a row given twice keeps its last outcome."""
    width = len(names)
    per = max(1, min(500, (max_variables - 1) // width))
    flat = list(chain.from_iterable(zip(*values, strict=True)))
    for start in range(0, n, per):
        db.execute(values_insert(tuple(names), min(per, n - start), shared),
                   [run_id, *flat[start * width:(start + per) * width]])
