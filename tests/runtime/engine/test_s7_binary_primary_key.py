"""A binary (Parquet BYTE_ARRAY, not UTF-8) column used as `options.primary_key` is the record's hex key.

The reader made every binary column text, so bytes that are not UTF-8 made their row `malformed_input`,
though the primary key is only carried into outcomes and `key_text` writes bytes as hex. A binary column the
run reads only as its primary key now stays bytes, so every one of its values is its hex (a UTF-8 one too:
one column, one way of writing it, so a join `hex(col) = primary_key` finds every row). A binary column the
mapping reads is still text, and bytes that are not UTF-8 still make their row malformed, saying so: a
destination field is sent as text, and a hex string in it would be a silent change of the value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from cli_runs import offline_dry_run

from destkit.runtime import Outcome, build_sync
from tests.conftest import PROPERTIES, TAGS, hc_config

CATALOGS = {"tags": TAGS, "custom_properties": dict(PROPERTIES)}  # known up front: a dry run offline
KEYS = pa.array([b"\xff\x00\x10", b"u2", None], pa.binary())  # not UTF-8, UTF-8, null


def audience(keys: pa.Array = KEYS) -> pa.Table:
    return pa.table({"user_id": ["u1", "u2", "u3"], "phone": ["+14155550101", "+14155550102", "+14155550103"],
                     "crm_key": keys})


def dry_run(config: dict[str, Any], table: pa.Table) -> list[Outcome]:
    outcomes: list[Outcome] = []
    build_sync(config).dry_run(table, on_outcome=outcomes.append, offline=True)
    return sorted(outcomes, key=lambda o: o.row)


def test_a_binary_primary_key_column_gives_every_row_its_hex_key() -> None:
    outcomes = dry_run(hc_config(options={"primary_key": "crm_key"}, catalogs=CATALOGS), audience())
    assert [(o.row, o.reason, o.primary_key) for o in outcomes] == [(1, None, "ff0010"), (2, None, "7532"),
                                                                    (3, None, None)]


def test_a_fixed_size_binary_primary_key_column_is_hex_too() -> None:
    outcomes = dry_run(hc_config(options={"primary_key": "crm_key"}, catalogs=CATALOGS),
                       audience(pa.array([b"\xff\x01", b"\x00\x02", b"ab"], pa.binary(2))))
    assert [o.primary_key for o in outcomes] == ["ff01", "0002", "6162"]


def test_a_binary_column_that_is_the_primary_key_and_mapped_is_text_and_bytes_not_utf8_are_refused() -> None:
    config = hc_config(mapping={**hc_config()["mapping"], "first_name": "crm_key"},
                       options={"primary_key": "crm_key"}, catalogs=CATALOGS)
    outcomes = dry_run(config, audience())
    assert [(o.row, o.reason) for o in outcomes] == [(1, "malformed_input"), (2, None), (3, None)]
    assert "column 'crm_key'" in (outcomes[0].message or "")
    assert outcomes[1].primary_key == "u2"


def test_a_parquet_file_s_binary_primary_key_is_hex_in_the_outcomes_parquet(tmp_path: Path) -> None:
    source = tmp_path / "audience.parquet"
    pq.write_table(audience(), source)
    outcomes = tmp_path / "outcomes.parquet"
    done = offline_dry_run(tmp_path, source, "{external_reference_id: user_id, phone_number: phone}", "--outcomes",
                           str(outcomes), options="{primary_key: crm_key}")
    assert done.returncode == 0, done.stderr
    table = pq.read_table(outcomes).sort_by("row")
    assert table.column("reason").to_pylist() == [None, None, None]
    assert table.column("primary_key").to_pylist() == ["ff0010", "7532", None]
