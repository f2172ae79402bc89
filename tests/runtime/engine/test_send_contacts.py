"""Send Contacts end to end: 2,500 contacts with known bad rows, through real HTTP and in-process."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette

from destkit.runtime import Outcome, Status, build_sync
from tests.conftest import API_KEY, TAGS, emulator_state, hc_config, in_process_sync

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
PROPERTY_NAMES = {"loyalty_tier", "zeotap_audience_name", "plan"}

# row (1-based) → (what is wrong with it, the reason code it must get, the field)
BAD_ROWS = {
    7: ({"phone": "415-555-0101"}, "invalid_phone", "phone_number"),
    100: ({"segments": ["vip", "no_such_tag"]}, "unknown_tag", "tags"),
    250: ({"attributes": {"Loyalty Tier": "gold"}}, "unknown_custom_property", "custom_properties"),
    999: ({"user_id": ""}, "missing_required", "external_reference_id"),
    1500: ({"email": "not-an-email"}, "invalid_email", "email_address"),
    2000: ({"first_name": "x" * 300}, "too_long", "first_name"),
    2400: ({"phone": "+1 212 555 0199"}, "invalid_phone", "phone_number"),
}


def audience(n: int = 2500) -> list[dict[str, Any]]:
    records = []
    for row in range(1, n + 1):
        record: dict[str, Any] = {
            "user_id": f"u{row:05d}",
            "first_name": f"First{row}",
            "last_name": f"Last{row}",
            "phone": f"+1415555{row:04d}",
            "email": f"user{row}@example.com",
            "segments": [TAGS[row % len(TAGS)]],
            "attributes": {"plan": "pro", "loyalty_tier": "gold"} if row % 2 else {"plan": "free"},
        }
        if row in BAD_ROWS:
            record.update(BAD_ROWS[row][0])
        records.append(record)
    return records


def _check_run(app: Starlette, outcomes: list[Outcome], summary: Any) -> None:
    state = emulator_state(app)
    assert summary.received == 2500
    assert summary.delivered == 2500 - len(BAD_ROWS)
    assert summary.count(Status.INVALID) == len(BAD_ROWS)
    assert summary.reconciles()
    invalid = {o.row: (o.reason, o.field) for o in outcomes if o.status is Status.INVALID}
    assert invalid == {row: (code, field) for row, (_, code, field) in BAD_ROWS.items()}
    assert sorted(o.row for o in outcomes) == list(range(1, 2501))
    batches = [r for r in state.requests if r.path == "/api/v1beta/contacts/batch"]
    # batches go out concurrently, so they may arrive in any order
    assert sorted((r.contact_count or 0 for r in batches), reverse=True) == [1000, 1000, 2500 - len(BAD_ROWS) - 2000]
    expected_ids = {f"u{row:05d}" for row in range(1, 2501) if row not in BAD_ROWS}
    assert set(state.contacts) == expected_ids
    for request in batches:
        assert request.body is not None
        for contact in orjson.loads(request.body)["contacts"]:
            assert set(contact.get("tags", [])) <= set(TAGS)
            assert set(contact.get("custom_properties", {})) <= PROPERTY_NAMES
            for phone in contact.get("phone_numbers", []):
                assert E164.fullmatch(phone["value"])


def test_2500_contacts_in_process_arrive_in_three_batches_with_exact_outcomes(app: Starlette) -> None:
    outcomes: list[Outcome] = []
    result = in_process_sync(app).run(audience(), on_outcome=outcomes.append)
    _check_run(app, outcomes, result.summary)


def test_2500_contacts_over_real_http_give_the_same_result(app: Starlette, served: str) -> None:
    outcomes: list[Outcome] = []
    sync = build_sync(hc_config(), base_url=served, allow_http=True)
    result = sync.run(audience(), on_outcome=outcomes.append)
    _check_run(app, outcomes, result.summary)


def test_delivered_outcomes_carry_the_person_id_hello_charles_returned(app: Starlette) -> None:
    outcomes: list[Outcome] = []
    in_process_sync(app).run(audience(3), on_outcome=outcomes.append)
    state = emulator_state(app)
    assert [o.destination_id for o in outcomes] == [state.contacts[f"u{r:05d}"].id for r in (1, 2, 3)]


def test_sent_body_has_seed_002_shape(app: Starlette) -> None:
    in_process_sync(app).run(audience(1))
    body = orjson.loads(emulator_state(app).requests[-1].body or b"")
    assert body == {"contacts": [{
        "external_reference_id": "u00001",
        "source_type": "zeotap",
        "first_name": "First1",
        "last_name": "Last1",
        "phone_numbers": [{"type": "mobile", "value": "+14155550001"}],
        "email_addresses": [{"type": "main", "value": "user1@example.com"}],
        "tags": ["newsletter"],
        "custom_properties": {"plan": "pro", "loyalty_tier": "gold"},
    }]}


def test_catalogs_are_read_from_the_destination_before_any_record(app: Starlette) -> None:
    in_process_sync(app).run(audience(1))
    paths = [r.path for r in emulator_state(app).requests]
    assert paths[:2] == ["/api/v0/tags", "/api/v0/custom_properties"] or paths[:2] == ["/api/v0/custom_properties", "/api/v0/tags"]
    assert paths[2:] == ["/api/v1beta/contacts/batch"]


def test_a_record_the_destination_refuses_is_rejected_with_its_code_and_message(app: Starlette) -> None:
    from destkit.runtime import load_spec

    spec = load_spec("hello_charles").model_copy(deep=True)
    spec.actions["send_contacts"].fields["phone_number"].format = None  # let a bad phone through to the destination
    sync = in_process_sync(app, spec=spec)
    records = audience(3)
    records[1]["phone"] = "0151 1234"
    outcomes: list[Outcome] = []
    result = sync.run(records, on_outcome=outcomes.append)
    rejected = [o for o in outcomes if o.status is Status.REJECTED]
    assert [(o.row, o.reason, o.destination_code, o.destination_status) for o in rejected] == [
        (2, "destination_rejected", "invalid_phone_number", 200)]
    assert "0151 1234" in (rejected[0].destination_message or "")
    assert result.summary.delivered == 2
    assert set(emulator_state(app).contacts) == {"u00001", "u00003"}


def test_wrong_api_key_stops_the_run_before_any_record(app: Starlette) -> None:
    outcomes: list[Outcome] = []
    result = in_process_sync(app, hc_config(secrets={"api_key": "wrong"})).run(audience(5), on_outcome=outcomes.append)
    assert result.summary.aborted is not None and result.summary.aborted.startswith("auth_failed")
    assert "401" in result.summary.aborted
    assert "wrong" not in result.summary.aborted
    assert outcomes == []
    assert emulator_state(app).contacts == {}


def test_wrong_api_key_mid_run_dead_letters_the_records_read_and_stops(app: Starlette) -> None:
    config = hc_config(secrets={"api_key": "wrong"}, catalogs={"tags": TAGS, "custom_properties": sorted({"plan", "loyalty_tier"})})
    outcomes: list[Outcome] = []
    result = in_process_sync(app, config).run(audience(2500), on_outcome=outcomes.append)
    summary = result.summary
    assert summary.aborted is not None
    assert summary.reconciles()
    assert summary.delivered == 0
    assert {o.reason for o in outcomes if o.status is Status.DEAD_LETTERED} == {"auth_failed"}
    # the run stops: at most one refused request per worker (concurrency 4), nothing after that
    refused = [r for r in emulator_state(app).requests if r.status == 401]
    assert 1 <= len(refused) <= 4
    assert len(emulator_state(app).requests) == len(refused)


def test_duplicate_keys_never_share_a_batch_and_both_land_in_order(app: Starlette) -> None:
    records = audience(3)
    records[2]["user_id"] = "u00001"
    records[2]["first_name"] = "Second"
    result = in_process_sync(app).run(records)
    state = emulator_state(app)
    assert result.summary.delivered == 3
    assert [r.contact_count for r in state.requests if r.path.endswith("/batch")] == [2, 1]
    assert state.contacts["u00001"].first_name == "Second"


@pytest.mark.parametrize("policy, delivered", [("reject", 0), ("drop_and_warn", 1)])
def test_on_unknown_tag_policy(app: Starlette, policy: str, delivered: int) -> None:
    records = audience(1)
    records[0]["segments"] = ["vip", "no_such_tag"]
    outcomes: list[Outcome] = []
    result = in_process_sync(app, hc_config(options={"on_unknown_tag": policy})).run(records, on_outcome=outcomes.append)
    assert result.summary.delivered == delivered
    if policy == "drop_and_warn":
        assert outcomes[0].warnings is not None
        assert outcomes[0].warnings[0]["reason"] == "unknown_tag"
        assert emulator_state(app).contacts["u00001"].tags == ["vip"]
    else:
        assert outcomes[0].reason == "unknown_tag"


def test_dry_run_returns_the_request_bodies_and_sends_nothing(app: Starlette) -> None:
    result = in_process_sync(app).dry_run(audience(1500))
    assert [r.records for r in result.requests] == [1000, 1500 - 1000 - 5]  # rows 7, 100, 250, 999, 1500 are invalid
    assert result.requests[0].method == "PUT"
    assert result.requests[0].url == "http://acme.hello-charles.test/api/v1beta/contacts/batch"
    assert len(result.requests[0].json()["contacts"]) == 1000
    assert [r.path for r in emulator_state(app).requests] in (
        ["/api/v0/tags", "/api/v0/custom_properties"], ["/api/v0/custom_properties", "/api/v0/tags"])
    assert API_KEY not in repr(result)
