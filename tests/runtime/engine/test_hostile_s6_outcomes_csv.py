"""Formula injection: an input value shaped like a spreadsheet formula is inert text in `--outcomes out.csv`.

Before, a key `=cmd|' /C calc'!A0` went into outcomes.csv as is: Excel runs it on opening. Such a cell now
starts with `'` (OWASP's advice); a plain number or phone number key (`-5`, `+14155550100`) is no formula
and stays as it is, so keys still join. The JSON Lines and Parquet outcomes are data, never escaped.
"""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest

from destkit.runtime.engine.outcome_table import inert_cell, open_outcome_writer
from destkit.runtime.outcomes import Outcome, Reason, Status

FORMULA_KEY = "=cmd|' /C calc'!A0"


@pytest.mark.parametrize(("value", "cell"), [
    (FORMULA_KEY, "'" + FORMULA_KEY),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("+14155550100", "+14155550100"),
    ("-5", "-5"),
    ("-1.25", "-1.25"),
    ("u1", "u1"),
    ("a=b", "a=b"),
    (7, 7),
])
def test_a_cell_a_spreadsheet_would_run_starts_with_a_quote(value: object, cell: object) -> None:
    assert inert_cell(value) == cell


def refused(key: str) -> Outcome:
    return Outcome(row=1, status=Status.INVALID, key=key, reason=Reason.INVALID_PHONE, field="phone_number",
                   message=f"phone_number '{FORMULA_KEY}' is not in international format", primary_key="+14155550100")


def test_the_outcomes_csv_holds_a_formula_key_as_inert_text(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    writer = open_outcome_writer(path, "run-1")
    writer.write(refused(FORMULA_KEY))
    writer.close()
    with path.open(newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["key"], row["primary_key"], row["message"]) == (
        "'" + FORMULA_KEY, "+14155550100", f"phone_number '{FORMULA_KEY}' is not in international format")


def test_the_outcomes_jsonl_keeps_the_formula_key_exactly(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    writer = open_outcome_writer(path, "run-1")
    writer.write(refused(FORMULA_KEY))
    writer.close()
    [line] = path.read_bytes().splitlines()
    assert orjson.loads(line)["key"] == FORMULA_KEY
