"""What a command that reads a file of records checks before the first record is sent.

The config is checked as a whole (`build_sync`) together with the input it will read: every source
path the mapping reads must be a column of the CSV header, or a field of the first JSON records
(`destkit.runtime.config.source_paths`), so `first_name: frist_name` is a config error with a
did-you-mean, not a run that quietly sends no first names. All the problems come out in one list.
With `--warn-unknown-paths` (or `options: {on_unknown_source_path: warn}`) an unknown path is a
warning instead, for sparse JSON whose first records lack a field. The input is a file (CSV, JSON
Lines, Parquet), a folder (Parquet files, a Delta table) or a DuckDB query (`--input-sql`, `--input-db`).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from destkit.runtime.cli.display import err, fail, shown
from destkit.runtime.config.model import SyncConfig
from destkit.runtime.config.source_paths import (
    SPARSE_HINT,
    Columns,
    source_columns,
    unknown_primary_key,
    unknown_source_paths,
)
from destkit.runtime.engine import Sync, build_sync
from destkit.runtime.engine.arrow_records import (
    ARROW_FORMATS,
    duckdb_columns,
    folder_ref,
    query_ref,
    read_duckdb,
    use_system_allocator,
)
from destkit.runtime.engine.input_files import GZIP_ERRORS, not_gzip, open_binary
from destkit.runtime.engine.sources import format_of, read_columns, read_records
from destkit.runtime.engine.state import input_ref
from destkit.runtime.errors import ConfigError, Issue

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

# The CLI's process is destkit's own: pyarrow (imported only for an Arrow input, after this) allocates with the
# system allocator, which gives each batch's memory back (its default mimalloc pool keeps ~20 MiB more resident).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


class InputFormat(StrEnum):
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"
    parquet = "parquet"
    delta = "delta"


InputOpt = Annotated[Path | None, typer.Option(
    "--input", "-i", help="Records: .csv, .tsv, .jsonl or .parquet, or a folder of Parquet files or a Delta table.")]
FormatOpt = Annotated[InputFormat | None, typer.Option("--format", help="Input format (default: by extension).")]

WarnUnknownPathsOpt = Annotated[bool, typer.Option(
    "--warn-unknown-paths",
    help="A mapped source path the input's header (or first JSON records) lacks is a warning, not an error "
         "(sparse JSON).")]
InputSqlOpt = Annotated[str | None, typer.Option(
    "--input-sql", help="Records: the rows of this DuckDB query instead of --input, e.g. \"SELECT * FROM "
    "'audience.parquet'\" (needs the extra destkit[arrow]).")]
InputDbOpt = Annotated[Path | None, typer.Option(
    "--input-db", help="The DuckDB database file --input-sql runs in, opened read-only (default: an empty "
    "in-memory database).")]


@dataclass(frozen=True)
class InputCheck:
    """The input a sync will read, to check the mapping's source paths against (format None: by extension;
    `sql`: a DuckDB query over `db`, or in memory, instead of a file)."""

    path: Path | None
    fmt: str | None = None
    warn_unknown_paths: bool = False
    sql: str | None = None
    db: Path | None = None


def checked_log_level(level: str) -> str:
    """`--log-level` as given, if it is a level; otherwise a usage error (exit 2) naming the levels."""
    if level.lower() in LOG_LEVELS:
        return level.lower()
    close = difflib.get_close_matches(level.lower(), LOG_LEVELS, n=1)
    fix = f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(LOG_LEVELS)}."
    fail(f"--log-level '{level}' is not a log level (one of: {', '.join(LOG_LEVELS)}). Fix: {fix}")


def load_sync(config: Path, base_url: str | None, allow_http: bool, needs_secrets: bool = True,
              trust_spec: bool = False, check: InputCheck | None = None) -> Sync:
    """The sync of `config`, checked with its input: every problem of both is printed at once (exit 2)."""
    try:
        loaded = SyncConfig.load(config, defer_option_issues=True)
    except ConfigError as exc:
        fail(exc.render())
    errors, warnings = input_issues(loaded, check)
    try:
        sync = build_sync(loaded, base_url=base_url, allow_http=allow_http, needs_secrets=needs_secrets,
                          trust_spec=trust_spec)
    except ConfigError as exc:
        fail(ConfigError(exc.issues + errors, exc.title).render() if errors and type(exc) is ConfigError
             else exc.render())
    if errors:
        fail(ConfigError(errors, "the mapping does not fit the input").render())
    for issue in warnings:
        err.print(Text("warning: ", style="bold yellow") + Text(shown(str(issue))))
    return sync


def input_issues(config: SyncConfig, check: InputCheck | None) -> tuple[list[Issue], list[Issue]]:
    """(errors, warnings): the mapping's source paths the input lacks. Nothing if the input cannot be read
    (opening it for the records reports that)."""
    if check is None:
        return [], []
    whole = whole_file_issue(check)
    if whole is not None and check.path is not None:
        return [located(whole, config, check.path)], []
    try:
        columns = input_columns(check)
    except (OSError, ValueError):
        return [], []
    if columns is None or not isinstance(config.mapping, dict):
        return [], []
    issues = unknown_source_paths(config.mapping, columns) + unknown_primary_key(config.options.primary_key, columns)
    warn = check.warn_unknown_paths or config.options.on_unknown_source_path == "warn"
    where = check.path if check.path is not None else "--input-sql"
    # a file split on another delimiter stays an error: no record of it could be mapped
    errors = [located(i, config, where) for i in issues if i.key == "(input)" or not warn]
    warnings = [located(Issue(i.key, i.message, i.fix.removesuffix(" " + SPARSE_HINT)), config, where)
                for i in issues if i.key != "(input)" and warn]
    return errors, warnings


# byte order marks of the encodings whose text reads as NUL-riddled garbage in UTF-8 (UTF-32 before UTF-16:
# UTF-32-LE's mark starts with UTF-16-LE's)
WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
             (b"\xfe\xff", "UTF-16"))


def whole_file_issue(check: InputCheck) -> Issue | None:
    """The one issue of an input file whose every line would be unreadable, said once: not one per mapped path,
    nor a `malformed_input` row per line. None for a file that can be read (or no file)."""
    path = check.path
    if path is None:
        return None
    if not_gzip(path):  # a `.gz` name on a file that is not compressed
        return Issue("(input)", f"{path.name} is named .gz but is not gzip-compressed.",
                     "rename it without .gz if it is plain text, or compress it with gzip.")
    wide = wide_text_encoding(check)
    if wide is not None:
        return Issue("(input)", f"the file is {wide} text, not UTF-8.",
                     f"re-export the file as UTF-8, or convert it with `iconv -f {wide} -t UTF-8`.")
    if json_array_document(check):
        return Issue("(input)", f"{path.name} is one JSON array, not JSON Lines (one object per line).",
                     f"convert it with `jq -c '.[]' {path.name} > audience.jsonl` and give that file.")
    return None


def json_array_document(check: InputCheck) -> bool:
    """Whether a JSON Lines input is one JSON array instead (`[` alone on its first line, as an array is
    pretty-printed, or a first line `[...]` with nothing after it), whose every line would be a malformed row."""
    path = check.path
    if path is None or format_of(path, check.fmt) != "jsonl" or not path.is_file():
        return False
    try:
        with open_binary(path) as fh:
            head = fh.read(1 << 16).removeprefix(b"\xef\xbb\xbf").lstrip()
    except (OSError, *GZIP_ERRORS):
        return False  # reading the records reports it
    first, _, rest = head.partition(b"\n")
    first = first.strip()
    return first == b"[" or (first.startswith(b"[") and not rest.strip())


def wide_text_encoding(check: InputCheck) -> str | None:
    """"UTF-16" or "UTF-32" when the input is a CSV, TSV or JSON Lines file starting with that byte order mark."""
    path = check.path
    if path is None or format_of(path, check.fmt) not in ("csv", "tsv", "jsonl") or not path.is_file():
        return None
    try:
        with open_binary(path) as fh:
            head = fh.read(4)
    except (OSError, *GZIP_ERRORS):
        return None  # reading the records reports it
    return next((name for bom, name in WIDE_BOMS if head.startswith(bom)), None)


def input_columns(check: InputCheck) -> Columns | None:
    """The columns the input offers: a query's result columns, a file's header or fields, a Parquet or Delta
    schema; None if there is no input to look at."""
    if check.sql is not None:
        return duckdb_columns(check.sql, check.db)
    if check.path is None or not (check.path.is_file() or check.path.is_dir()):
        return None
    return read_columns(check.path, check.fmt)


def located(issue: Issue, config: SyncConfig, input_path: Path | str) -> Issue:
    """The issue with its place: the config's line of its mapping key, or the input file itself."""
    if issue.key == "(input)":
        return Issue(issue.key, issue.message, issue.fix, str(input_path))
    return Issue(issue.key, issue.message, issue.fix, config.source_file, config.line_of(issue.key))


def open_input(path: Path | None, fmt: str | None, sql: str | None = None, db: Path | None = None, *,
               sync: Sync | None = None) -> Any:
    """The records of `--input` (a file or a Parquet/Delta folder) or `--input-sql`; a usage error (exit 2) if
    neither or both are given or the input cannot be opened. A columnar input (Parquet, Delta, a query) gives
    only the columns `sync` reads (`source_columns`): the others are never decoded."""
    check_input_given(path, sql, db)
    columns = None if sync is None else source_columns(sync.config.mapping, sync.options.primary_key)
    if sql is not None:
        try:
            records = read_duckdb(sql, db, columns)
            use_system_allocator()  # this process is destkit's: Arrow memory given back as batches are done
            return records
        except ValueError as exc:
            fail(str(exc))
    assert path is not None
    if not path.exists():
        if str(path) == "-":  # a pipe cannot be read twice, as a resume or a retry reads its input again
            fail("--input - (standard input) is not read: a run must be able to read its input again, to resume "
                 "or retry. Write it to a file (... > audience.jsonl) and give that, or query it with --input-sql.")
        fail(f"input file {path} does not exist; check the --input path.")
    if not path.is_file() and not (path.is_dir() and format_of(path, fmt) in ARROW_FORMATS):
        fail(f"input {path} is not a file; give a CSV, JSON Lines or Parquet file (or a Parquet or Delta folder) "
             "with --input.")
    try:
        records = read_records(path, fmt, columns)
        if format_of(path, fmt) in ARROW_FORMATS:
            use_system_allocator()  # this process is destkit's: Arrow memory given back as batches are done
        return records
    except ValueError as exc:
        fail(f"{str(exc).rstrip('.')}.")


def check_input_given(path: Path | None, sql: str | None, db: Path | None) -> None:
    """Exactly one of `--input` and `--input-sql`; `--input-db` only with `--input-sql` (else exit 2)."""
    if path is not None and sql is not None:
        fail("give the records with --input or with --input-sql, not both.")
    if path is None and sql is None:
        fail("give the records: --input FILE (CSV, JSON Lines, Parquet, a Parquet or Delta folder) or "
             "--input-sql QUERY.")
    if db is not None and sql is None:
        fail("--input-db names the DuckDB database an --input-sql query runs in; give --input-sql too.")


def input_version(path: Path | None, sql: str | None = None, db: Path | None = None) -> str:
    """The input's identity for resuming (`input_ref`): a file's path, size and mtime; a folder's path and its
    files' total size and latest mtime; a query's hash with its database's path, size and mtime."""
    if sql is not None:
        return query_ref(sql, db)
    assert path is not None
    return folder_ref(path) if path.is_dir() else input_ref(path)


__all__ = ["FormatOpt", "InputCheck", "InputDbOpt", "InputFormat", "InputOpt", "InputSqlOpt", "WarnUnknownPathsOpt", "check_input_given", "checked_log_level",
           "input_issues", "input_version", "load_sync", "open_input"]
