"""Behaviour of the Hello Charles emulator, one behaviour per test.

The emulator is what every Hello Charles connector test runs against, so its fidelity to
seeds 002/004 (envelope, upsert semantics, silent drops, per-contact failures) is pinned
here directly rather than only through connector tests.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette

from destkit.destinations.hello_charles.emulator import (
    EmulatorState,
    RecordedRequest,
    create_app,
    parse_lenient_json,
    strip_trailing_commas,
)
from destkit.runtime.cli.server import running_server

BASE_URL = "http://acme.hello-charles.test"
KEY = {"x-api-key": "test-key"}

# Seed 002's example curl body, verbatim -- trailing commas included.
SEED_002_CURL_BODY = """{
"external_reference_id": "+4911111111",
"source_type": "segment",
"custom_properties": {
"a": "a",
"b": "b2"
},
"phone_numbers":[
{
"type":"mobile",
"value":"+4911111122"
}
],
"email_addresses":[
{
"type":"main",
"value":"[email protected]"
},
],
"first_name":"molestias",
"last_name":"repellendus",
"middle_name":"est",
"tags":[
"atque"
],
}"""

ENVELOPE_KEYS = {"status", "msg", "messages", "localized_messages", "errors", "request", "data"}


def call(
    app: Starlette,
    method: str,
    path: str,
    *,
    json: Any = None,
    content: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One request through ASGITransport (async-only in httpx 0.28), run to completion."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            return await client.request(
                method, path, json=json, content=content, headers=KEY if headers is None else headers
            )

    return asyncio.run(go())


def state_of(app: Starlette) -> EmulatorState:
    state = app.state.emulator
    assert isinstance(state, EmulatorState)
    return state


def contact_body(ext: str, **fields: Any) -> dict[str, Any]:
    return {"external_reference_id": ext, "source_type": "zeotap", **fields}


def batch(app: Starlette, *contacts: dict[str, Any]) -> httpx.Response:
    return call(app, "PUT", "/api/v1beta/contacts/batch", json={"contacts": list(contacts)})


# --------------------------------------------------------------------------- single upsert


def test_seed_002_curl_body_with_trailing_commas_is_accepted_in_seed_envelope() -> None:
    app = create_app(tags=["atque"], custom_properties=["a", "b"])
    response = call(app, "PUT", "/api/v1beta/contacts", content=SEED_002_CURL_BODY)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["status"] == 200
    assert body["msg"] == "Upserted contact successfully."
    assert body["messages"] == []
    assert body["localized_messages"] == []
    assert body["errors"] == []
    assert body["request"]["host"] == "acme.hello-charles.test"
    assert uuid.UUID(body["request"]["id"]).version == 4
    data = body["data"]
    assert uuid.UUID(data["id"]).version == 4
    assert data["kind"] == "Contact"
    assert (data["first_name"], data["middle_name"], data["last_name"]) == ("molestias", "est", "repellendus")
    assert data["nickname"] is None
    assert (data["deleted"], data["active"]) == (False, True)
    assert data["tags"] == ["atque"]
    assert data["custom_properties"] == {"a": "a", "b": "b2"}
    assert [(p["person"], p["type"], p["value"]) for p in data["phonenumbers"]] == [
        (data["id"], "mobile", "4911111122")
    ]
    assert [(e["person"], e["type"], e["value"]) for e in data["emails"]] == [
        (data["id"], "main", "[email protected]")
    ]
    stored = state_of(app).contact("+4911111111")
    assert stored is not None
    assert stored.id == data["id"]
    assert stored.phone_numbers == [{"type": "mobile", "value": "+4911111122"}]


def test_missing_api_key_is_401_with_unauthorized_error() -> None:
    app = create_app()
    response = call(app, "PUT", "/api/v1beta/contacts", json=contact_body("+15551234567"), headers={})

    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401
    assert body["msg"] == "Unauthorized"
    assert body["errors"] == [{"code": "unauthorized", "message": "Missing or invalid x-api-key header."}]
    assert body["data"] is None
    assert state_of(app).contacts == {}


def test_wrong_api_key_is_401() -> None:
    app = create_app(api_key="right")
    response = call(app, "GET", "/api/v0/tags", headers={"x-api-key": "wrong"})

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "unauthorized"


def test_invalid_json_is_400_invalid_json() -> None:
    app = create_app()
    response = call(app, "PUT", "/api/v1beta/contacts", content='{"external_reference_id": ')

    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["invalid_json"]


def test_missing_external_reference_id_is_422() -> None:
    app = create_app()
    response = call(app, "PUT", "/api/v1beta/contacts", json={"source_type": "zeotap"})

    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["missing_external_reference_id"]


def test_missing_source_type_is_422() -> None:
    app = create_app()
    response = call(app, "PUT", "/api/v1beta/contacts", json={"external_reference_id": "x-1"})

    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["missing_source_type"]


def test_single_malformed_phone_is_422_naming_the_value() -> None:
    app = create_app()
    body = contact_body("x-1", phone_numbers=[{"type": "main", "value": "+1 (555) 123-4567"}])
    response = call(app, "PUT", "/api/v1beta/contacts", json=body)

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["code"] for e in errors] == ["invalid_phone_number"]
    assert "+1 (555) 123-4567" in errors[0]["message"]
    assert state_of(app).contacts == {}


def test_email_without_at_sign_is_stored_by_default() -> None:
    app = create_app()
    body = contact_body("x-1", email_addresses=[{"type": "main", "value": "not-an-email"}])
    response = call(app, "PUT", "/api/v1beta/contacts", json=body)

    assert response.status_code == 200
    stored = state_of(app).contact("x-1")
    assert stored is not None
    assert stored.email_addresses == [{"type": "main", "value": "not-an-email"}]


def test_email_without_at_sign_is_422_invalid_email_when_strict() -> None:
    app = create_app(strict_emails=True)
    body = contact_body("x-1", email_addresses=[{"type": "main", "value": "not-an-email"}])
    response = call(app, "PUT", "/api/v1beta/contacts", json=body)

    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["invalid_email"]


def test_tags_that_are_not_strings_are_422_invalid_payload() -> None:
    app = create_app()
    response = call(app, "PUT", "/api/v1beta/contacts", json=contact_body("x-1", tags=[984]))

    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["invalid_payload"]


def test_unknown_tag_is_silently_dropped() -> None:
    app = create_app()
    response = call(app, "PUT", "/api/v1beta/contacts", json=contact_body("x-1", tags=["vip", "not_created"]))

    assert response.status_code == 200
    assert response.json()["data"]["tags"] == ["vip"]
    stored = state_of(app).contact("x-1")
    assert stored is not None
    assert stored.tags == ["vip"]


def test_unknown_custom_property_is_silently_dropped() -> None:
    app = create_app()
    props = {"plan": "gold", "Plan": "display-name-not-technical", "nope": 1}
    response = call(app, "PUT", "/api/v1beta/contacts", json=contact_body("x-1", custom_properties=props))

    assert response.status_code == 200
    assert response.json()["data"]["custom_properties"] == {"plan": "gold"}


def test_feed_and_deleted_tags_are_not_person_tags() -> None:
    app = create_app()
    catalog = call(app, "GET", "/api/v0/tags").json()["data"]
    by_label = {t["label"]: t for t in catalog}
    assert (by_label["feed_only"]["object"], by_label["feed_only"]["deleted"]) == ("feed", False)
    assert (by_label["old_tag"]["object"], by_label["old_tag"]["deleted"]) == ("person", True)

    body = contact_body("x-1", tags=["feed_only", "old_tag", "vip"])
    response = call(app, "PUT", "/api/v1beta/contacts", json=body)

    assert response.json()["data"]["tags"] == ["vip"]


def test_tags_catalog_lists_configured_person_tags_then_decoys() -> None:
    app = create_app(tags=["a", "b"])
    catalog = call(app, "GET", "/api/v0/tags").json()["data"]

    assert [(t["label"], t["object"], t["deleted"]) for t in catalog] == [
        ("a", "person", False),
        ("b", "person", False),
        ("feed_only", "feed", False),
        ("old_tag", "person", True),
    ]
    assert set(catalog[0]) == {"id", "label", "object", "tag_group", "active", "deleted", "description"}


def test_custom_properties_catalog_derives_labels_and_has_event_decoy() -> None:
    app = create_app(custom_properties=["loyalty_tier", ("ltv", "LTV")])
    catalog = call(app, "GET", "/api/v0/custom_properties").json()["data"]

    assert [(p["name"], p["label"], p["object"]) for p in catalog] == [
        ("loyalty_tier", "Loyalty Tier", "person"),
        ("ltv", "LTV", "person"),
        ("event_prop", "Event Prop", "event"),
    ]
    assert (catalog[0]["type"], catalog[0]["readonly"], catalog[0]["disabled"]) == ("string", False, False)


def test_default_catalogs_match_the_documented_defaults() -> None:
    state = state_of(create_app())

    assert state.person_tag_labels() == {"vip", "newsletter", "summer_sale", "984"}
    assert state.person_property_names() == {"loyalty_tier", "zeotap_audience_name", "plan", "ltv", "score"}


def test_phone_of_same_type_is_replaced_and_other_types_kept() -> None:
    app = create_app()
    first = [{"type": "main", "value": "+15551234567"}, {"type": "work", "value": "+15557654321"}]
    call(app, "PUT", "/api/v1beta/contacts", json=contact_body("x-1", phone_numbers=first))
    call(
        app,
        "PUT",
        "/api/v1beta/contacts",
        json=contact_body("x-1", phone_numbers=[{"type": "main", "value": "+4915112345678"}]),
    )

    stored = state_of(app).contact("x-1")
    assert stored is not None
    assert stored.phone_numbers == [
        {"type": "main", "value": "+4915112345678"},
        {"type": "work", "value": "+15557654321"},
    ]


def test_names_overwrite_only_when_given() -> None:
    app = create_app()
    call(app, "PUT", "/api/v1beta/contacts", json=contact_body("x-1", first_name="Ann", last_name="Lee"))
    call(app, "PUT", "/api/v1beta/contacts", json=contact_body("x-1", first_name="Anna"))

    stored = state_of(app).contact("x-1")
    assert stored is not None
    assert (stored.first_name, stored.last_name) == ("Anna", "Lee")


# --------------------------------------------------------------------------- batch upsert


def test_batch_of_1001_contacts_is_413_batch_too_large() -> None:
    app = create_app()
    contacts = [contact_body(f"x-{i}") for i in range(1001)]
    response = batch(app, *contacts)

    assert response.status_code == 413
    assert [e["code"] for e in response.json()["errors"]] == ["batch_too_large"]
    assert state_of(app).contacts == {}


def test_batch_of_1000_contacts_is_accepted() -> None:
    app = create_app()
    response = batch(app, *[contact_body(f"x-{i}") for i in range(1000)])

    assert response.status_code == 200
    assert len(response.json()["data"]) == 1000
    assert len(state_of(app).contacts) == 1000


def test_batch_body_over_max_body_bytes_is_413_payload_too_large() -> None:
    app = create_app(max_body_bytes=100)
    response = batch(app, contact_body("x-1", first_name="a" * 200))

    assert response.status_code == 413
    assert [e["code"] for e in response.json()["errors"]] == ["payload_too_large"]
    assert state_of(app).contacts == {}


def test_batch_without_contacts_array_is_400_invalid_payload() -> None:
    app = create_app()
    response = call(app, "PUT", "/api/v1beta/contacts/batch", json={"contacts": {"x": 1}})

    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["invalid_payload"]


def test_batch_entry_with_malformed_phone_fails_alone() -> None:
    app = create_app()
    response = batch(
        app,
        contact_body("a", phone_numbers=[{"type": "main", "value": "+15551234567"}]),
        contact_body("b", phone_numbers=[{"type": "main", "value": "+49 151 1234567"}]),
        contact_body("c", phone_numbers=[{"type": "main", "value": "+4915112345678"}]),
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert [(d["external_reference_id"], d["status"]) for d in data] == [
        ("a", "created"),
        ("b", "failed"),
        ("c", "created"),
    ]
    assert data[1]["id"] is None
    assert [e["code"] for e in data[1]["errors"]] == ["invalid_phone_number"]
    assert "+49 151 1234567" in data[1]["errors"][0]["message"]
    assert data[0]["errors"] == [] and data[2]["errors"] == []
    assert sorted(state_of(app).contacts) == ["a", "c"]


def test_second_upsert_is_updated_with_same_id_and_tags_merged() -> None:
    app = create_app()
    first = batch(app, contact_body("x-1", tags=["vip"])).json()["data"][0]
    second = batch(app, contact_body("x-1", tags=["newsletter", "vip"])).json()["data"][0]

    assert (first["status"], second["status"]) == ("created", "updated")
    assert second["id"] == first["id"]
    stored = state_of(app).contact("x-1")
    assert stored is not None
    assert stored.tags == ["vip", "newsletter"]


def test_requests_are_recorded_with_status_size_and_contact_count() -> None:
    app = create_app(keep_bodies=True)
    payload = orjson.dumps({"contacts": [contact_body("a"), contact_body("b")]})
    call(app, "PUT", "/api/v1beta/contacts/batch", content=payload)
    call(app, "GET", "/api/v0/tags", headers={})

    assert state_of(app).requests == [
        RecordedRequest("PUT", "/api/v1beta/contacts/batch", 200, len(payload), 2, payload),
        RecordedRequest("GET", "/api/v0/tags", 401, 0, None, b""),
    ]


# --------------------------------------------------------------------------- GDPR delete and routing


def test_gdpr_delete_schedules_job_and_removes_contact() -> None:
    app = create_app()
    person_id = call(app, "PUT", "/api/v1beta/contacts", json=contact_body("x-1")).json()["data"]["id"]
    response = call(app, "DELETE", f"/api/v0/people/cleanup/gdpr/{person_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"jobId": "contacts-cleanup"}
    assert body["msg"] == "GDPR delete contact job scheduled successfully"
    assert state_of(app).contact("x-1") is None
    assert state_of(app).deleted == [person_id]


def test_gdpr_delete_of_unknown_person_is_404_person_not_found() -> None:
    app = create_app()
    response = call(app, "DELETE", f"/api/v0/people/cleanup/gdpr/{uuid.uuid4()}")

    assert response.status_code == 404
    assert [e["code"] for e in response.json()["errors"]] == ["person_not_found"]


def test_unknown_path_is_404_envelope() -> None:
    response = call(create_app(), "GET", "/api/v0/nothing")

    assert response.status_code == 404
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["errors"][0]["code"] == "not_found"


def test_wrong_method_is_405_envelope() -> None:
    response = call(create_app(), "POST", "/api/v1beta/contacts", json=contact_body("x-1"))

    assert response.status_code == 405
    assert response.json()["errors"][0]["code"] == "method_not_allowed"
    assert response.headers["allow"] == "PUT"


# --------------------------------------------------------------------------- lenient JSON


def test_trailing_comma_scanner_leaves_string_contents_alone() -> None:
    text = '{"a": ",]", "b": "x\\",}", "c": [1, 2, ],\n}'

    assert strip_trailing_commas(text) == '{"a": ",]", "b": "x\\",}", "c": [1, 2 ]\n}'
    assert parse_lenient_json(text.encode()) == {"a": ",]", "b": 'x",}', "c": [1, 2]}


# --------------------------------------------------------------------------- on a real port


def test_running_server_serves_app_and_emulator_read_back() -> None:
    app = create_app()
    with running_server(app) as base_url, httpx.Client(base_url=base_url, headers=KEY) as client:
        assert base_url.startswith("http://127.0.0.1:")
        upsert = client.put("/api/v1beta/contacts", json=contact_body("+15551234567", tags=["vip"]))
        assert upsert.status_code == 200
        read_back = client.get("/_emulator/contacts", headers={"x-api-key": ""}).json()

    assert read_back["requests"] == 1
    assert [(c["external_reference_id"], c["id"], c["tags"]) for c in read_back["contacts"]] == [
        ("+15551234567", upsert.json()["data"]["id"], ["vip"])
    ]


def test_running_server_answers_oversize_body_with_413_not_a_reset() -> None:
    app = create_app(max_body_bytes=1_000)
    with running_server(app) as base_url, httpx.Client(base_url=base_url, headers=KEY) as client:
        response = client.put(
            "/api/v1beta/contacts/batch", content=b'{"contacts": [' + b" " * 200_000 + b"]}"
        )

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "payload_too_large"
    assert state_of(app).requests[0].body_bytes == 200_016
