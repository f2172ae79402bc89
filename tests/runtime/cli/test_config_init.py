"""`destkit config init`: a starter config with every field of the action, the mapping guessed from the input.

Runs the CLI as a subprocess; the written config is then previewed against the Hello Charles emulator
served on a local port.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import ENV, run_cli
from tests.conftest import API_KEY, PROPERTIES, TAGS

COLUMNS = "SELECT \"External Reference ID\", FirstName, email FROM read_csv('{path}', all_varchar=true)"

HEADER = "External Reference ID,FirstName,Last Nme,Phone,email,Tags,favourite_colour\n"
ROW = "u1,Ann,Lee,+14155550101,ann@example.com,vip,green\n"


def config_init(tmp_path: Path, *more: str) -> tuple[Path, int, str, str]:
    """(written config, exit code, stdout, stderr) of `destkit config init hello_charles send_contacts`."""
    output = tmp_path / "sync.yaml"
    result = run_cli(["config", "init", "hello_charles", "send_contacts", "--output", str(output), *more])
    return output, result.returncode, result.stdout, result.stderr


def init(tmp_path: Path, *more: str) -> tuple[Path, str]:
    """(written config, stdout) of a `config init` that succeeds."""
    output, code, stdout, stderr = config_init(tmp_path, *more)
    assert code == 0, stderr
    return output, stdout


def test_the_mapping_is_guessed_from_exact_case_insensitive_and_close_column_names(tmp_path: Path) -> None:
    audience = tmp_path / "a.csv"
    audience.write_text(HEADER + ROW, encoding="utf-8")
    output, stdout = init(tmp_path, "--input", str(audience))
    assert yaml.safe_load(output.read_text(encoding="utf-8"))["mapping"] == {
        "external_reference_id": "External Reference ID", "first_name": "FirstName", "last_name": "Last Nme",
        "phone_number": "Phone", "email_address": "email", "tags": "Tags"}
    assert stdout.startswith(f"Wrote {output}: 6 of 8 fields mapped from the input's columns.\n")


def test_every_field_of_the_action_is_a_line_with_its_title_type_required_mark_and_description(
        tmp_path: Path) -> None:
    output, _ = init(tmp_path)
    lines = output.read_text(encoding="utf-8").splitlines()
    assert ("  # external_reference_id: change-me   # External Reference Id · string · required — Matches existing "
            "contacts for the upsert; typically the phone number in international format. (TODO: required, map it)"
            ) in lines
    assert "  # middle_name: change-me   # Middle Name · string · optional (not guessed)" in lines
    fields = [line.split(":")[0].strip(" #") for line in lines[lines.index(next(
        line for line in lines if line.startswith("mapping:"))) + 1:]]
    assert fields == ["external_reference_id", "first_name", "middle_name", "last_name", "phone_number",
                      "email_address", "tags", "custom_properties"]


def test_settings_and_secrets_are_references_to_fill_in_never_values(tmp_path: Path) -> None:
    output, _ = init(tmp_path)
    config = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert config["destination"] == "hello_charles"
    assert config["action"] == "send_contacts"
    assert config["settings"] == {"subdomain": "change-me"}
    assert config["secrets"] == {"api_key": {"env": "HELLO_CHARLES_API_KEY"}}


def test_the_written_config_passes_preview_when_the_input_has_the_required_columns(tmp_path: Path) -> None:
    audience = tmp_path / "a.csv"
    audience.write_text(HEADER + ROW, encoding="utf-8")
    output, _ = init(tmp_path, "--input", str(audience))
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as url:
        result = run_cli(["preview", str(output), "--input", str(audience), "--base-url", url, "--allow-http"],
                         env={**ENV, "HELLO_CHARLES_API_KEY": API_KEY})
    assert result.returncode == 0, result.stderr
    assert "row 1 · would be sent as" in result.stdout
    assert '"email_addresses"' in result.stdout


def test_a_jsonl_input_offers_its_field_paths(tmp_path: Path) -> None:
    audience = tmp_path / "a.jsonl"
    audience.write_text('{"external_reference_id": "u1", "first_name": "Ann", "phone_number": "+14155550101"}\n',
                        encoding="utf-8")
    output, _ = init(tmp_path, "--input", str(audience))
    assert yaml.safe_load(output.read_text(encoding="utf-8"))["mapping"] == {
        "external_reference_id": "external_reference_id", "first_name": "first_name", "phone_number": "phone_number"}


def test_an_existing_output_is_kept_unless_force(tmp_path: Path) -> None:
    output = tmp_path / "sync.yaml"
    output.write_text("mine\n", encoding="utf-8")
    result = run_cli(["config", "init", "hello_charles", "send_contacts", "--output", str(output)])
    assert result.returncode == 2
    assert f"{output} exists; choose another --output or pass --force to replace it." in result.stderr
    assert output.read_text(encoding="utf-8") == "mine\n"
    init(tmp_path, "--force")
    assert output.read_text(encoding="utf-8").startswith("# A starter sync config")


def test_an_unknown_action_is_a_usage_error_with_a_did_you_mean(tmp_path: Path) -> None:
    result = run_cli(["config", "init", "hello_charles", "send_contact", "--output", str(tmp_path / "s.yaml")])
    assert result.returncode == 2
    assert "hello_charles has no action 'send_contact'. Fix: did you mean 'send_contacts'?" in result.stderr
    assert not (tmp_path / "s.yaml").exists()


def test_without_output_the_config_is_written_to_sync_yaml_in_the_current_folder(tmp_path: Path) -> None:
    result = run_cli(["config", "init", "hello_charles", "send_contacts"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((tmp_path / "sync.yaml").read_text(encoding="utf-8"))["action"] == "send_contacts"


def sample_csv(tmp_path: Path) -> Path:
    path = tmp_path / "sample.csv"
    path.write_text(HEADER + ROW, encoding="utf-8")
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
    audience = tmp_path / "a.parquet"
    pq.write_table(pa.table({"user_id": ["u1"], "first_name": ["F1"], "phone": ["+14150000001"]}), audience)
    output, code, _, stderr = config_init(tmp_path, "--input", str(audience))
    assert code == 0, stderr
    assert yaml.safe_load(output.read_text(encoding="utf-8"))["mapping"] == {
        "external_reference_id": "user_id", "first_name": "first_name", "phone_number": "phone"}


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


def test_columns_under_the_names_cdp_exports_use_are_mapped_as_such(tmp_path: Path) -> None:
    audience = tmp_path / "w1.csv"
    audience.write_text("user_id,fname,lname,mobile,email_address,segments,attributes,created_at,country\n"
                        "u1,Ann,Lee,+14155550101,ann@example.com,[],{},2026-05-01,US\n", encoding="utf-8")
    output, _ = init(tmp_path, "--input", str(audience))
    assert yaml.safe_load(output.read_text(encoding="utf-8"))["mapping"] == {
        "external_reference_id": "user_id", "first_name": "fname", "last_name": "lname", "phone_number": "mobile",
        "email_address": "email_address", "tags": "segments", "custom_properties": "attributes"}
    assert "  first_name: fname   # First Name · string · optional (usual name)" in output.read_text(encoding="utf-8").splitlines()
