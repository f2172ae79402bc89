"""The `e164` transform sends only numbers that exist, never a guess.

A phone number mapped to Hello Charles becomes a WhatsApp contact (seed 004: `+`, country code,
digits), so a wrong number is a message to a stranger. The transform emits a number only when
phonenumbers considers it *valid* (a number its metadata knows, not just one of a possible
length); anything else is an `invalid_phone` outcome that names the value and the fix.

How a value is read:
- a value with letters is refused (phonenumbers would read `call-me-11964` as vanity letters);
- `+…` is read as international;
- digits written the way the region writes its national numbers (`0151 …` in DE, `(212) 555-…`
  in the US) are read as national;
- any other digits are first read as `{country code}…` (seed 001 allows `4915…` for `+4915…`),
  and only then as a national number of the region.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from destkit.mapping import FieldShape, RecordError, compile_mapping
from destkit.mapping.errors import TransformError
from destkit.mapping.transforms import E164_PATTERN, build_transform
from destkit.runtime import load_spec

FIELDS: dict[str, FieldShape] = {
    name: FieldShape(f.types, f.required)
    for name, f in load_spec("hello_charles").actions["send_contacts"].fields.items()
}


def e164(value: Any, region: str | None = None) -> Any:
    """What the transform gives for `value` (with `{e164: {region: ...}}` when a region is given)."""
    return build_transform({"e164": {"region": region}} if region else "e164")(value)


def refusal(value: Any, region: str | None = None) -> TransformError:
    with pytest.raises(TransformError) as info:
        e164(value, region)
    return info.value


# --- what is refused ----------------------------------------------------------------------------


def test_a_value_with_letters_is_refused_not_read_as_vanity_digits() -> None:
    error = refusal("call-me-11964", "DE")
    assert error.code == "invalid_phone"
    assert error.message == ("'call-me-11964' has letters in it; a phone number is digits, optionally with a "
                             "leading + and spaces, dashes, dots or parentheses. Fix the source value (e.g. +14155552671).")


def test_a_vanity_number_is_refused() -> None:
    assert refusal("1-800-FLOWERS", "US").code == "invalid_phone"


def test_an_extension_written_with_letters_is_refused() -> None:
    assert refusal("+49 151 1234 5678 ext. 9").code == "invalid_phone"


def test_a_local_number_without_an_area_code_is_refused() -> None:
    error = refusal("555-0100", "US")
    assert error.code == "invalid_phone"
    assert error.message.startswith("'555-0100' is not a valid phone number")
    assert "+14155552671" in error.message


def test_an_international_number_of_a_possible_length_that_does_not_exist_is_refused() -> None:
    # +1 555 numbers are fictional; the length is right for the US, the number is not
    error = refusal("+15551234567", "DE")
    assert error.code == "invalid_phone"
    assert error.message.startswith("'+15551234567' is not a valid phone number")


def test_a_german_number_one_digit_short_is_refused() -> None:
    assert refusal("0151 1234567", "DE").code == "invalid_phone"


def test_a_value_with_other_characters_is_refused() -> None:
    assert refusal("+49 151 1234 5678; DROP", "DE").code == "invalid_phone"
    assert refusal("+49#15112345678").code == "invalid_phone"


def test_a_very_long_value_is_refused_without_parsing_it() -> None:
    error = refusal("1" * 10_000, "DE")
    assert error.code == "invalid_phone"
    assert len(error.message) < 300


def test_a_fractional_number_is_refused() -> None:
    assert refusal(4915112345678.5, "DE").code == "invalid_phone"


def test_a_boolean_is_refused() -> None:
    assert refusal(True, "DE").code == "invalid_phone"


# --- how digits are read ------------------------------------------------------------------------


def test_the_country_code_form_of_seed_001_is_read_before_the_region() -> None:
    # read as a DE national number this would be +49 4915123456789, a different, valid number
    assert e164("4915123456789", "DE") == "+4915123456789"


def test_the_country_code_form_is_read_without_a_region() -> None:
    assert e164("4915123456789") == "+4915123456789"


def test_a_national_number_written_with_the_trunk_prefix_is_read_for_the_region() -> None:
    assert e164("0151 12345678", "DE") == "+4915112345678"


def test_a_us_national_number_is_read_for_the_region_even_if_its_digits_start_like_a_country_code() -> None:
    # +352 is Luxembourg: "352 555 0199" read as {country code}… would be a valid number there
    assert phonenumbers.is_valid_number(phonenumbers.parse("+3525550199"))
    assert e164("(352) 555-0199", "US") == "+13525550199"


def test_a_foreign_number_in_country_code_form_is_read_as_international_with_a_region_set() -> None:
    assert e164("33612345678", "DE") == "+33612345678"


def test_the_international_call_prefix_is_read_for_the_region() -> None:
    assert e164("0049 151 12345678", "DE") == "+4915112345678"


def test_an_e164_number_that_exists_is_left_unchanged() -> None:
    assert e164("+4915112345678", "US") == "+4915112345678"


def test_a_whole_number_from_json_is_read_as_its_digits() -> None:
    assert e164(4915112345678, "DE") == "+4915112345678"
    assert e164(4915112345678.0, "DE") == "+4915112345678"


def test_an_empty_value_stays_absent() -> None:
    assert e164("   ", "DE") is None


# --- through a mapping: the outcome names the field --------------------------------------------


def test_a_refused_phone_fails_the_record_with_invalid_phone_on_its_field() -> None:
    compiled = compile_mapping({"external_reference_id": "id",
                                "phone_number": {"path": "phone", "transform": [{"e164": {"region": "DE"}}]}}, FIELDS)
    with pytest.raises(RecordError) as info:
        compiled.apply({"id": "c1", "phone": "call-me-11964"})
    assert (info.value.code, info.value.field) == ("invalid_phone", "phone_number")
    assert "'call-me-11964'" in info.value.message


# --- the property -------------------------------------------------------------------------------

phone_like = st.text(alphabet="0123456789 +-().", min_size=1, max_size=20)
digits = st.from_regex(r"\+?(00)?[1-9][0-9]{5,14}", fullmatch=True)
anything = st.one_of(st.text(max_size=30), phone_like, digits, st.integers(), st.floats(), st.booleans())


@settings(max_examples=400, deadline=None)
@given(value=anything, region=st.sampled_from([None, "DE", "US", "GB", "FR", "IN"]))
def test_whatever_goes_in_the_transform_gives_nothing_an_error_or_a_valid_e164_number(value: Any, region: str | None) -> None:
    try:
        out = e164(value, region)
    except TransformError as exc:
        assert exc.code == "invalid_phone"
        return
    if out is not None:
        assert E164_PATTERN.fullmatch(out), out
        assert phonenumbers.is_valid_number(phonenumbers.parse(out)), out
