"""`hash: md5` on a field: the spec sends the MD5 of the normalised value (e.g. Mailchimp's subscriber
hash, the MD5 of the lower-cased email), checked before hashing, a digest passed through as is."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from pydantic import ValidationError

from destkit.runtime import build_sync
from destkit.runtime.spec.loader import parse_spec
from destkit.runtime.spec.models import FieldSchema

SPEC = """\
spec_version: 1
id: members
name: Members
base_url: "https://api.example.com"
auth: {kind: none}
actions:
  upsert:
    title: Upsert a member
    fields:
      email: {type: string, required: true, format: email}
      subscriber_hash: {type: string, normalize: [trim, lower, email], hash: md5}
    batch: {max_records: 1}
    request:
      method: PUT
      path: /members/{subscriber_hash}
      body: $record
      record: {email_address: $email}
"""

CONFIG = {"destination": "members", "action": "upsert",
          "mapping": {"email": "email", "subscriber_hash": "email"}}
SYNC = build_sync(CONFIG, spec=parse_spec(SPEC, "members.yaml"))
HASH_MAPPED = build_sync({**CONFIG, "mapping": {"email": "email", "subscriber_hash": "hash"}},
                         spec=parse_spec(SPEC, "members.yaml"))


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def url_for(record: dict[str, Any]) -> str:
    (request,) = SYNC.dry_run([record]).requests
    return str(request.url)


def test_the_path_carries_the_md5_of_the_lower_cased_email() -> None:
    assert url_for({"email": "Ann@Example.com"}) == f"https://api.example.com/members/{md5('ann@example.com')}"


def test_a_value_that_already_is_an_md5_digest_is_sent_as_is() -> None:
    digest = md5("ann@example.com")
    (request,) = HASH_MAPPED.dry_run([{"email": "ann@example.com", "hash": digest.upper()}]).requests
    assert str(request.url) == f"https://api.example.com/members/{digest}"


def test_an_invalid_email_is_refused_before_hashing() -> None:
    (item,) = HASH_MAPPED.preview([{"email": "ann@example.com", "hash": "ann-at-example"}], 1, offline=True)
    assert item.outcome is not None
    assert (item.outcome.reason, item.outcome.field) == ("invalid_email", "subscriber_hash")


def test_hash_md5_needs_a_string_field() -> None:
    with pytest.raises(ValidationError, match="normalize and hash apply to a field of type: string"):
        FieldSchema.model_validate({"type": "integer", "hash": "md5"})
