"""`destkit send-one`: exactly one record sent, the exact request (secrets masked), the answer and the outcome.

Runs the CLI as a subprocess against the Hello Charles emulator served on a local port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from starlette.applications import Starlette

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.send_one import MAX_SHOWN, Masker, bounded
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine import build_sync
from tests.cli_runs import ENV, KEY_ENV, run_cli, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS, emulator_state


@pytest.fixture
def app() -> Starlette:
    return create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, keep_bodies=True)


@pytest.fixture
def url(app: Starlette) -> Iterator[str]:
    with running_server(app) as served:
        yield served


def send_one(tmp_path: Path, url: str, *more: str) -> tuple[list[str], int, str]:
    """(stdout lines, exit code, stderr) of `destkit send-one` run in `tmp_path`."""
    audience = write_audience(tmp_path / "a.csv", 4, bad_phone_rows=frozenset({2}))
    result = run_cli(["send-one", str(write_config(tmp_path)), "--input", str(audience), "--base-url", url,
                      "--allow-http", *more], cwd=tmp_path)
    return result.stdout.splitlines(), result.returncode, result.stderr


def writes(app: Starlette) -> list[tuple[str, str, list[str]]]:
    """(method, path, keys sent) of every request that was not a catalog read."""
    return [(r.method, r.path, [c["external_reference_id"] for c in orjson.loads(r.body)["contacts"]])
            for r in emulator_state(app).requests if r.method != "GET"]


def test_row_n_alone_is_sent_and_the_request_answer_and_outcome_are_printed(
        url: str, app: Starlette, tmp_path: Path) -> None:
    lines, code, stderr = send_one(tmp_path, url, "--row", "3")
    assert code == 0, stderr
    assert writes(app) == [("PUT", "/api/v1beta/contacts/batch", ["u00003"])]
    assert lines[0] == (f"Sending one record (row 3 of {tmp_path / 'a.csv'}) to hello_charles · send_contacts at {url}."
                        " Nothing is written to the state store.")
    assert f"→ PUT {url}/api/v1beta/contacts/batch" in lines
    assert "  content-type: application/json" in lines
    assert ('  {"contacts":[{"external_reference_id":"u00003","source_type":"zeotap","first_name":"F3",'
            '"phone_numbers":[{"type":"mobile","value":"+14150000003"}],"tags":["984"]}]}') in lines
    assert "← 200 OK" in lines
    assert any(line.startswith('  {"status":200,"msg":"Processed contacts batch."') for line in lines)
    assert "Outcome: delivered" in lines
    assert orjson.loads(lines[-1])["row"] == 3
    assert orjson.loads(lines[-1])["outcome"] == "delivered"


def test_the_api_key_header_is_masked_and_the_key_is_printed_nowhere(url: str, tmp_path: Path) -> None:
    lines, code, stderr = send_one(tmp_path, url, "--row", "1")
    assert code == 0, stderr
    assert "  x-api-key: ***" in lines
    assert API_KEY not in "\n".join(lines) + stderr


def test_send_one_writes_no_state_store_nor_report(url: str, tmp_path: Path) -> None:
    _, code, stderr = send_one(tmp_path, url, "--row", "1")
    assert code == 0, stderr
    assert not (tmp_path / ".destkit").exists()


def test_a_record_given_as_json_is_sent(url: str, app: Starlette, tmp_path: Path) -> None:
    record = '{"user_id": "x9", "first_name": "Ann", "phone": "+15551234567", "segments": "vip"}'
    lines, code, stderr = send_one(tmp_path, url, "--record", record)
    assert code == 0, stderr
    assert writes(app) == [("PUT", "/api/v1beta/contacts/batch", ["x9"])]
    assert "Outcome: delivered" in lines


def test_an_invalid_row_is_not_sent_and_its_fix_is_printed_with_exit_1(
        url: str, app: Starlette, tmp_path: Path) -> None:
    lines, code, _ = send_one(tmp_path, url, "--row", "2")
    assert code == 1
    assert writes(app) == []
    assert "No request was sent for this record." in lines
    assert "Outcome: invalid (invalid_phone)" in lines
    assert "add the e164 transform to normalise it." in lines[-1]


def test_a_row_past_the_end_of_the_input_is_a_usage_error(url: str, app: Starlette, tmp_path: Path) -> None:
    _, code, stderr = send_one(tmp_path, url, "--row", "9")
    assert code == 2
    assert f"{tmp_path / 'a.csv'} has no row 9; its records are numbered from 1." in stderr
    assert writes(app) == []


def test_neither_row_nor_record_is_a_usage_error(url: str, tmp_path: Path) -> None:
    _, code, stderr = send_one(tmp_path, url)
    assert code == 2
    assert "give the record to send: --row N (with --input FILE or --input-sql QUERY) or --record JSON, one of them." in stderr


def test_refused_credentials_exit_2_and_show_the_refused_request_masked(url: str, tmp_path: Path) -> None:
    audience = write_audience(tmp_path / "a.csv", 1)
    result = run_cli(["send-one", str(write_config(tmp_path)), "--input", str(audience), "--row", "1",
                      "--base-url", url, "--allow-http"], env={**ENV, KEY_ENV: "wrong-key-123"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "authentication failed" in result.stderr
    assert "wrong-key-123" not in result.stdout + result.stderr


def test_a_long_answer_is_cut_after_max_shown_characters_saying_how_many_more_there_were(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, API_KEY)
    masker = Masker(build_sync(write_config(tmp_path), needs_secrets=False))
    assert bounded(b"x" * (MAX_SHOWN + 10), masker) == "x" * MAX_SHOWN + "\n… (10 more characters not shown)"
    assert bounded(b"short", masker) == "short"


def test_the_api_key_in_a_body_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, API_KEY)
    masker = Masker(build_sync(write_config(tmp_path), needs_secrets=True, base_url="http://127.0.0.1:9",
                               allow_http=True))
    assert bounded(f'{{"echo": "{API_KEY}"}}'.encode(), masker) == '{"echo": "***"}'
    assert masker.header("X-Api-Key", API_KEY) == "***"


def audience_parquet(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"user_id": [f"u{n:05d}" for n in range(1, rows + 1)],
                             "first_name": [f"F{n}" for n in range(1, rows + 1)],
                             "phone": [f"+1415{n:07d}" for n in range(1, rows + 1)],
                             "segments": [TAGS[n % len(TAGS)] for n in range(1, rows + 1)]}), path)
    return path


def test_send_one_sends_row_n_of_an_input_sql_query(url: str, app: Starlette, tmp_path: Path) -> None:
    audience = write_audience(tmp_path / "a.csv", 4)
    query = f"SELECT * FROM read_csv('{audience}', all_varchar=true) ORDER BY user_id DESC"
    result = run_cli(["send-one", str(write_config(tmp_path)), "--input-sql", query, "--row", "2",
                      "--base-url", url, "--allow-http"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [keys for _, _, keys in writes(app)] == [["u00003"]]
    assert result.stdout.splitlines()[0] == (
        f"Sending one record (row 2 of the --input-sql query) to hello_charles · send_contacts at {url}. "
        "Nothing is written to the state store.")


def test_send_one_sends_row_n_of_a_parquet_file(url: str, app: Starlette, tmp_path: Path) -> None:
    result = run_cli(["send-one", str(write_config(tmp_path)), "--input", str(audience_parquet(tmp_path, 3)),
                      "--row", "3", "--base-url", url, "--allow-http"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [keys for _, _, keys in writes(app)] == [["u00003"]]


def test_send_one_past_the_last_row_of_a_query_exits_2_and_sends_nothing(
        url: str, app: Starlette, tmp_path: Path) -> None:
    result = run_cli(["send-one", str(write_config(tmp_path)), "--input-sql", "SELECT 'u1' AS user_id",
                      "--row", "2", "--base-url", url, "--allow-http", "--warn-unknown-paths"], cwd=tmp_path)
    assert result.returncode == 2
    assert "the --input-sql query has no row 2; its records are numbered from 1." in result.stderr
    assert [keys for _, _, keys in writes(app)] == []
