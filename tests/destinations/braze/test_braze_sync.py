"""Braze end to end: syncs against the emulator (in process and served), the spec's checks, `destkit test` and the demo."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from destkit.destinations.braze.emulator import DEFAULT_GROUPS, create_app
from destkit.destinations.braze.store import EmulatorState
from destkit.runtime import ConfigError, Outcome, Status, Sync, build_sync, load_spec
from destkit.runtime.authoring.check import check_spec
from destkit.runtime.cli.server import running_server
from destkit.runtime.delivery.reading import ResponseReader
from destkit.runtime.delivery.retry import RetryPolicy
from destkit.runtime.outcomes import Reason
from tests.cli_runs import run_cli

KEY = "rest-key-1"
BASE_URL = "http://rest.iad-03.braze.test"
GROUP = DEFAULT_GROUPS[0]
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def config(action: str = "track_users", **overrides: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "destination": "braze",
        "action": action,
        "settings": {"instance": "US-03", "subscription_group_id": GROUP},
        "secrets": {"api_key": KEY},
        "mapping": {"external_id": "id"} if action != "track_users" else {
            "external_id": "id", "email": "email", "first_name": "first_name", "gender": "gender"},
    }
    out.update(overrides)
    return out


def in_process(app: Starlette, sync_config: dict[str, Any] | None = None) -> Sync:
    return build_sync(sync_config or config(), base_url=BASE_URL, transport=httpx.ASGITransport(app=app),
                      allow_http=True, retry=RetryPolicy(base=0.001, cap=0.01))


def users(n: int) -> list[dict[str, Any]]:
    return [{"id": f"u{i}", "email": f"user{i}@example.com", "first_name": f"F{i}"} for i in range(1, n + 1)]


def state_of(app: Starlette) -> EmulatorState:
    state: EmulatorState = app.state.emulator
    return state


def track_requests(app: Starlette) -> list[Any]:
    return [r for r in state_of(app).requests if r.path == "/users/track"]


# --- the regression of issue 9: failures-only results by index ----------------------------------------


def test_a_batched_api_that_lists_only_the_failed_record_by_index_rejects_that_record_alone() -> None:
    # Braze answers 201 {"message": "success", "errors": [{"type", "input_array", "index": 1}]}: before
    # failures-only results, every record of this batch was reported delivered, the failed one included
    app = create_app(api_key=KEY)
    records = [{"id": "u1", "email": "ann@example.com"}, {"id": "u2", "email": "bo@localhost"},
               {"id": "u3", "email": "cy@example.org"}]
    outcomes: list[Outcome] = []

    in_process(app).run(records, on_outcome=outcomes.append)

    by_key = {o.key: o for o in outcomes}
    assert [by_key[k].status for k in ("u1", "u2", "u3")] == [Status.DELIVERED, Status.REJECTED, Status.DELIVERED]
    assert (by_key["u2"].reason, by_key["u2"].destination_status, by_key["u2"].destination_code) == (
        Reason.DESTINATION_REJECTED, 201, "'email' is not valid")
    assert len(track_requests(app)) == 1
    assert set(state_of(app).contacts) == {"u1", "u3"}


def test_a_batch_braze_refuses_whole_is_split_and_each_record_rejected_with_its_own_error_type() -> None:
    app = create_app(api_key=KEY)
    records = [{"id": "u1", "email": "a@localhost"}, {"id": "u2", "email": "b@localhost"}]

    result = in_process(app).run(records)

    assert result.summary.count(Status.REJECTED) == 2
    assert [r.status for r in track_requests(app)] == [400, 400, 400]  # the pair, then each alone
    assert state_of(app).contacts == {}


# --- batching, endpoint, auth, pacing ------------------------------------------------------------------


def test_150_users_go_in_two_requests_of_75_and_are_stored_with_their_attributes() -> None:
    app = create_app(api_key=KEY)

    result = in_process(app).run(users(150))

    assert result.summary.delivered == 150
    assert sorted(r.object_count for r in track_requests(app)) == [75, 75]
    assert state_of(app).contacts["u150"].attributes == {"email": "user150@example.com", "first_name": "F150"}


@pytest.mark.parametrize("instance, origin", [
    ("US-01", "https://rest.iad-01.braze.com"),
    ("US-08", "https://rest.iad-08.braze.com"),
    ("EU-02", "https://rest.fra-02.braze.eu"),
])
def test_the_instance_setting_picks_the_rest_endpoint(instance: str, origin: str) -> None:
    sync = build_sync(config(settings={"instance": instance}))

    [request] = sync.dry_run(users(1), offline=True).requests

    assert request.url == f"{origin}/users/track"


def test_an_instance_braze_does_not_have_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ConfigError, match="instance"):
        build_sync(config(settings={"instance": "US-99"}))


def test_a_wrong_rest_api_key_stops_the_run_after_one_request() -> None:
    app = create_app(api_key="the-real-key")

    result = in_process(app).run(users(200))

    assert result.summary.aborted is not None
    assert [r.status for r in track_requests(app)] == [401]
    assert result.summary.delivered == 0


def test_the_x_ratelimit_headers_pace_the_sync_so_braze_never_answers_429() -> None:
    # a budget of 2 requests per second: the second answer says 0 remaining, so the third request
    # waits for the reset instead of drawing a 429
    app = create_app(api_key=KEY, track_limit=(2, 1.0))
    started = time.monotonic()

    result = in_process(app, config(options={"concurrency": 1})).run(users(225))

    assert result.summary.delivered == 225
    assert [r.status for r in track_requests(app)] == [201, 201, 201]
    assert time.monotonic() - started >= 0.5  # it did wait for the window to reset


def test_a_429_from_a_budget_spent_elsewhere_is_retried_after_the_reset() -> None:
    # the workspace's budget (1 request per second) is spent by another integration just before the sync
    app = create_app(api_key=KEY, track_limit=(1, 1.0))
    _spend_budget(app)

    result = in_process(app, config(options={"max_retry_after": 3})).run(users(2))

    assert result.summary.delivered == 2
    assert [r.status for r in track_requests(app)] == [201, 429, 201]  # the other call, ours refused, ours again


def _spend_budget(app: Starlette) -> None:
    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
            await client.post("/users/track", json={"attributes": [{"external_id": "other"}]},
                              headers={"Authorization": f"Bearer {KEY}"})

    asyncio.run(go())


@pytest.mark.parametrize("answer, delivered", [
    ({"message": "success", "attributes_processed": 2}, True),
    ({"message": "queued"}, True),  # 202 during maintenance: received and queued
    ({"message": "something went wrong"}, False),
])
def test_a_2xx_answer_counts_only_when_its_message_is_success_or_queued(answer: dict[str, Any], delivered: bool) -> None:
    reader = ResponseReader(load_spec("braze").actions["track_users"].response)

    results = reader.read(answer, ["u1", "u2"])

    assert (not isinstance(results, str) and all(r.ok for r in results)) is delivered


# --- remove from a subscription group ---------------------------------------------------------------


def test_removal_unsubscribes_every_user_in_requests_of_at_most_50() -> None:
    app = create_app(api_key=KEY)

    result = in_process(app, config("remove_from_subscription_group")).run([{"id": f"u{i}"} for i in range(120)])

    assert result.summary.delivered == 120
    counts = [r.object_count for r in state_of(app).requests if r.path == "/subscription/status/set"]
    assert sorted(counts) == [20, 50, 50]
    assert {state_of(app).subscription_state(GROUP, external_id=f"u{i}") for i in range(120)} == {"unsubscribed"}


def test_removal_from_a_group_the_workspace_lacks_rejects_the_records_with_brazes_message() -> None:
    app = create_app(api_key=KEY)
    sync_config = config("remove_from_subscription_group",
                         settings={"instance": "US-03", "subscription_group_id": "no-such-group"})
    outcomes: list[Outcome] = []

    in_process(app, sync_config).run([{"id": "u1"}], on_outcome=outcomes.append)

    [outcome] = outcomes
    assert (outcome.status, outcome.destination_status, outcome.destination_message) == (
        Status.REJECTED, 400, "Subscription group no-such-group not found")


# --- through the CLI, the served emulator, the author's tools --------------------------------------


def test_the_example_config_syncs_its_audience_through_the_cli_to_the_served_emulator(tmp_path: Path) -> None:
    app = create_app(api_key=KEY)
    env = {**os.environ, "BRAZE_REST_API_KEY": KEY, "COLUMNS": "200"}
    with running_server(app) as url:
        done = run_cli(["sync", str(EXAMPLES / "braze.sync.yaml"), "--input", str(EXAMPLES / "braze_audience.csv"),
                        "--base-url", url, "--allow-http", "--state", str(tmp_path / "state.db"),
                        "--report", str(tmp_path / "report.jsonl"), "--quiet"], env=env)

    assert done.returncode == 1, done.stdout + done.stderr  # 1: some records were not delivered
    summary = orjson.loads((tmp_path / "report.summary.json").read_bytes())
    assert (summary["delivered"], summary["rejected"], summary["invalid"]) == (2, 1, 1)
    assert state_of(app).contacts["u-1001"].attributes["phone"] == "+14155552671"
    assert set(state_of(app).contacts) == {"u-1001", "u-1002"}


def test_spec_check_finds_nothing_in_the_braze_spec() -> None:
    assert check_spec("braze").findings == []


def test_destkit_test_braze_passes_with_nothing_skipped() -> None:
    done = run_cli(["test", "braze"], env={**os.environ, "COLUMNS": "200"}, timeout=300)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failed, 0 skipped" in done.stdout


def test_destkit_demo_of_braze_exits_0_with_the_planted_outcomes(tmp_path: Path) -> None:
    done = run_cli(["demo", "--destination", "braze"], env={**os.environ, "DESTKIT_DEMO_DIR": str(tmp_path)})

    assert done.returncode == 0, done.stdout + done.stderr
    summary = orjson.loads((tmp_path / "audience.report.summary.json").read_bytes())
    assert (summary["received"], summary["delivered"], summary["invalid"], summary["rejected"]) == (2500, 2495, 4, 1)
    assert summary["reasons"] == {"invalid_email": 1, "invalid_phone": 1, "invalid_value": 1, "missing_required": 1,
                                  "destination_rejected": 1}
