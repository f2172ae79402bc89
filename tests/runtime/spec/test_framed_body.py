"""A request body is its envelope's prefix, the records' bodies joined by commas, and its suffix, whatever
the number of records (`framed` copies the body once rather than once per `+`)."""

from __future__ import annotations

import orjson
import pytest

from destkit.runtime.spec.body_template import build_envelope, framed


@pytest.mark.parametrize("count", [0, 1, 2, 3, 1000])
def test_a_framed_body_is_the_prefix_the_parts_joined_by_commas_and_the_suffix(count: int) -> None:
    parts = [orjson.dumps({"id": i}) for i in range(count)]
    assert framed(b'{"contacts":[', parts, b"]}") == b'{"contacts":[' + b",".join(parts) + b"]}"


@pytest.mark.parametrize("count", [0, 1, 2, 5])
def test_an_envelope_joins_its_records_into_a_body_that_parses_back_to_them(count: int) -> None:
    envelope = build_envelope({"contacts": "$records", "mode": "$settings.mode"}, {"mode": "upsert"})
    records = [{"id": i, "name": f"n{i}"} for i in range(count)]
    body = envelope.join([orjson.dumps(r) for r in records])
    assert orjson.loads(body) == {"contacts": records, "mode": "upsert"}


def test_an_envelope_with_session_values_fills_them_around_the_joined_records() -> None:
    envelope = build_envelope({"batch": "$session.batch_seq", "items": "$records"}, {})
    body = envelope.join([b'{"id":1}', b'{"id":2}', b'{"id":3}'], {"batch_seq": 7})
    assert orjson.loads(body) == {"batch": 7, "items": [{"id": 1}, {"id": 2}, {"id": 3}]}
