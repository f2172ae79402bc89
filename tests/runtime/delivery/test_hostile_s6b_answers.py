"""Hostile answers, over real HTTP: a gzip body that ends before its compressed data does is named as
a corrupt encoding (it read as an empty answer), and what a destination says about a record is kept
up to 200 characters for a code and 2,000 for a message, scrubbed of secrets first (each record of a
batch got its own copy of a 1 MB message in the report, the state store and the summary). An "id" over
1,024 characters is no id: the record is delivered without one (cut short, it would name another)."""

from __future__ import annotations

import gzip
import json

from destkit.runtime import Status
from destkit.runtime.delivery.clipping import clip
from tests.conftest import API_KEY
from tests.runtime.delivery.test_response_limits import answering, deliver_outcomes, once, serving

CORRUPT_GZIP = (
    "the destination answered HTTP 200 but the answer's gzip encoding is corrupt (the body ends before the "
    "compressed data does), so it was not read; the records may or may not have been applied and are "
    "dead-lettered, to be sent again by the next run.")


def per_record_refusals(code: str, message: str, n: int = 3) -> bytes:
    item = {"status": "failed", "errors": [{"code": code, "message": message}]}
    return json.dumps({"data": [item] * n}).encode()


def test_a_gzip_body_cut_short_dead_letters_the_batch_naming_the_corrupt_encoding() -> None:
    cut = gzip.compress(b'{"data": [{"status": "created"}, {"status": "created"}, {"status": "created"}]}')[:20]
    with serving(answering(once(cut), [(b"content-encoding", b"gzip")])) as url:
        outcomes = deliver_outcomes(url)
    assert [(o.status, o.reason, o.attempts, o.message) for o in outcomes] == [
        (Status.DEAD_LETTERED, "unexpected_response", 1, CORRUPT_GZIP)] * 3


def test_a_gzip_header_followed_by_nothing_is_a_corrupt_encoding_too() -> None:
    with serving(answering(once(b"\x1f\x8b\x08\x00"), [(b"content-encoding", b"gzip")])) as url:
        outcomes = deliver_outcomes(url)
    assert [o.message for o in outcomes] == [CORRUPT_GZIP] * 3


def test_an_empty_body_marked_gzip_is_an_empty_answer_not_a_corrupt_one() -> None:
    with serving(answering(once(b""), [(b"content-encoding", b"gzip")])) as url:
        outcomes = deliver_outcomes(url)
    assert [o.message for o in outcomes] == [
        "the destination answered 200 but no per-record result list at 'data'; the records may or may not have "
        "been applied and are dead-lettered, to be sent again by the next run."] * 3


def test_a_megabyte_code_and_message_per_record_are_clipped_in_each_outcome() -> None:
    with serving(answering(once(per_record_refusals("C" * 100_000, "M" * 1_000_000)))) as url:
        outcomes = deliver_outcomes(url, max_response_bytes=8 << 20)
    assert [(o.status, o.reason) for o in outcomes] == [(Status.REJECTED, "destination_rejected")] * 3
    assert {o.destination_code for o in outcomes} == {"C" * 200 + "... (99,800 more characters)"}
    assert {o.destination_message for o in outcomes} == {"M" * 2000 + "... (998,000 more characters)"}


def test_a_megabyte_error_for_the_whole_batch_is_clipped_in_each_outcome() -> None:
    body = json.dumps({"errors": [{"code": "E" * 5000, "message": "D" * 1_000_000}]}).encode()
    with serving(answering(once(body), status=422)) as url:
        outcomes = deliver_outcomes(url, n=1, max_response_bytes=8 << 20)
    assert [(o.status, o.reason, o.destination_status) for o in outcomes] == [
        (Status.REJECTED, "destination_rejected", 422)]
    assert outcomes[0].destination_code == "E" * 200 + "... (4,800 more characters)"
    assert outcomes[0].destination_message == "D" * 2000 + "... (998,000 more characters)"


def test_a_secret_across_the_clipping_point_is_scrubbed_before_it_is_clipped() -> None:
    message = "x" * 1995 + API_KEY + "y" * 100
    with serving(answering(once(per_record_refusals("bad", message)))) as url:
        outcomes = deliver_outcomes(url)
    assert {o.destination_message for o in outcomes} == {"x" * 1995 + "***yy... (98 more characters)"}


def test_clip_keeps_text_within_the_limit_whole() -> None:
    assert (clip("a" * 2000), clip(None), clip("abc", 2)) == ("a" * 2000, None, "ab... (1 more characters)")


def delivered_with_ids(ids: list[object]) -> bytes:
    return json.dumps({"data": [{"status": "created", "id": rid} for rid in ids]}).encode()


def test_an_id_over_1024_characters_is_no_id_and_the_record_is_still_delivered() -> None:
    ids: list[object] = ["i" * 1_000_000, "j" * 1024, 42]
    with serving(answering(once(delivered_with_ids(ids)))) as url:
        outcomes = deliver_outcomes(url, max_response_bytes=8 << 20)
    assert [(o.status, o.destination_id) for o in outcomes] == [
        (Status.DELIVERED, None), (Status.DELIVERED, "j" * 1024), (Status.DELIVERED, "42")]


def test_ids_all_within_the_limit_are_kept_as_given() -> None:
    with serving(answering(once(delivered_with_ids(["a", "b", "c"])))) as url:
        outcomes = deliver_outcomes(url)
    assert [o.destination_id for o in outcomes] == ["a", "b", "c"]
