"""Hypothesis properties of the issue-9 constructs over records the QA kit's strategies draw: counts add
up and no batch goes over its limits with a failures-only answer, nothing invalid is sent, a positional
row never shifts, a merged object never loses a named field, settings come from `examples:`."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destkit.runtime import Status, build_sync
from destkit.runtime.spec.loader import parse_spec
from destkit.runtime.spec.models import FieldSchema
from destkit.testing import broken_records, valid_records, valid_settings
from destkit.testing.values import digests, merge_named_keys, string_values

FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SPEC = parse_spec("""
spec_version: 1
id: constructs
name: Constructs
base_url: "https://api.example.com"
settings:
  audience_id: {type: string, pattern: "^[0-9]{4,8}$", examples: ["1234", "98765432"]}
  region: {type: string, enum: [eu, us], examples: [eu]}
auth: {kind: none}
actions:
  rows:
    title: Positional rows
    fields:
      id: {type: string, required: true, maxLength: 12}
      email: {type: string, format: email}
      phone: {type: string, format: e164}
      first_name: {type: string, maxLength: 10}
    batch: {max_records: 7, max_bytes: 2000, key: id}
    request:
      path: "/audiences/{{ settings.audience_id }}/users"
      body: {payload: {schema: $columns, data: $records}}
      record: {$columns: {EXTERN_ID: $id, EMAIL: $email, PHONE: $phone, FN: $first_name}, empty: ""}
  merged:
    title: Merged properties
    fields:
      email: {type: string, required: true, format: email}
      first_name: {type: string, maxLength: 10}
      plan: {type: string, enum: [free, pro]}
      custom: {type: object}
    batch: {max_records: 5}
    request:
      path: /members
      body: {members: $records}
      record: {email: $email, props: {$merge: [$custom, {FNAME: $first_name, PLAN: $plan}]}}
  tracked:
    title: Failures listed by index
    fields:
      id: {type: string, required: true, maxLength: 12}
      name: {type: string, maxLength: 10}
    batch: {max_records: 4, max_bytes: 600, key: id}
    request:
      path: /track
      body: {attributes: $records}
      record: {id: $id, name: $name}
    response:
      results: errors
      only: failures
      match: {index: index}
      error: {code: type}
""", "constructs.yaml")

COLUMNS = {"EXTERN_ID": "id", "EMAIL": "email", "PHONE": "phone", "FN": "first_name"}


def _config(action: str) -> dict[str, Any]:
    return {"destination": "constructs", "action": action, "settings": {"audience_id": "1234", "region": "eu"},
            "mapping": {name: name for name in SPEC.actions[action].fields}}


def _sent(value: Any) -> bool:
    return value is not None and value != ""


@FEW
@given(st.lists(valid_records(SPEC, "rows"), min_size=1, max_size=20, unique_by=lambda r: str(r["id"])))
def test_a_positional_row_never_shifts(records: list[dict[str, Any]]) -> None:
    result = build_sync(_config("rows"), spec=SPEC).dry_run(records)
    sent = [row for r in result.requests for row in r.json()["payload"]["data"]]
    by_id = {r["id"]: r for r in records}
    assert len(sent) == len(records)
    assert all(r.json()["payload"]["schema"] == list(COLUMNS) for r in result.requests)
    for row in sent:
        record = by_id[row[0]]
        assert len(row) == len(COLUMNS)
        for cell, field in zip(row, COLUMNS.values(), strict=True):
            assert cell == (record[field] if _sent(record.get(field)) else "")


def test_the_merged_fields_are_drawn_with_the_merges_named_keys() -> None:
    assert merge_named_keys(SPEC.actions["merged"].request.record) == {"custom": ["FNAME", "PLAN"]}


@FEW
@given(valid_records(SPEC, "merged"))
def test_a_merged_object_never_loses_a_named_field(record: dict[str, Any]) -> None:
    [request] = build_sync(_config("merged"), spec=SPEC).dry_run([record]).requests
    [member] = request.json()["members"]
    props = member.get("props", {})
    for key, field in (("FNAME", "first_name"), ("PLAN", "plan")):
        if _sent(record.get(field)):
            assert props[key] == record[field]
    assert set(props) <= {*(record.get("custom") or {}), "FNAME", "PLAN"}


@FEW
@given(valid_settings(SPEC))
def test_settings_drawn_from_examples_make_a_config_that_builds(drawn: dict[str, Any]) -> None:
    assert drawn["audience_id"] in ("1234", "98765432") and drawn["region"] == "eu"
    build_sync({**_config("rows"), "settings": drawn}, spec=SPEC)


@FEW
@given(st.lists(valid_records(SPEC, "tracked"), min_size=1, max_size=15), st.randoms(use_true_random=False))
def test_failures_listed_by_index_add_up_and_no_batch_goes_over_its_limits(
    records: list[dict[str, Any]], rng: Any
) -> None:
    limits = SPEC.actions["tracked"].batch
    listed: list[int] = []
    bodies: list[bytes] = []

    def destination(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        sent = orjson.loads(request.content)["attributes"]
        failed = [i for i in range(len(sent)) if rng.random() < 0.4]
        listed.append(len(failed))
        return httpx.Response(201, json={"errors": [{"index": i, "type": "invalid"} for i in failed]})

    outcomes: list[Any] = []
    summary = build_sync(_config("tracked"), spec=SPEC, transport=httpx.MockTransport(destination)).run(
        records, on_outcome=outcomes.append).summary

    assert all(len(orjson.loads(b)["attributes"]) <= limits.max_records and len(b) <= limits.max_bytes for b in bodies)
    assert summary.reconciles() and summary.received == len(records) == len(outcomes)
    assert summary.count(Status.REJECTED) == sum(listed)
    assert summary.delivered == len(records) - sum(listed)


@FEW
@given(st.lists(valid_records(SPEC, "rows"), max_size=6), broken_records(SPEC, "rows"))
def test_nothing_invalid_is_sent(valid: list[dict[str, Any]], broken: Any) -> None:
    sync = build_sync(_config("rows"), spec=SPEC)
    outcomes: list[Any] = []
    mixed = sync.dry_run([broken.record, *valid], on_outcome=outcomes.append)
    clean = sync.dry_run(valid)

    [first] = [o for o in outcomes if o.row == 1]
    assert (first.status, first.reason, first.field) == (Status.INVALID, broken.reason, broken.field)
    assert [r.body for r in mixed.requests] == [r.body for r in clean.requests]


@FEW
@given(digests("sha256"))
def test_an_already_hashed_value_is_sent_as_it_is(digest: str) -> None:
    spec = parse_spec("""
spec_version: 1
id: hashed
name: Hashed
base_url: "https://api.example.com"
auth: {kind: none}
actions:
  add:
    title: Add
    fields:
      email: {type: string, required: true, normalize: meta_email, hash: sha256}
    request: {path: /users, body: $record, record: {email: $email}}
""", "hashed.yaml")
    [request] = build_sync({"destination": "hashed", "action": "add", "mapping": {"email": "email"}},
                           spec=spec).dry_run([{"email": digest}]).requests
    assert request.json() == {"email": digest.lower()}


HASHED = FieldSchema.model_validate({"type": "string", "hash": "sha256"})


def test_a_hashed_field_without_normalize_draws_digests() -> None:
    from destkit.testing.drawing import collect_examples

    drawn = collect_examples(string_values(HASHED, required=True), 60, seed=0)
    assert any(len(v) == 64 and all(c in "0123456789abcdefABCDEF" for c in v) for v in drawn)
