"""Mirror mode through `destkit sync`: the summary and the report show the removals."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from cli_runs import run_cli
from mirror_kit import SPEC, TOKEN, Audience, emails

from destkit.runtime.cli.display import EXIT_ERROR, EXIT_NOT_DELIVERED, EXIT_OK


def write_files(folder: Path, options: str = "{mirror: true}") -> Path:
    (folder / "mirror_emulator.yaml").write_text(SPEC, encoding="utf-8")
    config = folder / "sync.yaml"
    config.write_text("destination: mirror_emulator.yaml\naction: sync_members\nsettings: {audience_id: aud_1}\n"
                      "secrets: {token: {env: MIRROR_TOKEN}}\nmapping: {email: email}\n"
                      f"options: {options}\n", encoding="utf-8")
    return config


def write_audience(path: Path, numbers: range) -> Path:
    path.write_text("email\n" + "".join(f"user{n}@example.com\n" for n in numbers), encoding="utf-8")
    return path


ENV = {**os.environ, "MIRROR_TOKEN": TOKEN, "COLUMNS": "200"}


def sync(config: Path, audience: Path, url: str, folder: Path, *more: str) -> tuple[int, str, str]:
    proc = run_cli(["sync", str(config), "--input", str(audience), "--base-url", url, "--allow-http", "--trust-spec",
                    "--state", str(folder / "state.sqlite"), *more], env=ENV)
    return proc.returncode, proc.stdout, proc.stderr


def test_the_cli_summary_and_report_show_the_removals(tmp_path: Path, url: str, audience: Audience) -> None:
    config = write_files(tmp_path)
    assert sync(config, write_audience(tmp_path / "first.csv", range(5)), url, tmp_path)[0] == 0
    report = tmp_path / "second.jsonl"

    code, out, err = sync(config, write_audience(tmp_path / "second.csv", range(3)), url, tmp_path,
                          "--report", str(report))

    assert code == EXIT_OK, out + err
    assert audience.members == emails(range(3))
    assert "removed" in out and "removal failed" in out
    summary = orjson.loads(report.with_suffix(".summary.json").read_bytes())
    assert (summary["received"], summary["skipped"], summary["removed"], summary["removals_failed"]) == (3, 3, 2, 0)


def test_the_cli_reports_a_refused_removal_and_exits_not_delivered(tmp_path: Path, url: str, audience: Audience) -> None:
    config = write_files(tmp_path)
    sync(config, write_audience(tmp_path / "first.csv", range(3)), url, tmp_path)
    audience.refuse_removal = emails([2])
    report = tmp_path / "second.jsonl"

    code, _, _ = sync(config, write_audience(tmp_path / "second.csv", range(2)), url, tmp_path, "--report", str(report))

    lines = [orjson.loads(line) for line in report.read_bytes().splitlines()]
    assert lines == [{"row": 0, "key": "user2@example.com", "outcome": "rejected", "operation": "remove",
                      "reason": "destination_rejected",
                      "message": "the destination refused this record; see destination_code and destination_message.",
                      "destination_status": 200, "destination_code": "LOCKED", "attempts": 1}]
    assert code == EXIT_NOT_DELIVERED


def test_mirror_with_no_state_store_is_a_config_error_naming_the_fix(tmp_path: Path, url: str) -> None:
    config = write_files(tmp_path)

    proc = run_cli(["sync", str(config), "--input", str(write_audience(tmp_path / "a.csv", range(2))), "--base-url", url,
                    "--allow-http", "--trust-spec", "--no-state"], env=ENV)

    assert proc.returncode == EXIT_ERROR
    assert "mirror needs a state store" in proc.stdout + proc.stderr
    assert "drop --no-state" in proc.stdout + proc.stderr
