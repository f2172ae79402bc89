"""Spec-owned normalisation and hashing: a field declares `normalize:` (steps or a platform preset) and
`hash: sha256`, so a user maps a plain email or phone and the spec sends what the platform matches on.

Values are checked before they are hashed (an invalid email fails the record, it is never a hash of
garbage), an empty value stays absent and a value that already is a digest is sent as is.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from destkit.runtime import Outcome, build_sync
from destkit.runtime.authoring.check import check_spec_text
from destkit.runtime.spec.loader import parse_spec

SPEC = """\
spec_version: 1
id: audience
name: Audience
base_url: "https://api.example.com"
auth: {kind: none}
actions:
  add:
    title: Add to audience
    fields:
      external_id: {type: string, required: true}
      email: {type: string, normalize: meta_email, hash: sha256}
      phone: {type: string, normalize: meta_phone, hash: sha256}
    request:
      path: /audience/users
      body: $record
      record: {id: $external_id, em: $email, ph: $phone}
"""

CONFIG = {"destination": "audience", "action": "add",
          "mapping": {"external_id": "id", "email": "email", "phone": "phone"}}
SYNC = build_sync(CONFIG, spec=parse_spec(SPEC, "audience.yaml"))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sent(record: dict[str, Any], sync: Any = SYNC) -> dict[str, Any]:
    """The body `record` would be sent as; fails if it is kept back."""
    (item,) = sync.preview([{"id": "1", **record}], 1, offline=True)
    assert item.outcome is None, item.outcome.to_dict()
    assert isinstance(item.body, dict)
    return item.body


def kept_back(record: dict[str, Any]) -> Outcome:
    (item,) = SYNC.preview([{"id": "1", **record}], 1, offline=True)
    assert item.outcome is not None, f"record was accepted as {item.body}"
    return item.outcome


def test_an_email_is_trimmed_and_lowercased_before_it_is_hashed() -> None:
    assert sent({"email": "  Ann@Example.COM "})["em"] == sha256("ann@example.com")


def test_a_phone_is_sent_as_the_hash_of_its_digits_with_country_code_and_no_plus() -> None:
    assert sent({"phone": "+1 (415) 555-2671"})["ph"] == sha256("14155552671")


def test_a_value_that_already_is_a_digest_passes_through() -> None:
    digest = sha256("ann@example.com")
    assert sent({"email": digest})["em"] == digest


def test_an_uppercase_digest_passes_through_lowercased() -> None:
    digest = sha256("ann@example.com")
    assert sent({"email": digest.upper()})["em"] == digest


def test_an_invalid_email_is_invalid_email_and_not_hashed() -> None:
    outcome = kept_back({"email": "not an email"})
    assert (outcome.status, outcome.reason, outcome.field) == ("invalid", "invalid_email", "email")


def test_an_invalid_phone_is_invalid_phone() -> None:
    outcome = kept_back({"phone": "12"})
    assert (outcome.status, outcome.reason, outcome.field) == ("invalid", "invalid_phone", "phone")


def test_an_empty_value_stays_absent() -> None:
    assert sent({"email": "", "phone": "   "}) == {"id": "1"}


def test_google_email_removes_the_dots_of_a_gmail_local_part() -> None:
    sync = build_sync(CONFIG, spec=parse_spec(SPEC.replace("meta_email", "google_email"), "audience.yaml"))
    assert sent({"email": " A.n.N@GoogleMail.com"}, sync)["em"] == sha256("ann@googlemail.com")


def test_google_email_keeps_the_dots_of_other_domains() -> None:
    sync = build_sync(CONFIG, spec=parse_spec(SPEC.replace("meta_email", "google_email"), "audience.yaml"))
    assert sent({"email": "a.nn@example.com"}, sync)["em"] == sha256("a.nn@example.com")


def test_steps_can_be_listed_instead_of_a_preset() -> None:
    spec = SPEC.replace("normalize: meta_phone", "normalize: [digits_only]")
    sync = build_sync(CONFIG, spec=parse_spec(spec, "audience.yaml"))
    assert sent({"phone": "(0)30-1234"}, sync)["ph"] == sha256("0301234")


HEX64 = re.compile(r"[0-9a-f]{64}")


@given(st.one_of(st.text(max_size=40), st.from_regex(r"[a-zA-Z.]{1,10}@[a-z]{1,8}\.(com|de)", fullmatch=True)))
def test_the_sent_email_is_always_64_lowercase_hex_or_absent(email: str) -> None:
    (item,) = SYNC.preview([{"id": "1", "email": email}], 1, offline=True)
    if item.outcome is None:
        assert isinstance(item.body, dict)
        assert "em" not in item.body or HEX64.fullmatch(item.body["em"])
    else:
        assert item.outcome.reason == "invalid_email"


def test_spec_check_refuses_an_unknown_preset_with_a_did_you_mean() -> None:
    check = check_spec_text(SPEC.replace("normalize: meta_email", "normalize: meta_emial"), "audience.yaml")
    assert [str(f) for f in check.errors] == [
        "audience.yaml:11: actions.add.fields.email.normalize: 'meta_emial' is not a normalize step or preset; "
        "did you mean 'meta_email'? Fix: use a step (trim, lower, digits_only, email, e164, e164_no_plus, "
        "gmail_dots) or a preset (meta_email, meta_phone, google_email, google_phone, tiktok_email, tiktok_phone).",
    ]


def test_spec_check_accepts_the_presets() -> None:
    assert [str(f) for f in check_spec_text(SPEC, "audience.yaml").findings] == []


def test_normalize_on_a_field_that_is_not_a_string_is_a_spec_error() -> None:
    check = check_spec_text(SPEC.replace("phone: {type: string, normalize", "phone: {type: integer, normalize"),
                            "audience.yaml")
    assert [f.issue.message for f in check.errors] == [
        "Value error, normalize and hash apply to a field of type: string.",
    ]


def test_every_normalize_name_of_the_spec_language_is_implemented() -> None:
    from destkit.runtime.record.normalize import PRESETS, STEPS
    from destkit.runtime.spec.vocabulary import NORMALIZE_PRESETS, NORMALIZE_STEPS

    assert tuple(STEPS) == NORMALIZE_STEPS
    assert PRESETS == NORMALIZE_PRESETS


def test_an_unknown_normalize_name_is_a_spec_error_when_the_spec_loads() -> None:
    from destkit.runtime.errors import SpecError
    from destkit.runtime.spec.loader import parse_spec

    try:
        parse_spec(SPEC.replace("normalize: meta_email", "normalize: meta_emial"), "audience.yaml")
    except SpecError as exc:
        assert [str(i) for i in exc.issues] == [
            "audience.yaml:11: actions.add.fields.email.normalize: 'meta_emial' is not a normalize step or preset; "
            "did you mean 'meta_email'? Fix: use a step (trim, lower, digits_only, email, e164, e164_no_plus, "
            "gmail_dots) or a preset (meta_email, meta_phone, google_email, google_phone, tiktok_email, tiktok_phone).",
        ]
    else:
        raise AssertionError("an unknown normalize name must not load")
