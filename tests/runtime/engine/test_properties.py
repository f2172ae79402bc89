"""Invariants of a Hello Charles sync over generated audiences (hypothesis).

The audiences mix valid contacts with the ways real CDP exports go wrong: phones not in E.164,
tags Hello Charles does not have, custom properties keyed by display name, missing or blank ids,
strings far over the field limits, values of the wrong type, repeated ids. Whatever the input:

(a) every record gets exactly one outcome and the counts add up;
(b) no request is over the action's record or byte limit, nor holds an id twice;
(c) nothing the destination would refuse or silently drop is ever sent;
(d) the same input gives byte-identical requests;
(e) through the emulator, Hello Charles ends up holding exactly the delivered contacts.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Outcome, Status, Sync, build_sync, load_spec
from destkit.runtime.outcomes import REASONS

TAGS = ["vip", "newsletter", "summer_sale", "984"]
PROPERTIES = [
    ("loyalty_tier", "Loyalty Tier"),
    ("zeotap_audience_name", "Zeotap Audience Name"),
    ("plan", "Plan"),
    ("score", "Score"),
]
TECHNICAL_NAMES = {name for name, _ in PROPERTIES}
E164 = re.compile(r"\+[1-9][0-9]{6,14}")  # used with fullmatch: no `$`-before-newline gap
LENIENT_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

MAPPING = {
    "external_reference_id": "id",
    "first_name": "first_name",
    "last_name": "last_name",
    "phone_number": "phone",
    "email_address": "email",
    "tags": "segments",
    "custom_properties": "props",
}

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def config(
    policy: tuple[str, str] = ("reject", "reject"), *, catalogs: bool = True, api_key: str = "test-key"
) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "destination": "hello_charles",
        "action": "send_contacts",
        "settings": {"subdomain": "acme"},
        "secrets": {"api_key": api_key},
        "mapping": dict(MAPPING),
        "options": {"on_unknown_tag": policy[0], "on_unknown_custom_property": policy[1]},
    }
    if catalogs:
        cfg["catalogs"] = {"tags": list(TAGS), "custom_properties": dict(PROPERTIES)}
    return cfg


POLICIES = [(t, p) for t in ("reject", "drop_and_warn") for p in ("reject", "drop_and_warn")]
SYNCS: dict[tuple[str, str], Sync] = {policy: build_sync(config(policy)) for policy in POLICIES}


# --- strategies --------------------------------------------------------------------------------

POOL_IDS = [f"+4915112345{i:03d}" for i in range(6)] + ["c1", "c2"]
VALID_PHONES = ["+15551234567", "+491511234567", "+4915112345678", "+441234567"]
BAD_PHONES = [
    "+1 212 555 0199",
    "415-555-0101",
    "+49(151)1234567",
    "004915112345678",
    "+0123",
    "15551234567",
    "+15551234567\n",
    "+1555",
]

huge_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=250, max_size=400)

ids = st.one_of(
    st.sampled_from(POOL_IDS),  # repeats are likely: the same contact twice in one audience
    st.sampled_from(POOL_IDS),
    st.none(),
    st.sampled_from(["", "   "]),
    huge_text,
    st.integers(min_value=0, max_value=10**13),
    st.text(min_size=1, max_size=12),
)
phones = st.one_of(
    st.none(),
    st.sampled_from(VALID_PHONES),
    st.sampled_from(BAD_PHONES),
    st.from_regex(E164, fullmatch=True),
    st.text(max_size=16),
)
emails = st.one_of(st.none(), st.sampled_from(["a@b", "ann@example.com", "no-at-sign", "", "a@b@c", "x @y"]))
names = st.one_of(st.none(), st.text(max_size=20), huge_text, st.integers(-5, 5), st.booleans())
tag_values = st.sampled_from([*TAGS, "ghost", "Summer Sale", "old_tag", "feed_only"])
tags = st.one_of(
    st.none(),
    st.lists(tag_values, max_size=4),
    st.lists(tag_values, min_size=1, max_size=3).map(", ".join),
)
property_keys = st.sampled_from([*TECHNICAL_NAMES, *(label for _, label in PROPERTIES), "favourite_colour"])
property_values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-(2**53), 2**53),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
)
props = st.one_of(st.none(), st.dictionaries(property_keys, property_values, max_size=3))

records = st.fixed_dictionaries(
    {"id": ids},
    optional={
        "first_name": names,
        "last_name": names,
        "phone": phones,
        "email": emails,
        "segments": tags,
        "props": props,
    },
)
audiences = st.lists(records, max_size=25)
policies = st.sampled_from(POLICIES)


# --- helpers -----------------------------------------------------------------------------------


def contacts_of(request_body: bytes) -> list[dict[str, Any]]:
    parsed = orjson.loads(request_body)
    assert isinstance(parsed, dict) and set(parsed) == {"contacts"}
    return parsed["contacts"]  # type: ignore[no-any-return]


def limited_sync(max_records: int, max_bytes: int, policy: tuple[str, str]) -> Sync:
    spec = load_spec("hello_charles").model_copy(deep=True)
    batch = spec.actions["send_contacts"].batch
    batch.max_records = max_records
    batch.max_bytes = max_bytes
    return build_sync(config(policy), spec=spec)


# --- (a) one outcome per record, counts add up -------------------------------------------------


@PROPERTY_SETTINGS
@given(audience=audiences, policy=policies)
def test_every_record_gets_exactly_one_outcome_and_the_counts_add_up(
    audience: list[dict[str, Any]], policy: tuple[str, str]
) -> None:
    outcomes: list[Outcome] = []
    result = SYNCS[policy].dry_run(audience, offline=True, keep_requests=True, on_outcome=outcomes.append)
    summary = result.summary

    assert sorted(o.row for o in outcomes) == list(range(1, len(audience) + 1))
    assert summary.received == len(audience)
    assert summary.received == (
        summary.count("delivered")
        + summary.count("invalid")
        + summary.count("rejected")
        + summary.count("dead_lettered")
        + summary.count("skipped")
    )
    assert Counter(o.status.value for o in outcomes) == +summary.counts
    assert {o.status for o in outcomes} <= {Status.DELIVERED, Status.INVALID}  # a dry run sends nothing
    assert sum(r.records for r in result.requests) == summary.delivered
    for o in outcomes:
        if o.status == Status.INVALID:
            assert o.reason in REASONS, o
            assert o.message, o


# --- (b) batches within limits ------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(audience=audiences, max_records=st.integers(1, 6), max_bytes=st.integers(256, 2_000), policy=policies)
def test_no_request_is_over_its_limits_or_holds_an_id_twice(
    audience: list[dict[str, Any]], max_records: int, max_bytes: int, policy: tuple[str, str]
) -> None:
    outcomes: list[Outcome] = []
    result = limited_sync(max_records, max_bytes, policy).dry_run(
        audience, offline=True, keep_requests=True, on_outcome=outcomes.append
    )

    for request in result.requests:
        contacts = contacts_of(request.body)
        assert 1 <= request.records <= max_records
        assert len(request.body) <= max_bytes
        assert len(contacts) == request.records
        ids_in_batch = [c["external_reference_id"] for c in contacts]
        assert len(ids_in_batch) == len(set(ids_in_batch)), ids_in_batch
    # and the delivered records went out in input order, each exactly once
    sent = [c["external_reference_id"] for r in result.requests for c in contacts_of(r.body)]
    delivered = sorted((o for o in outcomes if o.status == Status.DELIVERED), key=lambda o: o.row)
    assert sent == [o.key for o in delivered]


# --- (c) nothing invalid is sent -----------------------------------------------------------------


@PROPERTY_SETTINGS
@given(audience=audiences, policy=policies)
def test_no_request_holds_an_unknown_tag_an_unknown_property_key_or_a_non_e164_phone(
    audience: list[dict[str, Any]], policy: tuple[str, str]
) -> None:
    result = SYNCS[policy].dry_run(audience, offline=True, keep_requests=True)

    for request in result.requests:
        for contact in contacts_of(request.body):
            assert set(contact.get("tags", [])) <= set(TAGS), contact
            assert set(contact.get("custom_properties", {})) <= TECHNICAL_NAMES, contact
            for phone in contact.get("phone_numbers", []):
                assert phone["type"] == "mobile"
                assert E164.fullmatch(phone["value"]), contact


@PROPERTY_SETTINGS
@given(audience=audiences, policy=policies)
def test_no_request_holds_a_malformed_email_an_empty_list_or_a_null_property(
    audience: list[dict[str, Any]], policy: tuple[str, str]
) -> None:
    result = SYNCS[policy].dry_run(audience, offline=True, keep_requests=True)

    for request in result.requests:
        for contact in contacts_of(request.body):
            assert contact["source_type"] == "zeotap"
            for email in contact.get("email_addresses", []):
                assert email["type"] == "main"
                assert LENIENT_EMAIL.fullmatch(email["value"]), contact
            for key in ("tags", "custom_properties", "phone_numbers", "email_addresses"):
                assert contact.get(key, ["present"]), f"{key} is sent empty: {contact}"
            for v in contact.get("custom_properties", {}).values():
                assert isinstance(v, str | int | float | bool), contact
            for name in ("first_name", "last_name"):
                if name in contact:
                    assert isinstance(contact[name], str) and 0 < len(contact[name]) <= 255, contact


@PROPERTY_SETTINGS
@given(audience=audiences, policy=policies)
def test_no_request_holds_a_blank_or_over_long_external_reference_id(
    audience: list[dict[str, Any]], policy: tuple[str, str]
) -> None:
    result = SYNCS[policy].dry_run(audience, offline=True, keep_requests=True)

    for request in result.requests:
        for contact in contacts_of(request.body):
            ext = contact["external_reference_id"]
            assert isinstance(ext, str) and ext.strip() and len(ext) <= 255, contact


# --- (d) determinism ----------------------------------------------------------------------------


@settings(PROPERTY_SETTINGS, max_examples=40)
@given(audience=audiences, policy=policies)
def test_the_same_audience_gives_byte_identical_requests(
    audience: list[dict[str, Any]], policy: tuple[str, str]
) -> None:
    first = SYNCS[policy].dry_run(audience, offline=True, keep_requests=True)
    second = build_sync(config(policy)).dry_run(audience, offline=True, keep_requests=True)

    def shape(result: Any) -> list[tuple[str, str, bytes, int]]:
        return [(r.method, r.url, r.body, r.records) for r in result.requests]

    assert shape(first) == shape(second)
    assert first.summary.counts == second.summary.counts
    assert first.summary.reasons == second.summary.reasons


# --- (e) end to end through the emulator ---------------------------------------------------------


@settings(PROPERTY_SETTINGS, max_examples=50)
@given(audience=audiences, policy=policies, catalogs_in_config=st.booleans())
def test_the_emulator_holds_exactly_the_delivered_contacts(
    audience: list[dict[str, Any]], policy: tuple[str, str], catalogs_in_config: bool
) -> None:
    app = create_app(api_key="test-key", tags=TAGS, custom_properties=PROPERTIES)
    sync = build_sync(
        config(policy, catalogs=catalogs_in_config),
        base_url="http://emulator.test",
        transport=httpx.ASGITransport(app=app),
        allow_http=True,
    )
    outcomes: list[Outcome] = []
    result = asyncio.run(sync.arun(audience, on_outcome=outcomes.append))
    summary = result.summary
    stored = app.state.emulator.contacts

    assert summary.aborted is None
    assert sorted(o.row for o in outcomes) == list(range(1, len(audience) + 1))
    assert summary.count("dead_lettered") == 0
    delivered_keys = {o.key for o in outcomes if o.status == Status.DELIVERED}
    assert set(stored) == delivered_keys
    for o in outcomes:
        if o.status == Status.DELIVERED:
            assert o.destination_id == stored[o.key].id
    for contact in stored.values():
        assert set(contact.tags) <= set(TAGS)
        assert set(contact.custom_properties) <= TECHNICAL_NAMES
