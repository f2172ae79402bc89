"""`config init` and `send-one` read Parquet and `--input-sql` queries as `sync` and `dry-run` do.

Runs the CLI as a subprocess; send-one talks to the Hello Charles emulator served on a local port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from starlette.applications import Starlette

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import run_cli, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS, emulator_state

COLUMNS = "SELECT \"External Reference ID\", FirstName, email FROM read_csv('{path}', all_varchar=true)"


@pytest.fixture
def app() -> Starlette:
    return create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, keep_bodies=True)


@pytest.fixture
def url(app: Starlette) -> Iterator[str]:
    with running_server(app) as served:
        yield served


def config_init(tmp_path: Path, *more: str) -> tuple[Path, int, str, str]:
    """(written config, exit code, stdout, stderr) of `destkit config init hello_charles send_contacts`."""
    output = tmp_path / "sync.yaml"
    result = run_cli(["config", "init", "hello_charles", "send_contacts", "--output", str(output), *more])
    return output, result.returncode, result.stdout, result.stderr


def sample_csv(tmp_path: Path) -> Path:
    path = tmp_path / "sample.csv"
    path.write_text("External Reference ID,FirstName,Phone,email\nu1,Ann,+14155550101,ann@example.com\n",
                    encoding="utf-8")
    return path


def sent_keys(app: Starlette) -> list[list[str]]:
    return [[c["external_reference_id"] for c in orjson.loads(r.body)["contacts"]]
            for r in emulator_state(app).requests if r.method != "GET"]


def audience_parquet(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"user_id": [f"u{n:05d}" for n in range(1, rows + 1)],
                             "first_name": [f"F{n}" for n in range(1, rows + 1)],
                             "phone": [f"+1415{n:07d}" for n in range(1, rows + 1)],
                             "segments": [TAGS[n % len(TAGS)] for n in range(1, rows + 1)]}), path)
    return path


def test_config_init_guesses_the_mapping_from_the_columns_of_an_input_sql_query(tmp_path: Path) -> None:
    query = COLUMNS.format(path=sample_csv(tmp_path))
    output, code, stdout, stderr = config_init(tmp_path, "--input-sql", query)
    assert code == 0, stderr
    assert yaml.safe_load(output.read_text(encoding="utf-8"))["mapping"] == {
        "external_reference_id": "External Reference ID", "first_name": "FirstName", "email_address": "email"}
    assert stdout.splitlines() == [f"Wrote {output}: 3 of 8 fields mapped from the input's columns.",
                                   f"Next: fill in what it marks, then: destkit preview {output} --input-sql QUERY"]


def test_config_init_guesses_the_mapping_from_a_parquet_files_columns(tmp_path: Path) -> None:
    output, code, _, stderr = config_init(tmp_path, "--input", str(audience_parquet(tmp_path, 1)))
    assert code == 0, stderr
    assert yaml.safe_load(output.read_text(encoding="utf-8"))["mapping"] == {
        "first_name": "first_name", "phone_number": "phone"}


def test_config_init_with_a_failing_query_exits_2_naming_the_query_and_writes_nothing(tmp_path: Path) -> None:
    output, code, _, stderr = config_init(tmp_path, "--input-sql", "SELEC 1")
    assert code == 2
    assert "the --input-sql query failed: Parser Error: syntax error at or near \"SELEC\"" in stderr
    assert not output.exists()


def test_config_init_with_input_db_alone_is_a_usage_error_as_in_sync(tmp_path: Path) -> None:
    output, code, _, stderr = config_init(tmp_path, "--input-db", str(tmp_path / "x.duckdb"))
    assert code == 2
    assert "give the records: --input FILE (CSV, JSON Lines, Parquet, a Parquet or Delta folder) or --input-sql " \
           "QUERY." in " ".join(stderr.split())
    assert not output.exists()


def test_send_one_sends_row_n_of_an_input_sql_query(url: str, app: Starlette, tmp_path: Path) -> None:
    audience = write_audience(tmp_path / "a.csv", 4)
    query = f"SELECT * FROM read_csv('{audience}', all_varchar=true) ORDER BY user_id DESC"
    result = run_cli(["send-one", str(write_config(tmp_path)), "--input-sql", query, "--row", "2",
                      "--base-url", url, "--allow-http"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sent_keys(app) == [["u00003"]]
    assert result.stdout.splitlines()[0] == (
        f"Sending one record (row 2 of the --input-sql query) to hello_charles · send_contacts at {url}. "
        "Nothing is written to the state store.")


def test_send_one_sends_row_n_of_a_parquet_file(url: str, app: Starlette, tmp_path: Path) -> None:
    result = run_cli(["send-one", str(write_config(tmp_path)), "--input", str(audience_parquet(tmp_path, 3)),
                      "--row", "3", "--base-url", url, "--allow-http"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sent_keys(app) == [["u00003"]]


def test_send_one_past_the_last_row_of_a_query_exits_2_and_sends_nothing(
        url: str, app: Starlette, tmp_path: Path) -> None:
    result = run_cli(["send-one", str(write_config(tmp_path)), "--input-sql", "SELECT 'u1' AS user_id",
                      "--row", "2", "--base-url", url, "--allow-http", "--warn-unknown-paths"], cwd=tmp_path)
    assert result.returncode == 2
    assert "the --input-sql query has no row 2; its records are numbered from 1." in result.stderr
    assert sent_keys(app) == []
