"""Arrow-native input: Parquet files and folders, Delta tables, DuckDB queries and in-memory Arrow data,
read as records in batches of at most 8,192 rows.

Arrow values become what the checks and orjson take (decimal → int or float, date → "YYYY-MM-DD",
timestamp → ISO 8601, list → list, struct and map → dict, null → None), a column at a time with
pyarrow.compute; a value that cannot be converted makes its row a `Malformed` item naming the row and
the column, and the read goes on. pyarrow, deltalake and duckdb are the optional extra
`destkit[arrow]`: each is imported when first needed, and a missing one is a `UsageError` saying so.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
from collections import Counter
from collections.abc import AsyncIterable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from destkit.runtime.config.source_paths import Columns, ColumnsRead
from destkit.runtime.engine.arrow_convert import (
    bytes_values,
    column_values,
    dicts_of,
    rows_per_conversion,
    values_by_row,
)
from destkit.runtime.engine.hive_partitions import partition_names, partition_values, with_partitions
from destkit.runtime.engine.interruptible import Stop, call_interruptibly
from destkit.runtime.engine.items import Item, ItemSource, Malformed
from destkit.runtime.errors import UsageError, first_line

BATCH_ROWS = 8192  # the most rows a reader asks for at once: memory stays flat
# rows of a Parquet row group decoded at once: pyarrow's buffers peak ~4 MiB lower than at 8,192 (W1, 65,536-row
# groups), for no more CPU per row (measured)
PARQUET_BATCH_ROWS = 2048
EXTRA_FIX = "pip install 'destkit[arrow]'"
ARROW_FORMATS = ("parquet", "delta")
_ARROW_DATA = frozenset({"Table", "RecordBatch", "RecordBatchReader"})


# --- the optional extra ---------------------------------------------------------------------------------


def _require(module: str, feature: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(f"{feature} needs the optional extra: {EXTRA_FIX}", key="input",
                         fix=f"{EXTRA_FIX} (pyarrow, deltalake and duckdb)") from None


def require_pyarrow(feature: str) -> ModuleType:
    """pyarrow, or a `UsageError` naming `feature` ("reading .parquet") and the extra that brings it."""
    return _require("pyarrow", feature)


def require_deltalake(feature: str) -> ModuleType:
    """deltalake (with pyarrow), or a `UsageError` naming `feature` and the extra."""
    require_pyarrow(feature)
    return _require("deltalake", feature)


def require_duckdb(feature: str) -> ModuleType:
    """duckdb (with pyarrow), or a `UsageError` naming `feature` and the extra."""
    require_pyarrow(feature)
    return _require("duckdb", feature)


def use_system_allocator() -> None:
    """Make pyarrow allocate with the system allocator, which gives freed batches back: a streamed read then
    holds ~20 MiB less than with the default mimalloc pool. For a process destkit owns (the CLI); an embedding
    program may do the same, or set ARROW_DEFAULT_MEMORY_POOL=system."""
    pa = require_pyarrow("reading Arrow data")
    pa.set_memory_pool(pa.system_memory_pool())


# --- Arrow values as record values ----------------------------------------------------------------------


class _Compute:
    """pyarrow.compute, imported when a conversion first uses it: strings, numbers, and lists and structs of
    them (but for a null list or struct) need none of it, and its import costs ~0.1 s of CPU (measured)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("pyarrow.compute"), name)


_PC = _Compute()


def _compute() -> tuple[Any, Any]:
    return require_pyarrow("reading Arrow data"), _PC


def items_from_batch(batch: Any, first_row: int = 1, as_bytes: Collection[str] = ()) -> list[Item]:
    """The records of an Arrow RecordBatch whose first row is row `first_row` of the input; a row with a value
    that cannot be converted is a `Malformed` naming the row and the column. A binary column named in
    `as_bytes` (`ColumnsRead.as_bytes`) keeps its bytes; any other is text."""
    pa, pc = _compute()
    names: list[str] = batch.schema.names
    columns: list[list[Any]] = []
    problems: dict[int, str] = {}
    for name, array in zip(names, batch.columns, strict=True):
        if name in as_bytes and (raw := bytes_values(pa, array)) is not None:
            columns.append(raw)
            continue
        try:
            columns.append(column_values(pa, pc, array))
        except Exception:  # find the rows that fail, convert the rest
            values, failed = values_by_row(pa, pc, array)
            columns.append(values)
            for i, why in failed.items():
                problems.setdefault(i, f"row {first_row + i}, column {name!r}: the value cannot be read ({why}); "
                                       "fix the value or cast the column.")
    records: list[Item] = dicts_of(names, columns, batch.num_rows)
    for i, message in problems.items():
        records[i] = Malformed(first_row + i, message)
    return records


def records_from_batch(batch: Any) -> list[dict[str, Any]]:
    """The records of an Arrow RecordBatch, values converted (see the module docstring); a `UsageError` names
    the first row and column whose value cannot be converted."""
    records: list[dict[str, Any]] = []
    for item in items_from_batch(batch):
        if isinstance(item, Malformed):
            raise UsageError(item.message, key="input")
        records.append(item)
    return records


# --- Arrow data as a stream of records ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unreadable:
    """`rows` rows of the input that its reader could not decode, and why (`problem`): one `Malformed` each."""

    rows: int
    problem: str

    def items(self, first_row: int) -> list[Item]:
        return [Malformed(row, f"row {row}: {self.problem}") for row in range(first_row, first_row + self.rows)]


def is_arrow_data(value: object) -> bool:
    """Whether `value` is a pyarrow Table, RecordBatch or RecordBatchReader (told without importing pyarrow)."""
    kind = type(value)
    return kind.__module__.split(".")[0] == "pyarrow" and kind.__name__ in _ARROW_DATA


def _is_batch(value: object) -> bool:
    return is_arrow_data(value) and type(value).__name__ == "RecordBatch"


def _slices(batch: Any) -> Iterator[Any]:
    """A batch in slices of at most `BATCH_ROWS` rows (zero-copy)."""
    for offset in range(0, batch.num_rows, BATCH_ROWS):
        yield batch.slice(offset, BATCH_ROWS)


def arrow_batches(source: Any) -> Iterator[Any]:
    """The RecordBatches of a Table, RecordBatch, RecordBatchReader or iterable of RecordBatches, ≤ 8,192 rows each."""
    kind = type(source).__name__ if is_arrow_data(source) else None
    if kind == "Table":
        yield from source.to_batches(max_chunksize=BATCH_ROWS)
        return
    if kind == "RecordBatch":
        yield from _slices(source)
        return
    for batch in source:
        if isinstance(batch, Unreadable):  # rows a Parquet reader could not decode, passed on to be named
            yield batch
            continue
        if not _is_batch(batch):
            raise UsageError(f"Arrow input holds a {type(batch).__name__}, not a pyarrow.RecordBatch.", key="input",
                             fix="pass a Table, a RecordBatchReader or an iterable of RecordBatches.")
        yield from _slices(batch)


def iter_arrow_records(source: Any, columns: Collection[str] | None = None) -> Iterator[Item]:
    """The records of a pyarrow Table / RecordBatch / RecordBatchReader / iterable of RecordBatches, read a batch
    of ≤ 8,192 rows at a time and made records at most 1,024 at a time (`rows_per_conversion`); a row that
    cannot be converted is a `Malformed` naming it. The records are handed on by a C iterator: no Python frame per record.
    With `columns`, only those are converted (see `projection`), the `ColumnsRead.as_bytes` ones left bytes."""
    return itertools.chain.from_iterable(_item_lists(source, columns))


def _item_lists(source: Any, columns: Collection[str] | None) -> Iterator[list[Item]]:
    pa = require_pyarrow("reading Arrow data")
    as_bytes = columns.as_bytes if isinstance(columns, ColumnsRead) else frozenset()
    row = 1
    for batch in arrow_batches(source):
        if isinstance(batch, Unreadable):
            yield batch.items(row)
            row += batch.rows
            continue
        wanted = projection(batch.schema.names, columns)
        if wanted is not None and len(wanted) < batch.num_columns:
            batch = batch.select(wanted)
        rows = rows_per_conversion(pa, batch.schema)
        for offset in range(0, batch.num_rows, rows):
            yield items_from_batch(batch.slice(offset, rows), row + offset, as_bytes)
        row += batch.num_rows


def arrow_aware(records: Any, columns: Collection[str] | None = None) -> Any:
    """`records` as `Sync.arun` reads them: Arrow data (or a list or iterator of RecordBatches) as its records,
    only `columns` of them converted (the ones the run reads: `source_columns`; None: all), anything else as
    it is. An iterator is looked into only when the run starts reading it."""
    if is_arrow_data(records):
        return iter_arrow_records(records, columns)
    if isinstance(records, AsyncIterable | Mapping | str | bytes | ItemSource):
        return records
    if isinstance(records, list | tuple):
        return iter_arrow_records(records, columns) if records and _is_batch(records[0]) else records
    return _BatchesOrRecords(records, columns)


class _BatchesOrRecords:
    """The items of `records`, or, if its first item is a RecordBatch, the records of its batches: told by the
    first item, taken when iteration starts. The items are then handed on by a C iterator (`chain`), not a
    generator's frame per record."""

    def __init__(self, records: Iterable[Any], columns: Collection[str] | None) -> None:
        self._records = records
        self._columns = columns

    def __iter__(self) -> Iterator[Any]:
        items = iter(self._records)
        for first in items:
            if _is_batch(first):
                return iter_arrow_records(itertools.chain((first,), items), self._columns)
            return itertools.chain((first,), items)
        return iter(())


# --- readers ---------------------------------------------------------------------------------------------


def _dataset_batches(dataset: Any, columns: Collection[str] | None = None) -> Iterator[Any]:
    """A dataset's batches, ≤ 8,192 rows each, one batch and one file read ahead (memory stays flat); only
    `columns` of them decoded (see `projection`)."""
    return dataset.to_batches(columns=projection(dataset.schema.names, columns),  # type: ignore[no-any-return]
                              batch_size=BATCH_ROWS, batch_readahead=1, fragment_readahead=1)


def projection(names: list[str], columns: Collection[str] | None) -> list[str] | None:
    """The columns of `names` to decode: those in `columns` (the ones a run reads: `source_columns`), in the
    input's order; None (every column) when `columns` is None, names none of them (a run needs its rows
    even so), or names a column the input holds twice (which of the two a record gets stays as it was)."""
    if columns is None:
        return None
    wanted = [name for name in names if name in columns]
    return wanted if wanted and len(set(wanted)) == len(wanted) else None


def parquet_files(path: str | Path) -> list[Path]:
    """The Parquet files of `path`: itself, or the files under the folder in name order (hidden and `_` names,
    such as `_SUCCESS` or `.crc` files, left out); a `UsageError` if there are none."""
    root = Path(path)
    if not root.is_dir():
        return [root]
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts))
    if not files:
        raise UsageError(f"the folder {path} holds no Parquet file.", key="input",
                         fix="give a .parquet file or a folder of them.")
    return files


def _parquet_file(path: Path) -> Any:
    """One Parquet file opened (its footer read); a `UsageError` naming it if it is not Parquet."""
    require_pyarrow("reading .parquet")
    pq = importlib.import_module("pyarrow.parquet")
    try:
        return pq.ParquetFile(str(path))
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise UsageError(f"cannot read {path} as Parquet ({first_line(exc)}).", key="input",
                         fix="give a .parquet file or a folder of them.") from None


def _parquet_batches(first: Any, files: list[Path], root: Path, columns: Collection[str] | None) -> Iterator[Any]:
    """The batches of each file in turn, ≤ 2,048 rows each (pyarrow decodes one row group at a time), with the
    values of its `name=value` folders under `root` as columns (`hive_partitions`); only `columns` decoded."""
    pa = require_pyarrow("reading .parquet")
    for i, path in enumerate(files):
        parquet = first if i == 0 else _parquet_file(path)
        wanted = projection(parquet.schema_arrow.names, columns)
        partitions = {name: value for name, value in partition_values(root, path).items()
                      if columns is None or name in columns}
        with parquet:
            for group in range(parquet.num_row_groups):  # one row group's reader at a time: memory stays flat
                yield from _row_group_batches(pa, parquet, group, path, partitions, wanted)


def _row_group_batches(pa: Any, parquet: Any, group: int, path: Path, partitions: dict[str, str | None],
                       wanted: list[str] | None) -> Iterator[Any]:
    """One row group's batches; if its data cannot be decoded (a corrupt page, a file cut short), the rows it
    did not give are one `Unreadable`, each of them an outcome naming it, and the read goes on with the next."""
    batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=[group], columns=wanted, use_threads=False)
    given = 0
    try:
        for batch in with_partitions(pa, batches, partitions):
            given += batch.num_rows
            yield batch
    except (pa.ArrowException, OSError) as exc:  # pyarrow's errors for bad data vary (ArrowInvalid, ArrowIOError...)
        rows = int(parquet.metadata.row_group(group).num_rows) - given
        yield Unreadable(rows, f"row group {group} of {path.name} cannot be decoded ({first_line(exc)}); "
                               "re-export the file, or remove it from the input.")


def delta_dataset(path: str | Path) -> Any:
    """A Delta table folder (one with `_delta_log/`) as a pyarrow dataset; a `UsageError` if it cannot be read."""
    deltalake = require_deltalake("reading a Delta table")
    try:
        return deltalake.DeltaTable(str(path)).to_pyarrow_dataset()
    except Exception as exc:  # deltalake's errors (TableNotFoundError, DeltaError) derive from Exception only
        raise UsageError(f"cannot read {path} as a Delta table ({first_line(exc)}).", key="input",
                         fix="give the table's folder, the one holding _delta_log/.") from None


def read_parquet(path: str | Path, columns: Collection[str] | None = None) -> Iterator[Item]:
    """The records of a .parquet file or a folder of them, streamed; the first file is opened now, so a
    problem with it is raised here. pyarrow.parquet alone is used (pyarrow.dataset costs 50 MiB more).
    With `columns`, the records hold only those (the others are never decoded: `projection`)."""
    files = parquet_files(path)
    return iter_arrow_records(_parquet_batches(_parquet_file(files[0]), files, Path(path), columns), columns)


def read_delta(path: str | Path, columns: Collection[str] | None = None) -> Iterator[Item]:
    """The records of a Delta table's current version, streamed (opened now: a problem is raised here); with
    `columns`, only those."""
    return iter_arrow_records(_delta_batches(delta_dataset(path), path, columns), columns)


def _delta_batches(dataset: Any, path: str | Path, columns: Collection[str] | None) -> Iterator[Any]:
    """A Delta table's batches; a data file that cannot be read (gone, damaged) ends the read with a `UsageError`
    naming it (exit 2): the rows read before it have their outcomes."""
    pa = require_pyarrow("reading a Delta table")
    try:
        yield from _dataset_batches(dataset, columns)
    except (OSError, pa.ArrowException) as exc:
        raise UsageError(f"a data file of the Delta table {path} cannot be read: {first_line(exc)}", key="input",
                         fix="restore the file (or repair the table with deltalake), then run again.") from None


def read_arrow_file(path: str | Path, kind: str, columns: Collection[str] | None = None) -> Iterator[Item]:
    """`read_parquet` or `read_delta`, by `kind` (a format of `ARROW_FORMATS`)."""
    return read_delta(path, columns) if kind == "delta" else read_parquet(path, columns)


def _duckdb_connection(duckdb: Any, database: str | Path | None) -> Any:
    """A connection to `database` (read-only), or in memory; a `UsageError` if the file is no DuckDB database
    (a Parquet file, another database's) or a process writing it holds its lock."""
    if database is None:
        return duckdb.connect(":memory:")
    try:
        return duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        raise UsageError(f"cannot open {database} as a DuckDB database ({first_line(exc)}).", key="input",
                         fix="give --input-db a DuckDB database file that no other process is writing; read a "
                             "Parquet file with --input FILE or --input-sql \"FROM 'file.parquet'\".") from None


def _duckdb_relation(duckdb: Any, sql: str, database: str | Path | None) -> tuple[Any, Any]:
    """(connection, relation) of `sql` over `database` (read-only), or in memory; a `UsageError` if it fails."""
    if database is not None and not Path(database).is_file():
        raise UsageError(f"the DuckDB database {database} does not exist.", key="input",
                         fix="check the --input-db path.")
    con = _duckdb_connection(duckdb, database)
    try:
        _check_returns_rows(con, sql)
        relation = con.sql(sql)
    except duckdb.Error as exc:
        con.close()
        raise UsageError(f"the --input-sql query failed: {first_line(exc)}", key="input",
                         fix="fix the query (run it in duckdb to see).") from None
    except UsageError:
        con.close()
        raise
    if relation is None:
        con.close()
        raise UsageError("the --input-sql query returns no rows: give a SELECT (or FROM 'file.parquet').",
                         key="input")
    unsigned = [name for name, kind in zip(relation.columns, relation.types, strict=True) if "UHUGEINT" in str(kind)]
    if unsigned:
        con.close()
        raise UsageError(f"the --input-sql query returns {', '.join(map(repr, unsigned))} as UHUGEINT, which DuckDB "
                         "hands over as a signed 128-bit decimal (values from 2^127 come out negative).", key="input",
                         fix="cast the column in the query: CAST(x AS HUGEINT) or CAST(x AS VARCHAR).")
    return con, relation


# the statements that return rows: a query ends with one (a SELECT, FROM 'x.parquet', WITH, VALUES, PIVOT...)
_ROW_STATEMENTS = frozenset({"SELECT", "MULTI", "EXPLAIN", "PRAGMA", "CALL"})


def _check_returns_rows(con: Any, sql: str) -> None:
    """A `UsageError` before anything runs when the query's last statement returns no rows to read (COPY, CREATE,
    ATTACH, INSTALL...): DuckDB would run it and hand back a one-row status ("Count", "Success") as records."""
    statements = con.extract_statements(sql)  # parses only; a syntax error is a duckdb.Error
    if not statements:
        raise UsageError("the --input-sql query is empty.", key="input",
                         fix="give a SELECT (or FROM 'file.parquet').")
    kind = statements[-1].type.name
    if kind not in _ROW_STATEMENTS:
        raise UsageError(f"the --input-sql query ends with a {kind} statement, which returns no records; destkit "
                         "reads the rows its last statement returns.", key="input",
                         fix="end it with a SELECT (or FROM 'file.parquet'); run COPY, CREATE, ATTACH or INSTALL "
                             "in duckdb itself first.")


def read_duckdb(sql: str, database: str | Path | None = None, columns: Collection[str] | None = None) -> Iterator[Item]:
    """The rows of a DuckDB query, streamed 8,192 at a time: over `database` (opened read-only) or in memory,
    where `SELECT * FROM 'x.parquet'` and `read_csv(...)` work. The query runs now: a problem is raised here.
    With `columns`, only those are selected from its result (DuckDB then reads no other column of a file)."""
    duckdb = require_duckdb("reading a DuckDB query")
    con, relation = _duckdb_relation(duckdb, sql, database)
    wanted = projection(relation.columns, columns)
    if wanted is not None:
        relation = relation.project(", ".join('"' + name.replace('"', '""') + '"' for name in wanted))
    try:
        reader = call_interruptibly(lambda: relation.to_arrow_reader(BATCH_ROWS), con.interrupt)
    except duckdb.Error as exc:
        con.close()
        raise UsageError(f"the --input-sql query failed: {first_line(exc)}", key="input") from None
    except BaseException:  # Ctrl-C while the query ran
        con.close()
        raise
    if reader is Stop.INTERRUPTED:
        con.close()
        raise UsageError("the --input-sql query was interrupted by a stop signal before its first rows.", key="input")
    return _closing(iter_arrow_records(_query_batches(duckdb, reader, con), columns), con)


def _query_batches(duckdb: Any, reader: Any, con: Any) -> Iterator[Any]:
    """A query's batches, each waited for so that SIGINT and SIGTERM interrupt a query still finding its rows:
    the input then ends there, and the run, told to stop by the same signal, ends as stopped."""
    rows = 0
    while True:
        try:
            batch = call_interruptibly(reader.read_next_batch, con.interrupt)
        except StopIteration:
            return
        except (duckdb.Error, OSError) as exc:  # a value the query cannot convert, a file gone (an OSError once
            # DuckDB's error has crossed the Arrow stream): the rows read so far stand
            raise UsageError(f"the --input-sql query failed after {rows:,} rows: {first_line(exc)}",
                             key="input", fix="fix the query (run it in duckdb to see).") from None
        if batch is Stop.INTERRUPTED:
            return
        rows += batch.num_rows
        yield batch


def _closing(items: Iterator[Item], con: Any) -> Iterator[Item]:
    try:
        yield from items
    finally:
        con.close()


# --- what an Arrow input offers a mapping, how many rows, which version -------------------------------------


def _add_paths(pa: Any, path: str, t: Any, paths: set[str]) -> bool:
    """Add `path` and the paths into a value of type `t`; False if it holds a map (whose keys the type does not say).

    A name a source path cannot reach (`name.first`: a path reads it as `name`, then `first`) is left out with
    what lies under it, so a mapping naming it is refused by the check rather than reading nothing, row after row."""
    types = pa.types
    paths.add(path)
    if types.is_dictionary(t):
        return _add_paths(pa, path, t.value_type, paths)
    if types.is_map(t):
        return False
    if types.is_struct(t):
        return all([_add_paths(pa, f"{path}.{t.field(i).name}", t.field(i).type, paths) for i in range(t.num_fields)
                    if reachable(t.field(i).name)])
    if types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t):
        return _add_paths(pa, f"{path}.0", t.value_type, paths)
    return True


def reachable(name: str) -> bool:
    """Whether a source path can name a column or field called `name`: it is not empty and holds no dot or bracket
    (a path splits on them)."""
    return bool(name) and not any(c in name for c in ".[]")


def schema_columns(schema: Any, *more: Any, origin: str) -> Columns | None:
    """The columns of an Arrow schema, and of `more` schemas (a struct's fields as dotted paths, a list's items as
    `.0`), every one known; None when a column is a map, whose keys only the data says."""
    pa = require_pyarrow("reading Arrow data")
    paths: set[str] = set()
    fields = [field for one in (schema, *more) for field in one]
    if not all([_add_paths(pa, field.name, field.type, paths) for field in fields if reachable(field.name)]):
        return None
    # a name twice in one schema (files of a folder share theirs): a record keeps only the last one's value
    duplicates = frozenset(name for one in (schema, *more) for name, n in Counter(one.names).items() if n > 1)
    unreachable = sorted({field.name for field in fields if not reachable(field.name)})
    if unreachable:  # the check's message says why a mapping cannot name them
        origin += (f" (whose {', '.join(map(repr, unreachable[:3]))} no mapping can name, as a source path splits "
                   "on dots and brackets: rename the column, e.g. in --input-sql)")
    return Columns(origin, frozenset(paths), exhaustive=True, flat=False, duplicates=duplicates, schema=True)


def arrow_file_columns(path: Path, kind: str) -> Columns | None:
    """The columns of a Parquet file or folder (every file's), or a Delta table (see `schema_columns`)."""
    if kind == "delta":
        return schema_columns(delta_dataset(path).schema, origin=f"the columns of {path.name}")
    files = parquet_files(path)
    pa = require_pyarrow("reading .parquet")
    partitions = pa.schema([(name, pa.string()) for name in partition_names(path, files)])
    return schema_columns(*[_parquet_file(p).schema_arrow for p in files], partitions,
                          origin=f"the columns of {path.name}")


def duckdb_columns(sql: str, database: str | Path | None = None) -> Columns | None:
    """The columns of a DuckDB query's result (the query runs with LIMIT 0)."""
    duckdb = require_duckdb("reading a DuckDB query")
    con, relation = _duckdb_relation(duckdb, sql, database)
    try:
        schema = call_interruptibly(lambda: relation.limit(0).to_arrow_table().schema, con.interrupt)
    except duckdb.Error:
        return None
    finally:
        con.close()
    if schema is Stop.INTERRUPTED:
        return None
    return schema_columns(schema, origin="the columns of the --input-sql query")


def arrow_row_count(path: Path, kind: str) -> int | None:
    """The rows of a Parquet file or folder, or a Delta table, from its metadata; None if it cannot be read."""
    try:
        if kind == "delta":
            return int(delta_dataset(path).count_rows())
        return sum(int(_parquet_file(p).metadata.num_rows) for p in parquet_files(path))
    except (UsageError, OSError):
        return None


def folder_ref(path: str | Path) -> str:
    """A folder's identity for resuming, as a file's (`state.input_ref`): its path, then the total size and
    latest modification time of the files under it."""
    root = Path(path).resolve()
    files = [p.stat() for p in root.rglob("*") if p.is_file()]
    return f"{root}:{sum(s.st_size for s in files)}:{max((s.st_mtime_ns for s in files), default=0)}"


def query_ref(sql: str, database: str | Path | None = None) -> str:
    """A DuckDB query's identity for resuming: a hash of the query and the database's path, size and mtime."""
    where = ""
    if database is not None:
        db = Path(database).resolve()
        st = db.stat()
        where = f"{db}:{st.st_size}:{st.st_mtime_ns}"
    return "duckdb:" + hashlib.sha256(f"{sql}\0{where}".encode()).hexdigest()[:16]


__all__ = [
    "ARROW_FORMATS",
    "BATCH_ROWS",
    "Unreadable",
    "arrow_aware",
    "arrow_batches",
    "arrow_file_columns",
    "arrow_row_count",
    "duckdb_columns",
    "folder_ref",
    "is_arrow_data",
    "items_from_batch",
    "iter_arrow_records",
    "parquet_files",
    "projection",
    "query_ref",
    "reachable",
    "read_arrow_file",
    "read_delta",
    "read_duckdb",
    "read_parquet",
    "records_from_batch",
    "require_deltalake",
    "require_duckdb",
    "require_pyarrow",
    "schema_columns",
    "use_system_allocator",
]
