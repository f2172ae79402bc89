"""`Sync.run`/`dry_run`/`preview` refuse a `records` argument that iterating gives no records of.

Before, a dict gave one `malformed_input` outcome per key, a path string one per character and a pandas
DataFrame one per column name, while the caller's records were never read; None raised a bare TypeError.
Each is now a `UsageError` (a `ConfigError`, exit 2 in a CLI) saying what to pass, before anything is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from destkit.runtime import Outcome, Sync
from destkit.runtime.errors import UsageError
from tests.runtime.record.test_batch_loop import contact, make_sync


@pytest.fixture
def sync() -> Sync:
    return make_sync()


@pytest.mark.parametrize(("records", "message", "fix"), [
    (None, "records is None, not an iterable of records.",
     "pass the records, e.g. a list of dicts, a generator of dicts, or a pyarrow Table."),
    ("audience.csv", "records is a str, not an iterable of records (iterating it gives its characters).",
     "to read a file, pass destkit.runtime.engine.sources.read_records(path)."),
    (Path("audience.csv"), "records is a PosixPath, not an iterable of records (iterating it gives its characters).",
     "to read a file, pass destkit.runtime.engine.sources.read_records(path)."),
    ({"id": "c1", "name": "Ada"}, "records is one record (a dict of 2 fields), not an iterable of records "
                                  "(iterating it gives its keys).", "pass a list of records, e.g. [record]."),
    (42, "records is an int, not an iterable of records.",
     "pass the records, e.g. a list of dicts, a generator of dicts, or a pyarrow Table."),
])
def test_a_records_argument_that_is_no_records_is_a_usage_error(sync: Sync, records: Any, message: str, fix: str) -> None:
    with pytest.raises(UsageError) as refused:
        sync.dry_run(records)
    [issue] = refused.value.issues
    assert (issue.key, issue.message, issue.fix) == ("records", message, fix)


def test_preview_refuses_one_record_given_alone(sync: Sync) -> None:
    with pytest.raises(UsageError, match=r"^records is one record \(a dict of 4 fields\)"):
        sync.preview(contact(1))


def test_a_pandas_dataframe_is_refused_naming_what_to_pass(sync: Sync) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame([contact(1), contact(2)])
    with pytest.raises(UsageError) as refused:
        sync.dry_run(frame)
    [issue] = refused.value.issues
    assert issue.message == "records is a pandas DataFrame: iterating it gives its column names, not its rows."
    assert issue.fix.startswith("pass pyarrow.Table.from_pandas(df)")


def test_records_as_a_list_a_generator_or_an_arrow_table_still_run(sync: Sync) -> None:
    table = pa.Table.from_pylist([{"id": "c3", "name": "Cy"}])
    for records in ([contact(1)], (contact(i) for i in [2]), table):
        outcomes: list[Outcome] = []
        sync.dry_run(records, on_outcome=outcomes.append)
        assert [o.status for o in outcomes] == ["delivered"]
