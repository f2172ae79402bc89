"""Klaviyo end to end: the bundled spec against the served emulator (Python API and CLI), the spec check,
`destkit test`, the demo, pacing under the documented limits, and a resumed run polling its job."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from destkit.destinations.klaviyo.emulator import ImportJob, create_app, finish_job
from destkit.runtime import Outcome, Reason, Status, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine.sources import read_records

KEY = "pk_sync_key"
LIST = "Y6nRLr"
ROOT = Path(__file__).resolve().parents[3]
CLI = [sys.executable, "-m", "destkit.runtime.cli.app"]
ENV = {**os.environ, "KLAVIYO_API_KEY": KEY, "COLUMNS": "200"}


def import_config(**options: Any) -> dict[str, Any]:
    return {"destination": "klaviyo", "action": "import_profiles_to_list", "settings": {"list_id": LIST},
            "secrets": {"api_key": KEY}, "mapping": {"email": "email", "first_name": "first_name"},
            "options": options}


def remove_config(**options: Any) -> dict[str, Any]:
    return {"destination": "klaviyo", "action": "remove_from_list", "settings": {"list_id": LIST},
            "secrets": {"api_key": KEY}, "mapping": {"email": "email", "profile_id": "profile_id"}, "options": options}


def cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=ENV, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False)


def test_an_import_delivers_the_valid_profiles_and_rejects_those_the_job_lists_on_two_pages() -> None:
    app = create_app(api_key=KEY, polls_to_complete=2)
    records = [{"email": f"bad{i}@mailbox.invalid"} for i in range(25)] + [
        {"email": f"Good{i}@Example.com", "first_name": f"G{i}"} for i in range(5)]
    outcomes: list[Outcome] = []
    with running_server(app) as url:
        build_sync(import_config(), base_url=url, allow_http=True).run(records, on_outcome=outcomes.append)
    by_status = {s: sorted(o.row for o in outcomes if o.status is s) for s in (Status.DELIVERED, Status.REJECTED)}
    assert by_status == {Status.DELIVERED: list(range(26, 31)), Status.REJECTED: list(range(1, 26))}
    refused = next(o for o in outcomes if o.row == 25)
    assert (refused.reason, refused.destination_code, refused.destination_message) == (
        Reason.DESTINATION_REJECTED, "invalid", "Invalid email address: 'bad24@mailbox.invalid'.")
    state = app.state.emulator
    assert state.requests["submit"] == 1 and state.requests["errors"] == 2
    assert state.members(LIST) == {state.profile_id(f"good{i}@example.com") for i in range(5)}
    assert state.profiles["good0@example.com"]["attributes"]["first_name"] == "G0"


def test_a_cancelled_import_job_dead_letters_its_profiles_as_job_unfinished() -> None:
    app = create_app(api_key=KEY, polls_to_complete=1, cancel_jobs=True)
    outcomes: list[Outcome] = []
    with running_server(app) as url:
        build_sync(import_config(), base_url=url, allow_http=True).run(
            [{"email": "ada@example.com"}], on_outcome=outcomes.append)
    assert [(o.status, o.reason) for o in outcomes] == [(Status.DEAD_LETTERED, Reason.JOB_UNFINISHED)]


def _imported(app: Any, emails: list[str]) -> list[str]:
    """The emails imported into the list beforehand; their profile ids."""
    state = app.state.emulator
    finish_job(state, ImportJob(id="seed", profiles=[{"attributes": {"email": e}} for e in emails], list_id=LIST))
    return [state.profile_id(e) for e in emails]


def test_remove_from_list_takes_the_mapped_profiles_out_of_the_list_only() -> None:
    app = create_app(api_key=KEY)
    ids = _imported(app, ["ada@example.com", "bo@example.com", "cy@example.com"])
    outcomes: list[Outcome] = []
    with running_server(app) as url:
        build_sync(remove_config(), base_url=url, allow_http=True).run(
            [{"email": "ada@example.com", "profile_id": ids[0]}, {"email": "cy@example.com", "profile_id": ids[2]}],
            on_outcome=outcomes.append)
    assert [o.status for o in outcomes] == [Status.DELIVERED, Status.DELIVERED]
    assert app.state.emulator.members(LIST) == {ids[1]}


def test_remove_from_list_without_a_profile_id_or_a_recorded_one_is_invalid_as_unresolved() -> None:
    config = remove_config()
    config["mapping"] = {"email": "email"}
    outcomes: list[Outcome] = []
    build_sync(config).dry_run([{"email": "ada@example.com"}], on_outcome=outcomes.append)
    assert [(o.status, o.reason, o.field) for o in outcomes] == [(Status.INVALID, Reason.UNRESOLVED_ID, "profile_id")]


def test_the_spec_paces_requests_under_the_documented_burst_and_steady_limits() -> None:
    app = create_app(api_key=KEY)
    ids = _imported(app, ["ada@example.com"])
    records = [{"email": "ada@example.com", "profile_id": ids[0]}] * 12  # one email: twelve requests, one each
    with running_server(app) as url:
        result = build_sync(remove_config(), base_url=url, allow_http=True).run(records)
    assert (result.summary.delivered, result.summary.requests) == (12, 12)
    assert app.state.emulator.requests["throttled"] == 0


def test_a_sender_faster_than_the_burst_limit_is_throttled_and_still_delivers_everything() -> None:
    app = create_app(api_key=KEY, burst_per_second=3)
    ids = _imported(app, ["ada@example.com"])
    records = [{"email": "ada@example.com", "profile_id": ids[0]}] * 8
    with running_server(app) as url:
        result = build_sync(remove_config(requests_per_second=100, concurrency=4), base_url=url,
                            allow_http=True).run(records)
    assert result.summary.delivered == 8
    assert app.state.emulator.requests["throttled"] > 0


# --- the CLI ----------------------------------------------------------------------------------------


def test_spec_check_passes_the_klaviyo_spec_without_warnings() -> None:
    done = cli("spec", "check", str(ROOT / "specs" / "klaviyo.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "ok: klaviyo (2 actions)"


@pytest.mark.slow
def test_destkit_test_passes_both_actions_with_nothing_skipped() -> None:
    done = cli("test", "klaviyo", "--examples", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failed, 0 skipped" in done.stdout


def test_the_klaviyo_demo_runs_as_planted(tmp_path: Path) -> None:
    done = cli("demo", "--destination", "klaviyo", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_example_config_imports_the_sample_audience(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAVIYO_API_KEY", KEY)
    app = create_app(api_key=KEY, polls_to_complete=1)
    outcomes: list[Outcome] = []
    with running_server(app) as url:
        sync = build_sync(ROOT / "examples" / "klaviyo.sync.yaml", base_url=url, allow_http=True)
        sync.run(read_records(ROOT / "examples" / "klaviyo_audience.csv"), on_outcome=outcomes.append)
    assert [(o.row, o.status, o.reason) for o in sorted(outcomes, key=lambda o: o.row)] == [
        (1, Status.DELIVERED, None), (2, Status.DELIVERED, None),
        (3, Status.REJECTED, Reason.DESTINATION_REJECTED),
        (4, Status.INVALID, Reason.MISSING_REQUIRED), (5, Status.INVALID, Reason.INVALID_PHONE)]
    assert app.state.emulator.profiles["ada@example.com"]["attributes"]["phone_number"] == "+14155550101"


def test_a_sync_killed_while_its_job_runs_is_resumed_by_polling_the_job_not_by_sending_again(tmp_path: Path) -> None:
    app = create_app(api_key=KEY, polls_to_complete=1000)
    audience = tmp_path / "audience.csv"
    audience.write_text("email\n" + "".join(f"user{i}@example.com\n" for i in range(40)) + "bad@mailbox.invalid\n",
                        encoding="utf-8")
    config = tmp_path / "sync.yaml"
    config.write_text("destination: klaviyo\naction: import_profiles_to_list\nsettings: {list_id: Y6nRLr}\n"
                      "secrets: {api_key: {env: KLAVIYO_API_KEY}}\nmapping: {email: email}\n", encoding="utf-8")
    state = app.state.emulator
    with running_server(app) as url:
        args = ["sync", str(config), "--input", str(audience), "--base-url", url, "--allow-http",
                "--state", str(tmp_path / "state.sqlite"), "--report", str(tmp_path / "audience.report.jsonl"), "--quiet"]
        first = subprocess.Popen([*CLI, *args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while state.requests["poll"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert state.requests["submit"] == 1
        app.state.options = dataclasses.replace(app.state.options, polls_to_complete=1)
        resumed = cli(*args, "--resume")
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # the refused profile: not all delivered
    assert state.requests["submit"] == 1  # the job was polled, its profiles never sent again
    assert len(state.members(LIST)) == 40
    report = (tmp_path / "audience.report.jsonl").read_text(encoding="utf-8")
    assert '"row":41' in report and '"reason":"destination_rejected"' in report
