"""The state store: runs, per-record terminal outcomes, checkpoints, dead letters, destination ids,
fingerprints, open jobs and a mirror sync's audience membership (`engine/membership.py`).

SQLite, one file (default `.destkit/state.sqlite` under the working directory). Outcomes are
written a batch at a time, and the checkpoint (the input row below which every record is
terminal) moves in the same transaction as the outcomes that justify it, so after a crash the
store never claims a record is done when its outcome is not there. No payloads and no secrets are
stored: rows, keys (and primary keys), reason codes, messages and destination ids only; a mirror sync adds, per member,
the record its removal request sends (the values that template names, as sent; never a secret).

The file holds personal data (keys), so it is created 0600 (SQLite gives its -wal and -shm files
the same mode). A store that cannot be opened or written (disk full, read-only directory, I/O
error) raises `StateStoreError` naming the file and the cause; a failed write is rolled back
whole, so the store stays consistent and a later `resume` continues from what it holds.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from destkit.runtime.delivery.delivered import DeliveredRows
from destkit.runtime.engine.files import create_private
from destkit.runtime.engine.outcome_writes import outcome_rows, write_delivered
from destkit.runtime.engine.store_errors import NotAStateStore as NotAStateStore
from destkit.runtime.engine.store_errors import StateStoreError as StateStoreError
from destkit.runtime.engine.store_errors import stored_outcome
from destkit.runtime.engine.store_shape import why_not_a_file, why_not_a_store
from destkit.runtime.outcomes import Outcome, Reason, Status

DEFAULT_PATH = Path(".destkit") / "state.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    action TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    input_ref TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'sync',
    status TEXT NOT NULL,
    checkpoint INTEGER NOT NULL DEFAULT 0,
    received INTEGER NOT NULL DEFAULT 0,
    started_at REAL NOT NULL,
    finished_at REAL,
    aborted TEXT
);
CREATE TABLE IF NOT EXISTS outcomes (
    run_id TEXT NOT NULL,
    row INTEGER NOT NULL,
    key TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    field TEXT,
    message TEXT,
    destination_status INTEGER,
    destination_code TEXT,
    destination_message TEXT,
    destination_id TEXT,
    warnings TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    value TEXT,
    primary_key TEXT,
    PRIMARY KEY (run_id, row)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    run_id TEXT NOT NULL,
    row INTEGER NOT NULL,
    key TEXT,
    reason TEXT NOT NULL,
    message TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (run_id, row)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fingerprints (
    destination TEXT NOT NULL,
    action TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (destination, action, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS membership (
    destination TEXT NOT NULL,
    action TEXT NOT NULL,
    audience TEXT NOT NULL,
    key TEXT NOT NULL,
    body BLOB NOT NULL,
    params TEXT,
    seen_run TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (destination, action, audience, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs (
    run_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    rows TEXT NOT NULL,
    keys TEXT NOT NULL,
    created_at REAL NOT NULL,
    primary_keys TEXT,
    PRIMARY KEY (run_id, job_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS destination_ids (
    destination TEXT NOT NULL,
    key TEXT NOT NULL,
    destination_id TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (destination, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending_ids (
    run_id TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    from_row INTEGER NOT NULL
) WITHOUT ROWID;
"""


# columns added to `runs` after its first version: (name, SQL type), added in this order to an older store
_ADDED_RUN_COLUMNS = (("config_path", "TEXT"), ("files", "TEXT"))
# an invalid record's offending value (JSON), for its report line; the input's own key (options.primary_key)
_ADDED_OUTCOME_COLUMNS = (("value", "TEXT"), ("primary_key", "TEXT"))
_ADDED_JOB_COLUMNS = (("primary_keys", "TEXT"),)  # the job's records' primary keys (JSON), for a resumed run


_SELECT_OUTCOMES = ("SELECT row, key, status, reason, field, message, destination_status, destination_code, "
                    "destination_message, destination_id, warnings, attempts, value, primary_key FROM outcomes WHERE run_id = ?")


def config_hash(config: dict[str, Any]) -> str:
    """Identifies "the same sync": destination, action, settings and mapping (not secrets, not options)."""
    relevant = {k: config.get(k) for k in ("destination", "action", "settings", "mapping")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def input_ref(path: str | Path) -> str:
    """A file's identity for resuming: path, size and modification time."""
    p = Path(path).resolve()
    st = p.stat()
    return f"{p}:{st.st_size}:{int(st.st_mtime_ns)}"


_FILE_REF = re.compile(r"(?P<path>.+):\d+:\d+")


def input_source(ref: str) -> str:
    """Which input a version `ref` belongs to: the file's path for an `input_ref(path)`, else "".

    Any other ref (an embedder's snapshot id) names a version of the config's one input, so all
    such refs share the source "": runs of the same config over them are runs of the same input.
    """
    found = _FILE_REF.fullmatch(ref)
    return found["path"] if found and Path(found["path"]).is_absolute() else ""


def same_input(ref: str, other: str) -> bool:
    """Whether two input versions are versions of the same input (see `input_source`)."""
    return input_source(ref) == input_source(other)


@dataclass
class RunInfo:
    run_id: str
    destination: str
    action: str
    config_hash: str
    input_ref: str
    kind: str
    status: str
    checkpoint: int
    received: int
    started_at: float
    finished_at: float | None
    aborted: str | None
    config_path: str | None = None  # the sync config file, when a command line run it (see `note_run`)
    files: str | None = None  # the run's folder, or the report file `--report` named

    @property
    def input_path(self) -> str:
        """The input file this run read ("" for an embedder's snapshot id)."""
        return input_source(self.input_ref)

    @property
    def duration_s(self) -> float | None:
        return None if self.finished_at is None else max(0.0, self.finished_at - self.started_at)


@dataclass(frozen=True)
class OpenJob:
    """A job a destination accepted and whose results are not recorded yet: its id and its records."""

    job_id: str
    rows: list[int]
    keys: list[str | None]
    primary_keys: list[str | None] | None = None  # options.primary_key of each row, when the run had one

    def held_primary_keys(self) -> dict[int, str]:
        """Row → primary key, for the rows that have one."""
        return {row: pk for row, pk in zip(self.rows, self.primary_keys or (), strict=False) if pk is not None}


class Watermark:
    """Tracks the highest row below which every row is terminal, as outcomes arrive out of order."""

    def __init__(self, start: int = 0, done: Iterable[int] = ()) -> None:
        self.value = start
        self._above: set[int] = {r for r in done if r > start}
        self.add(())

    def add(self, rows: Sequence[int], peeked: int | None = None) -> bool:
        """Move past `rows` (to `peeked`, when `peek(rows)` just gave it); whether all of them were new
        (none terminal before, none given twice)."""
        above = self._above
        new = set(rows)
        fresh = len(new) == len(rows) and new.isdisjoint(above) and (not new or min(new) > self.value)
        above |= new
        value = self.peek(()) if peeked is None else peeked
        above.difference_update(range(self.value + 1, value + 1))  # in C, not a discard a row
        self.value = value
        return fresh

    def peek(self, rows: Iterable[int]) -> int:
        """The value `add(rows)` would move to, without moving (for a write that may fail)."""
        new, above = set(rows), self._above
        value = self.value + 1
        while value in new or value in above:
            value += 1
        return value - 1


class StateStore:
    def __init__(self, path: str | Path = DEFAULT_PATH) -> None:
        self.path = Path(path)
        self._listed: dict[str, list[int]] = {}  # run id -> its rows a report lists (`note_listed_rows`)
        try:
            if not self.in_memory:
                self._refuse_unless_a_store_file()
                self.path.parent.mkdir(parents=True, exist_ok=True)
                create_private(self.path)
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._refuse_unless_a_store()
            self.db.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL: a commit is in the log (the OS has it) when it returns, so a killed
            # process loses nothing committed; only a power cut may lose the last commits, never consistency
            self.db.execute("PRAGMA synchronous=NORMAL")
            # a long run writes ~30 pages a batch: copying the log into the file every 10,000 pages
            # (not SQLite's 1,000) and caching 16 MiB of pages cut the write's CPU by ~20% (measured)
            self.db.execute("PRAGMA wal_autocheckpoint=10000")
            self.db.execute("PRAGMA cache_size=-16384")
            self.db.execute("PRAGMA busy_timeout=5000")
            self.db.executescript(_SCHEMA)
            self.max_variables = self.db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            self._add_missing_columns()
        except (sqlite3.Error, OSError) as exc:
            raise StateStoreError(self.path, exc) from exc

    def _refuse_unless_a_store_file(self) -> None:
        if why := why_not_a_file(self.path):
            raise NotAStateStore(self.path, why)

    def _refuse_unless_a_store(self) -> None:
        """Before the first write (WAL mode, our tables): another program's database is left as it was."""
        if why := why_not_a_store(self.db, _SCHEMA, {"runs": _ADDED_RUN_COLUMNS, "outcomes": _ADDED_OUTCOME_COLUMNS,
                                                      "jobs": _ADDED_JOB_COLUMNS}):
            self.db.close()
            raise NotAStateStore(self.path, why)

    def _add_missing_columns(self) -> None:
        """A store written by an older destkit gets the columns added since (its rows keep theirs, NULL in the new)."""
        for table, added in (("runs", _ADDED_RUN_COLUMNS), ("outcomes", _ADDED_OUTCOME_COLUMNS),
                             ("jobs", _ADDED_JOB_COLUMNS)):
            have = {name for (_, name, *_rest) in self.db.execute(f"PRAGMA table_info({table})")}
            self._add_columns(table, [(name, kind) for name, kind in added if name not in have])

    def _add_columns(self, table: str, columns: list[tuple[str, str]]) -> None:
        for name, kind in columns:
            try:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as exc:  # another process added it meanwhile
                if "duplicate column" not in str(exc):
                    raise

    def __repr__(self) -> str:
        return f"StateStore({str(self.path)!r})"

    @property
    def in_memory(self) -> bool:
        """A store that lives only as long as this object (`StateStore(":memory:")`)."""
        return str(self.path) == ":memory:"

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write that fails raises `StateStoreError` naming this store and the cause."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StateStoreError(self.path, exc, "write") from exc

    # runs

    def start_run(self, destination: str, action: str, config_hash: str, input_ref: str, kind: str = "sync",
                  run_id: str | None = None) -> str:
        run_id = run_id or uuid.uuid4().hex[:12]
        with self._writing():
            self.db.execute(
                "INSERT INTO runs (run_id, destination, action, config_hash, input_ref, kind, status, started_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
                (run_id, destination, action, config_hash, input_ref, kind, time.time()))
        return run_id

    def run(self, run_id: str) -> RunInfo | None:
        row = self.db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return RunInfo(*row) if row else None

    def last_run(self, destination: str, action: str, *, unfinished: bool = False, config_hash: str | None = None,
                 kind: str | None = None) -> RunInfo | None:
        runs = self.runs(destination, action, unfinished=unfinished, config_hash=config_hash, kind=kind, newest_first=True)
        return next(iter(runs), None)

    def runs(self, destination: str, action: str, *, unfinished: bool = False, config_hash: str | None = None,
             kind: str | None = None, newest_first: bool = False) -> list[RunInfo]:
        """The runs of a destination's action (of one config, of one kind), in the order they started."""
        sql = "SELECT * FROM runs WHERE destination = ? AND action = ?"
        args: list[Any] = [destination, action]
        if unfinished:
            sql += " AND status IN ('running', 'aborted')"
        if config_hash is not None:
            sql += " AND config_hash = ?"
            args.append(config_hash)
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        order = " ORDER BY started_at DESC, rowid DESC" if newest_first else " ORDER BY started_at, rowid"
        return [RunInfo(*row) for row in self.db.execute(sql + order, args)]

    def history(self, limit: int | None = None) -> list[RunInfo]:
        """Every run of this store, of any config, newest first (at most `limit`)."""
        sql = "SELECT * FROM runs ORDER BY started_at DESC, rowid DESC"
        rows = self.db.execute(sql + " LIMIT ?", (limit,)) if limit is not None else self.db.execute(sql)
        return [RunInfo(*row) for row in rows]

    def find_run(self, prefix: str) -> list[RunInfo]:
        """The runs whose id starts with `prefix`, in any case (a run id may be given shortened, as git's commits are).

        Compared as text, not by LIKE: a pattern of 50,000 characters is 'too complex' for SQLite.
        """
        rows = self.db.execute("SELECT * FROM runs WHERE lower(substr(run_id, 1, ?)) = lower(?) ORDER BY started_at",
                               (len(prefix), prefix))
        return [RunInfo(*row) for row in rows]

    def note_run(self, run_id: str, *, config_path: str | None, files: str | None) -> None:
        """What a command line run adds to its row: the config file it ran and where its files are."""
        with self._writing():
            self.db.execute("UPDATE runs SET config_path = ?, files = ? WHERE run_id = ?", (config_path, files, run_id))

    def finish_run(self, run_id: str, received: int, aborted: str | None = None) -> None:
        """Mark the run finished (or aborted). Its destination ids stay pending: the first lookup copies them."""
        with self._writing():
            self.db.execute("UPDATE runs SET status = ?, finished_at = ?, received = ?, aborted = ? WHERE run_id = ?",
                            ("aborted" if aborted else "finished", time.time(), received, aborted, run_id))

    # outcomes

    def record(self, run_id: str, destination: str, outcomes: list[Outcome], checkpoint: int | None, received: int,
               fingerprints: list[tuple[str, str, bytes]] | None = None,
               also: Callable[[sqlite3.Connection], None] | None = None, jobs_done: list[str] | None = None,
               delivered: Sequence[DeliveredRows] = ()) -> None:
        """Outcomes, dead letters, destination ids, fingerprints and the checkpoint, in one transaction,
        which also closes the jobs (`jobs_done`) whose results these outcomes are.

        `also` writes more in the same transaction (a mirror sync's membership changes); `delivered`:
        more delivered records, as columns (written as their outcomes would be).
        """
        now = time.time()
        self._listed.pop(run_id, None)
        with self._writing(), self._tx():
            if also is not None:
                also(self.db)
            if jobs_done:
                self.db.executemany("DELETE FROM jobs WHERE run_id = ? AND job_id = ?", [(run_id, j) for j in jobs_done])
            if fingerprints:
                self.db.executemany("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?, ?, ?)",
                                    [(destination, action, key, fp, now) for action, key, fp in fingerprints])
            for sql, rows in outcome_rows(run_id, outcomes):
                self.db.executemany(sql, rows)
            for columns in delivered:
                self._write_delivered(run_id, destination, columns)
            dead = [(run_id, o.row, o.key, o.reason or "", o.message, now) for o in outcomes if o.status is Status.DEAD_LETTERED]
            if dead:
                self.db.executemany("INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?, ?)", dead)
            id_rows = [o.row for o in outcomes if o.destination_id and o.key]
            if id_rows:
                self._note_ids(run_id, destination, min(id_rows))
            if checkpoint is not None:
                self.db.execute("UPDATE runs SET checkpoint = MAX(checkpoint, ?), received = MAX(received, ?) WHERE run_id = ?",
                                (checkpoint, received, run_id))

    def _write_delivered(self, run_id: str, destination: str, columns: DeliveredRows) -> None:
        if write_delivered(self.db, run_id, columns, self.max_variables):
            self._note_ids(run_id, destination, min(columns.rows))

    # destination ids: the outcomes hold them; `destination_ids` (the latest per key) is built from them in bulk

    def _note_ids(self, run_id: str, destination: str, from_row: int) -> None:
        """The run's outcomes from `from_row` on hold destination ids not yet in `destination_ids`.

        Writing each id there with its batch was a random B-tree insert per record (most of the store's
        cost, measured); `fold_ids` copies them later, sorted by key, when someone first reads that table
        (`destination_id`), not at the run's end: a run nobody looks ids up after never pays for the copy
        (1.4-2.2 µs a record, measured). This row is written in the outcomes' own transaction, so a killed
        run's ids are found too.
        """
        self.db.execute("INSERT INTO pending_ids VALUES (?, ?, ?) ON CONFLICT (run_id) "
                        "DO UPDATE SET from_row = MIN(from_row, excluded.from_row)", (run_id, destination, from_row))

    def fold_ids(self) -> None:
        """Copy the destination ids that outcomes hold (`_note_ids`) into `destination_ids`, runs in the order
        they started and rows in input order, so a key's latest id is the one kept; in one transaction."""
        if self.db.execute("SELECT 1 FROM pending_ids LIMIT 1").fetchone() is None:
            return
        now = time.time()
        with self._writing(), self._tx():
            pending = self.db.execute("SELECT p.run_id, p.destination, p.from_row FROM pending_ids p "
                                      "LEFT JOIN runs r USING (run_id) ORDER BY r.started_at, r.rowid").fetchall()
            for run_id, destination, from_row in pending:
                self.db.execute(
                    "INSERT OR REPLACE INTO destination_ids SELECT ?, key, destination_id, ? FROM outcomes "
                    "WHERE run_id = ? AND row >= ? AND key IS NOT NULL AND key != '' AND destination_id IS NOT NULL "
                    "AND destination_id != '' ORDER BY key, row", (destination, now, run_id, from_row))
            self.db.execute("DELETE FROM pending_ids")

    def write_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One statement over many rows in one transaction (for tables another module keeps here)."""
        with self._writing(), self._tx():
            self.db.executemany(sql, rows)

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One transaction; on any failure (a full disk fails the COMMIT itself) nothing of it is kept."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already (SQLITE_FULL, SQLITE_IOERR)
                self.db.execute("ROLLBACK")
            raise

    def terminal_rows_above(self, run_id: str, checkpoint: int) -> set[int]:
        return {r for (r,) in self.db.execute("SELECT row FROM outcomes WHERE run_id = ? AND row > ?", (run_id, checkpoint))}

    def outcomes(self, run_id: str, *, not_delivered_only: bool = False) -> Iterator[Outcome]:
        listed = self._listed.get(run_id) if not_delivered_only else None
        read = functools.partial(stored_outcome, self.path)
        if listed is not None:  # found by their keys, not by reading all the run's rows
            for start in range(0, len(listed), 500):
                chunk = listed[start:start + 500]
                yield from map(read, self.db.execute(
                    f"{_SELECT_OUTCOMES} AND row IN ({','.join('?' * len(chunk))}) ORDER BY row", (run_id, *chunk)))
            return
        sql = _SELECT_OUTCOMES
        if not_delivered_only:
            sql += " AND (status NOT IN ('delivered', 'skipped') OR warnings IS NOT NULL)"
        yield from map(read, self.db.execute(sql + " ORDER BY row", (run_id,)))

    def note_listed_rows(self, run_id: str, rows: list[int]) -> None:
        """`rows` are all of the run's outcomes that are not plainly delivered or skipped (what a report of
        problems lists), as the recorder that wrote each of the run's outcomes knows them: then
        `outcomes(not_delivered_only=True)` reads just those rows, not the whole run's (~1 µs a record, measured).
        Only this object holds the note, and any later write to the run drops it."""
        self._listed[run_id] = sorted(rows)

    def counts(self, run_id: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
        """(per outcome, per reason, per warning reason) for a run."""
        by_status: Counter[str] = Counter()
        by_reason: Counter[str] = Counter()
        for status, reason, n in self.db.execute(
                "SELECT status, reason, COUNT(*) FROM outcomes WHERE run_id = ? GROUP BY status, reason", (run_id,)):
            by_status[status] += n
            if reason:
                by_reason[reason] += n
        warnings: Counter[str] = Counter()
        for (w,) in self.db.execute("SELECT warnings FROM outcomes WHERE run_id = ? AND warnings IS NOT NULL", (run_id,)):
            for item in json.loads(w):
                warnings[item["reason"]] += 1
        return by_status, by_reason, warnings

    def keys_to_retry(self, run_id: str) -> set[str]:
        return {k for (k,) in self.db.execute(
            "SELECT key FROM outcomes WHERE run_id = ? AND status IN ('rejected', 'dead_lettered') AND key IS NOT NULL", (run_id,))}

    def failed_keys(self, run_ids: list[str], *, include_unknown: bool = False) -> set[str]:
        """The keys whose latest outcome over these runs (oldest first) is rejected or dead-lettered.

        A record dead-lettered with `unknown_delivery` (sent, its answer lost, not safe to resend
        blindly) counts only with `include_unknown`.
        """
        order = {run_id: i for i, run_id in enumerate(run_ids)}
        latest: dict[str, tuple[int, int, bool]] = {}  # key -> (run's place, row, failed)
        unknown = Reason.UNKNOWN_DELIVERY.value
        for i in range(0, len(run_ids), 500):
            chunk = run_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for run_id, row, key, status, reason in self.db.execute(
                    f"SELECT run_id, row, key, status, reason FROM outcomes WHERE run_id IN ({marks}) AND key IS NOT NULL",
                    chunk):
                when = (order[run_id], row)
                if key not in latest or latest[key][:2] < when:
                    failed = status in ("rejected", "dead_lettered") and (include_unknown or reason != unknown)
                    latest[key] = (*when, failed)
        return {key for key, (_, _, failed) in latest.items() if failed}

    def fingerprints(self, destination: str, action: str, keys: list[str]) -> dict[str, bytes]:
        """The fingerprints of the last delivered bodies of these keys (for skipping unchanged records)."""
        found: dict[str, bytes] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for key, fp in self.db.execute(
                    f"SELECT key, fingerprint FROM fingerprints WHERE destination = ? AND action = ? AND key IN ({marks})",
                    (destination, action, *chunk)):
                found[key] = fp
        return found

    # jobs

    def open_job(self, run_id: str, job_id: str, rows: list[int], keys: list[object],
                 primary_keys: list[str | None] | None = None) -> None:
        """A destination accepted a job holding these rows: until its results are recorded, a resumed run
        polls it instead of sending the rows again (their `primary_keys` go with them)."""
        with self._writing():
            self.db.execute("INSERT OR REPLACE INTO jobs (run_id, job_id, rows, keys, created_at, primary_keys) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (run_id, job_id, json.dumps(rows), json.dumps([None if k is None else str(k) for k in keys]),
                             time.time(), None if primary_keys is None else json.dumps(primary_keys)))

    def open_jobs(self, run_id: str) -> list[OpenJob]:
        """The run's jobs whose results are not recorded yet, oldest first."""
        return [OpenJob(job_id, json.loads(rows), json.loads(keys), None if pks is None else json.loads(pks))
                for job_id, rows, keys, pks in self.db.execute(
                    "SELECT job_id, rows, keys, primary_keys FROM jobs WHERE run_id = ? ORDER BY created_at", (run_id,))]

    def destination_id(self, destination: str, key: str) -> str | None:
        self.fold_ids()
        row = self.db.execute("SELECT destination_id FROM destination_ids WHERE destination = ? AND key = ?",
                              (destination, key)).fetchone()
        return row[0] if row else None

    def all_text(self) -> str:
        """Every stored value as text (for the canary test that proves no secret is stored)."""
        self.fold_ids()
        parts = []
        for table in ("runs", "outcomes", "dead_letters", "destination_ids", "fingerprints", "membership", "jobs"):
            for row in self.db.execute(f"SELECT * FROM {table}"):
                parts.append(" ".join(map(str, row)))
        return "\n".join(parts)
