"""Source paths are checked against the input before anything is sent, one behaviour per test.

`first_name: frist_name` used to send every record without a first name, and a misspelt key path
gave thousands of "required but empty" lines that never named it. Now every path the mapping
reads is looked up in the CSV header (or the first JSON records) when `destkit preview`, `sync`
or `retry` starts: an unknown one is a config error (exit 2) with a did-you-mean, listed with
the config's other problems; `--warn-unknown-paths` makes it a warning for sparse JSON. A CSV
whose header is one column holding semicolons or tabs names the delimiter. Nothing is sent, so
no emulator is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

from cli_runs import KEY_ENV, run_cli

CSV = "user_id,first_name,phone\nu1,Anna,+14155550101\nu2,Ben,+14155550102\n"
MAPPING = "  external_reference_id: user_id\n  first_name: first_name\n  phone_number: phone\n"


def write_config(folder: Path, mapping: str = MAPPING, extra: str = "") -> Path:
    path = folder / "sync.yaml"
    path.write_text(
        "destination: hello_charles\naction: send_contacts\nsettings: {subdomain: acme}\n"
        f"secrets: {{api_key: {{env: {KEY_ENV}}}}}\ncatalogs: {{tags: [vip], custom_properties: []}}\n"
        f"{extra}mapping:\n{mapping}", encoding="utf-8")
    return path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(folder: Path, records: list[dict[str, object]]) -> Path:
    return write(folder, "audience.jsonl", "".join(json.dumps(r) + "\n" for r in records))


def preview(config: Path, audience: Path, *more: str) -> tuple[int, str]:
    done = run_cli(["preview", str(config), "--input", str(audience), "--offline", *more])
    return done.returncode, done.stdout + done.stderr


def test_a_misspelt_csv_column_is_a_config_error_with_did_you_mean(tmp_path: Path) -> None:
    config = write_config(tmp_path, MAPPING.replace("first_name: first_name", "first_name: frist_name"))
    code, output = preview(config, write(tmp_path, "audience.csv", CSV))
    assert code == 2
    assert "error: the mapping does not fit the input (1 problem):" in output
    assert (f"  - {config}:8: mapping.first_name: 'frist_name' is not a column of the header of audience.csv. "
            "Fix: did you mean 'first_name'?") in output


def test_a_misspelt_path_in_a_path_mapping_names_its_path_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, MAPPING.replace("phone_number: phone", "phone_number: {path: phon, transform: [trim]}"))
    code, output = preview(config, write(tmp_path, "audience.csv", CSV))
    assert code == 2
    assert (f"{config}:9: mapping.phone_number.path: 'phon' is not a column of the header of audience.csv. "
            "Fix: did you mean 'phone'?") in output


def test_sync_refuses_before_sending_anything(tmp_path: Path) -> None:
    config = write_config(tmp_path, MAPPING.replace("external_reference_id: user_id", "external_reference_id: userid"))
    audience = write(tmp_path, "audience.csv", CSV)
    # the base URL has nothing listening: the run must stop before it connects
    done = run_cli(["sync", str(config), "--input", str(audience), "--no-state", "--quiet",
                    "--base-url", "http://127.0.0.1:9", "--allow-http"])
    assert done.returncode == 2
    assert "'userid' is not a column of the header of audience.csv. Fix: did you mean 'user_id'?" in done.stderr
    assert not (tmp_path / "audience.report.jsonl").exists()


def test_unknown_columns_are_listed_with_the_configs_other_problems(tmp_path: Path) -> None:
    mapping = MAPPING.replace("first_name: first_name", "first_name: frist_name") + "  phone: phone\n"
    code, output = preview(write_config(tmp_path, mapping), write(tmp_path, "audience.csv", CSV))
    assert code == 2
    assert "invalid sync config (2 problems):" in output
    assert "mapping.phone: 'phone' is not a field of this action. Fix: did you mean 'phone_number'?" in output
    assert "mapping.first_name: 'frist_name' is not a column of the header of audience.csv." in output


def test_a_semicolon_separated_csv_names_its_delimiter(tmp_path: Path) -> None:
    audience = write(tmp_path, "audience.csv", CSV.replace(",", ";"))
    code, output = preview(write_config(tmp_path), audience)
    assert code == 2
    assert output.splitlines()[-2:] == [
        "error: the mapping does not fit the input (1 problem):",
        f"  - {audience}: (input): the header of audience.csv is one column, 'user_id;first_name;phone': the file "
        "looks separated by semicolons, not commas. Fix: re-export the file comma-separated (destkit reads ',' in "
        ".csv files and tabs in .tsv files).",
    ]


def test_a_tab_separated_file_named_csv_is_told_to_use_format_tsv(tmp_path: Path) -> None:
    code, output = preview(write_config(tmp_path), write(tmp_path, "audience.csv", CSV.replace(",", "\t")))
    assert code == 2
    assert "the file looks separated by tabs, not commas. Fix: pass --format tsv" in output


def test_a_path_in_no_json_record_is_an_error_naming_the_file(tmp_path: Path) -> None:
    records = [{"user_id": "u1", "profile": {"first_name": "Anna"}, "phone": "+14155550101"}]
    mapping = MAPPING.replace("first_name: first_name", "first_name: profile.firstname")
    code, output = preview(write_config(tmp_path, mapping), jsonl(tmp_path, records))
    assert code == 2
    assert ("mapping.first_name: 'profile.firstname' is in no record of audience.jsonl. "
            "Fix: did you mean 'profile.first_name'?") in output


def test_nested_json_paths_and_list_items_are_known(tmp_path: Path) -> None:
    records = [{"user_id": "u1", "profile": {"names": [{"first": "Anna"}, {"first": "A."}]}, "phone": "+14155550101"}]
    mapping = MAPPING.replace("first_name: first_name", "first_name: profile.names.1.first")
    code, output = preview(write_config(tmp_path, mapping), jsonl(tmp_path, records))
    assert code == 0, output


def test_a_field_missing_from_the_first_json_records_suggests_the_sparse_flag(tmp_path: Path) -> None:
    records = [{"user_id": f"u{i}", "phone": "+14155550101"} for i in range(150)]
    code, output = preview(write_config(tmp_path), jsonl(tmp_path, records))
    assert code == 2
    assert ("mapping.first_name: 'first_name' is in none of the first 100 records of audience.jsonl. Fix: map one "
            "of: phone, user_id. If the field is only in later records (sparse JSON), pass --warn-unknown-paths."
            ) in output


def test_warn_unknown_paths_turns_the_error_into_a_warning(tmp_path: Path) -> None:
    records = [{"user_id": f"u{i}", "phone": "+14155550101"} for i in range(150)]
    code, output = preview(write_config(tmp_path), jsonl(tmp_path, records), "--warn-unknown-paths")
    assert code == 0, output
    assert ("warning: " + str(tmp_path / "sync.yaml") + ":8: mapping.first_name: 'first_name' is in none of the "
            "first 100 records of audience.jsonl. Fix: map one of: phone, user_id.") in output.splitlines()


def test_the_sync_option_turns_the_error_into_a_warning_too(tmp_path: Path) -> None:
    records = [{"user_id": f"u{i}", "phone": "+14155550101"} for i in range(150)]
    config = write_config(tmp_path, extra="options: {on_unknown_source_path: warn}\n")
    code, output = preview(config, jsonl(tmp_path, records))
    assert code == 0, output
    assert "warning: " in output and "'first_name' is in none of the first 100 records" in output


def test_a_mapping_that_fits_its_input_says_nothing_about_columns(tmp_path: Path) -> None:
    code, output = preview(write_config(tmp_path), write(tmp_path, "audience.csv", CSV))
    assert code == 0, output
    assert "warning" not in output and "column" not in output
