"""The conformance suite's value strategies draw, for a field with `normalize:`, values its checks accept:
an email step wants email addresses, a phone step numbers that exist (not any `+<digits>`)."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from destkit.runtime.record.normalize import strict_email
from destkit.runtime.spec.models import FieldSchema
from destkit.testing.values import string_values

EMAIL = FieldSchema.model_validate({"type": "string", "normalize": "meta_email", "hash": "sha256"})
PHONE = FieldSchema.model_validate({"type": "string", "normalize": ["e164_no_plus"], "hash": "sha256"})


@settings(max_examples=30)
@given(st.data())
def test_a_field_normalised_as_an_email_is_drawn_as_email_addresses(data: st.DataObject) -> None:
    assert strict_email(data.draw(string_values(EMAIL, required=True)))


@settings(max_examples=30)
@given(st.data())
def test_a_field_normalised_as_a_phone_is_drawn_as_numbers_that_exist(data: st.DataObject) -> None:
    number = data.draw(string_values(PHONE, required=True))
    assert phonenumbers.is_valid_number(phonenumbers.parse(number))
