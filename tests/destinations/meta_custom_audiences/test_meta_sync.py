"""Meta Custom Audiences end to end: the bundled spec synced against its emulator served on a real port,
through the Python API and the CLI (`destkit sync`, `spec check`, `test`, `demo`)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from destkit.destinations.meta_custom_audiences.emulator import EmulatorState, create_app
from destkit.runtime import Status, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.retry import RetryPolicy
from destkit.runtime.outcomes import Reason

TOKEN = "EAAB-sync-test-token"
AUDIENCE = "23850000000000001"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
MAPPING = {"external_id": "id", "email": "email", "phone": "phone", "first_name": "first_name",
           "last_name": "last_name", "country": "country"}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def config(action: str = "add_users", token: str = TOKEN) -> dict[str, Any]:
    return {"destination": "meta_custom_audiences", "action": action, "settings": {"audience_id": AUDIENCE},
            "secrets": {"access_token": token}, "mapping": MAPPING}


@pytest.fixture
def app() -> Starlette:
    return create_app(access_token=TOKEN, audience_ids=[AUDIENCE])


@pytest.fixture
def origin(app: Starlette) -> Iterator[str]:
    with running_server(app) as url:
        yield url


def state(app: Starlette) -> EmulatorState:
    found: EmulatorState = app.state.emulator
    return found


def sync_to(origin: str, action: str = "add_users", token: str = TOKEN) -> Any:
    return build_sync(config(action, token), base_url=origin, allow_http=True, retry=RetryPolicy(base=0))


ANN = {"id": "c1", "email": "  Ann@Example.COM ", "phone": "+1 (415) 555-2671", "first_name": " Ann ",
       "last_name": "Lee", "country": "US"}
BO = {"id": "c2", "phone": "+49 151 12345678"}


def test_plain_values_reach_meta_normalised_and_hashed_in_their_columns(app: Starlette, origin: str) -> None:
    result = sync_to(origin).run([ANN, BO])
    assert result.summary.count(Status.DELIVERED) == 2
    assert state(app).audiences[AUDIENCE] == {
        (("COUNTRY", sha("us")), ("EMAIL", sha("ann@example.com")), ("EXTERN_ID", "c1"), ("FN", sha("ann")),
         ("LN", sha("lee")), ("PHONE", sha("14155552671"))),
        (("EXTERN_ID", "c2"), ("PHONE", sha("4915112345678"))),  # no email: "" kept its column, PHONE stayed PHONE
    }


def test_remove_users_takes_the_added_users_out_of_the_audience(app: Starlette, origin: str) -> None:
    sync_to(origin).run([ANN, BO])
    result = sync_to(origin, "remove_users").run([BO])
    assert result.summary.count(Status.DELIVERED) == 1
    assert state(app).members(AUDIENCE, "EXTERN_ID") == {"c1"}
    assert [r.method for r in state(app).requests] == ["POST", "DELETE"]


def test_an_already_hashed_email_is_sent_as_it_is(app: Starlette, origin: str) -> None:
    digest = sha("hashed@example.com")
    sync_to(origin).run([{"id": "c3", "email": digest.upper()}])
    assert state(app).members(AUDIENCE, "EMAIL") == {digest}


def test_an_invalid_email_is_invalid_and_never_sent(app: Starlette, origin: str) -> None:
    outcomes: list[Any] = []
    sync_to(origin).run([{"id": "c4", "email": "ann@example"}], on_outcome=outcomes.append)
    assert [(o.status, o.reason) for o in outcomes] == [(Status.INVALID, Reason.INVALID_EMAIL)]
    assert state(app).requests == []


def test_the_requests_of_a_run_form_one_session_ending_with_the_last_batch(app: Starlette, origin: str) -> None:
    users = [{"id": f"u{i}", "phone": f"+4915112{i:06d}"} for i in range(20_001)]  # 10,000 per request
    result = sync_to(origin).run(users)
    assert result.summary.count(Status.DELIVERED) == 20_001
    [session] = state(app).sessions.values()
    assert (session.batch_seqs, session.last_batch_seq, session.rows) == ([1, 2, 3], 3, 20_001)


def test_a_throttle_answered_as_400_code_80003_is_sent_again_and_delivered(origin: str) -> None:
    throttling = create_app(access_token=TOKEN, audience_ids=[AUDIENCE], throttle_after=0, throttle_requests=1)
    with running_server(throttling) as url:
        result = sync_to(url).run([ANN])
    assert (result.summary.count(Status.DELIVERED), result.summary.retries) == (1, 1)
    assert [r.status for r in state(throttling).requests] == [400, 200]
    assert state(throttling).members(AUDIENCE, "EXTERN_ID") == {"c1"}


def test_an_invalid_token_error_190_stops_the_run_as_auth_failed(app: Starlette, origin: str) -> None:
    outcomes: list[Any] = []
    result = sync_to(origin, token="EAAB-expired").run([ANN, BO], on_outcome=outcomes.append)
    assert {(o.status, o.reason) for o in outcomes} == {(Status.DEAD_LETTERED, Reason.AUTH_FAILED)}
    assert result.summary.aborted is not None and "EAAB-expired" not in result.summary.aborted
    assert len(state(app).requests) == 1


def test_another_graph_error_rejects_the_request_s_records_with_meta_s_code(origin: str) -> None:
    outcomes: list[Any] = []
    build_sync({**config(), "settings": {"audience_id": "999"}}, base_url=origin, allow_http=True).run(
        [ANN], on_outcome=outcomes.append)  # an audience that does not exist: code 100, subcode 33
    assert [(o.status, o.destination_status, o.destination_code) for o in outcomes] == [(Status.REJECTED, 400, "100")]


# --- the CLI ---------------------------------------------------------------------------------------------


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "destkit.runtime.cli.app", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=300, check=False, cwd=cwd)


def test_the_bundled_spec_passes_spec_check_without_findings() -> None:
    result = cli("spec", "check", "meta_custom_audiences")
    assert (result.returncode, result.stdout.strip()) == (0, "ok: meta_custom_audiences (2 actions)")


def test_destkit_test_passes_with_nothing_skipped() -> None:
    result = cli("test", "meta_custom_audiences", "--examples", "20")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Result: OK" in result.stdout and ", 0 skipped)" in result.stdout


def test_destkit_demo_syncs_to_the_emulator_and_exits_0(tmp_path: Path) -> None:
    result = cli("demo", "--destination", "meta_custom_audiences", env={"DESTKIT_DEMO_DIR": str(tmp_path / "demo")})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "audience.report.summary.json").is_file()


def test_the_example_config_syncs_the_sample_audience(app: Starlette, origin: str, tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    result = cli("sync", str(EXAMPLES / "meta_custom_audiences.sync.yaml"), "--input", str(EXAMPLES / "meta_audience.csv"),
                 "--base-url", origin, "--allow-http", "--report", str(report), "--no-state", "-q",
                 env={"META_ACCESS_TOKEN": TOKEN})
    assert result.returncode in (0, 1), result.stderr
    assert state(app).members(AUDIENCE, "EXTERN_ID") == {"C-1001", "C-1002", "C-1003", "C-1006"}
    assert sha("anna.schmidt@example.com") in state(app).members(AUDIENCE, "EMAIL")
