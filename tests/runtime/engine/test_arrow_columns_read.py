"""`Sync.run` over Arrow data converts only the columns the run reads (the mapped ones and the primary key),
as the CLI's Parquet, Delta and query inputs do: a value in another column can neither fail a row nor cost
its conversion."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from destkit.runtime import Outcome, Status, build_sync
from destkit.runtime.engine.arrow_records import arrow_aware
from tests.conftest import PROPERTIES, TAGS, hc_config

CATALOGS = {"tags": TAGS, "custom_properties": dict(PROPERTIES)}  # known up front: a dry run offline
UNDECODABLE = pa.array([b"\xff\xfe", b"\xff"], pa.binary())  # not UTF-8: a row read with it is malformed


def contacts(**more: Any) -> pa.Table:
    return pa.table({"user_id": ["u1", "u2"], "phone": ["+14155550101", "+14155550102"], **more})


def dry_run(config: dict[str, Any], table: pa.Table) -> list[tuple[int, Status, str | None]]:
    outcomes: list[Outcome] = []
    build_sync(config).dry_run(table, on_outcome=outcomes.append, offline=True)
    return [(o.row, o.status, o.reason) for o in outcomes]


def test_an_unmapped_column_with_undecodable_bytes_fails_no_row() -> None:
    assert dry_run(hc_config(catalogs=CATALOGS), contacts(blob=UNDECODABLE)) == [(1, Status.DELIVERED, None), (2, Status.DELIVERED, None)]


def test_a_mapped_column_with_undecodable_bytes_still_makes_its_rows_malformed() -> None:
    config = hc_config(mapping={**hc_config()["mapping"], "first_name": "blob"}, catalogs=CATALOGS)

    assert dry_run(config, contacts(blob=UNDECODABLE)) == [
        (1, Status.INVALID, "malformed_input"), (2, Status.INVALID, "malformed_input")]


def test_the_primary_key_column_is_read_though_the_mapping_does_not_name_it() -> None:
    config = hc_config(options={"primary_key": "crm_id"}, catalogs=CATALOGS)
    outcomes: list[Outcome] = []
    build_sync(config).dry_run(contacts(crm_id=[7, 8], blob=UNDECODABLE), on_outcome=outcomes.append, offline=True)

    assert [(o.row, o.primary_key) for o in outcomes] == [(1, "7"), (2, "8")]


def test_records_keep_every_column_without_a_set_of_columns() -> None:
    assert list(arrow_aware(contacts(), None)) == [{"user_id": "u1", "phone": "+14155550101"},
                                                   {"user_id": "u2", "phone": "+14155550102"}]


def test_records_hold_only_the_set_s_columns_the_table_has() -> None:
    assert list(arrow_aware(contacts(), frozenset({"user_id", "nowhere"}))) == [{"user_id": "u1"}, {"user_id": "u2"}]
