"""A destination's code and message that are not strings are kept as JSON writes them, never a Python repr.

An answer such as `{"errors":[{"code": {"a": 1}, "message": ["x", "y"]}]}` showed `{'a': 1}` and `['x', 'y']`
in the outcome, a code `true` showed `True`: text no other tool writes. Now an object or a list is compact JSON
(`{"a":1}`, `["x","y"]`), a bool `true`/`false`, a number its digits, and null is no code. Per record (a real
HTTP answer's result items), for a whole batch (an HTTP 422 answer) and in a mapping of errors by key alike.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from destkit.runtime import Status
from destkit.runtime.delivery.reading import ItemResult, ResponseReader
from destkit.runtime.spec.models import ResponseSpec
from tests.runtime.delivery.test_response_limits import answering, deliver_outcomes, once, serving

SHAPES: list[tuple[Any, str | None]] = [
    ({"a": 1, "b": "é"}, '{"a":1,"b":"é"}'),
    (["x", "y"], '["x","y"]'),
    (True, "true"),
    (False, "false"),
    (17, "17"),
    (2.5, "2.5"),
    (None, None),
    ("plain", "plain"),
]


def refused_items(code: Any, message: Any, n: int = 1) -> bytes:
    return json.dumps({"data": [{"status": "failed", "errors": [{"code": code, "message": message}]}] * n}).encode()


@pytest.mark.parametrize(("value", "text"), SHAPES)
def test_a_refused_records_code_and_message_are_json_text(value: Any, text: str | None) -> None:
    with serving(answering(once(refused_items(value, value)))) as url:
        [outcome] = deliver_outcomes(url, n=1)
    assert (outcome.status, outcome.reason) == (Status.REJECTED, "destination_rejected")
    assert (outcome.destination_code, outcome.destination_message) == (text, text)


def test_a_whole_batch_refusal_shows_an_object_code_and_a_list_message_as_json() -> None:
    body = json.dumps({"errors": [{"code": {"a": 1}, "message": ["x", "y"]}]}).encode()
    with serving(answering(once(body), status=422)) as url:
        [outcome] = deliver_outcomes(url, n=1)
    assert (outcome.status, outcome.destination_status) == (Status.REJECTED, 422)
    assert (outcome.destination_code, outcome.destination_message) == ('{"a":1}', '["x","y"]')


@pytest.mark.parametrize(("code", "shown"), [(True, "true"), (404, "404"), (None, None)])
def test_a_whole_batch_refusals_scalar_code_is_json_text_and_null_is_no_code(code: Any, shown: str | None) -> None:
    body = json.dumps({"errors": [{"code": code, "message": "no"}]}).encode()
    with serving(answering(once(body), status=422)) as url:
        [outcome] = deliver_outcomes(url, n=1)
    assert (outcome.destination_code, outcome.destination_message) == (shown, "no")


def test_a_keyed_errors_message_that_is_an_object_is_json() -> None:
    reader = ResponseReader(ResponseSpec.model_validate({"results": "errors", "match": {"key": "email"}}))
    results = reader.read({"errors": {"a@x.io": {"2008": {"field": "email", "why": ["taken"]}}}}, ["a@x.io", "b@x.io"])
    assert results == [ItemResult(False, None, "2008", '{"field":"email","why":["taken"]}'), ItemResult(True)]


def test_a_keyed_error_that_is_a_list_is_the_message_as_json() -> None:
    reader = ResponseReader(ResponseSpec.model_validate({"results": "errors", "match": {"key": "email"}}))
    [result] = reader.read({"errors": {"a@x.io": ["bad", 2]}}, ["a@x.io"])
    assert (result.ok, result.code, result.message) == (False, None, '["bad",2]')
