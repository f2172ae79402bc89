"""The transform library: each entry turns its config into a plain function on one value.

Every transform passes None through untouched (an absent value stays absent) and raises
`TransformError` with a reason code when a present value cannot be transformed. Factories run
once, when a mapping is compiled, so argument checking and regex/phonenumbers set-up never
happen per record.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import phonenumbers

from destkit.mapping.errors import MappingReason, TransformError

Transform = Callable[[Any], Any]
Factory = Callable[[Any], Transform]

E164_PATTERN = re.compile(r"\+[1-9][0-9]{6,14}")


def _absent(args: Any) -> bool:
    """No argument: `{lower: null}`, `{lower: {}}` or `{lower: true}`; `in (None, True, {})` took 1 too (1 == True)."""
    return args is None or args is True or args == {}


def _no_args(name: str, args: Any) -> None:
    if not _absent(args):
        raise ValueError(f"transform '{name}' takes no arguments")


def _string_op(name: str, op: Callable[[str], str]) -> Factory:
    def factory(args: Any) -> Transform:
        _no_args(name, args)

        def apply(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, str):
                return op(value)
            if isinstance(value, list):
                return [op(v) if isinstance(v, str) else v for v in value]
            return value

        return apply

    return factory


# A phone number is digits, optionally after a +, with the separators people write. Letters are
# refused outright: phonenumbers reads them as vanity digits ("call-me-11964" -> 2255 6311964).
_PHONE_TEXT = re.compile(r"\+?[ \t().\-/]*[0-9][0-9 \t().\-/]*")
_NON_DIGITS = re.compile(r"[^0-9]")
_MAX_PHONE_CHARS = 40  # the longest E.164 number is 16 characters; leave room for separators
_EXAMPLE_PHONE = "+14155552671"


def _e164_region(args: Any) -> str | None:
    """The region option of `e164` (`{region: DE}`, `DE` or nothing), checked against phonenumbers."""
    region = None
    if isinstance(args, dict):
        region = args.get("region")
        unknown = set(args) - {"region"}
        if unknown:
            raise ValueError(f"transform 'e164' has no option {sorted(unknown)[0]!r}; it takes 'region'")
    elif isinstance(args, str):
        region = args
    elif not _absent(args):
        raise ValueError("transform 'e164' takes {region: XX}, a two-letter ISO country code")
    if region is None:
        return None
    region = str(region).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"'{region}' is not a region phonenumbers knows; use an ISO 3166 code such as DE or US")
    return region


def _phone_text(value: Any) -> str:
    """The value as the text of a phone number; refuses what cannot be one before any parsing."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise TransformError(MappingReason.INVALID_PHONE, f"{value!r} is not a phone number; fix the source value.")
    text = str(int(value)) if isinstance(value, float) else str(value).strip()
    if not text:
        return text
    if len(text) > _MAX_PHONE_CHARS:
        raise TransformError(MappingReason.INVALID_PHONE, f"'{text[:20]}…' ({len(text)} characters) is too long to be a "
                             "phone number; fix the source value.")
    if not _PHONE_TEXT.fullmatch(text):
        what = "has letters in it" if any(ch.isalpha() for ch in text) else "has characters that are not part of a phone number"
        raise TransformError(MappingReason.INVALID_PHONE, f"'{text}' {what}; a phone number is digits, optionally with a "
                             f"leading + and spaces, dashes, dots or parentheses. Fix the source value (e.g. {_EXAMPLE_PHONE}).")
    return text


def _valid_number(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """`text` read for `region`, if phonenumbers knows it as a number that exists (not just one of
    a possible length) and it fits E.164's 15 digits (some countries' metadata allows more)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return number if E164_PATTERN.fullmatch(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)) else None


def _written_nationally(digits: str, number: phonenumbers.PhoneNumber) -> bool:
    """True if `digits` are exactly how the number's country writes it at home (`015112345678` in DE)."""
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return _NON_DIGITS.sub("", national) == digits


def _read_phone(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The one number `text` stands for, or None.

    `+…` is international. Digits written the way `region` writes its national numbers are
    national: `(352) 555-0199` in the US is +1 352…, although +352 555 0199 exists in Luxembourg.
    Any other digits are first read as `{country code}…` (seed 001: `4915…` means +4915…, not the
    DE number 0491 5…), and only then as a national number of `region`.
    """
    if text.startswith("+"):
        return _valid_number(text, None)
    digits = _NON_DIGITS.sub("", text)
    international = None if digits.startswith("0") else _valid_number("+" + digits, None)  # no country code starts with 0
    national = _valid_number(text, region) if region else None
    if international is not None and national is not None and international != national:
        return national if _written_nationally(digits, national) else international
    return international or national


def _not_a_valid_phone(text: str, region: str | None) -> TransformError:
    if text.startswith("+"):
        why, fix = "no such number exists for its country code", "check it"
    elif region:
        why, fix = f"no such number exists in {region} nor as a country code and number", "check it"
    else:
        why, fix = "no such number exists as a country code and number", "set e164.region for national numbers"
    return TransformError(MappingReason.INVALID_PHONE, f"'{text}' is not a valid phone number: {why}. Fix: {fix}, "
                          f"or give it in international format such as {_EXAMPLE_PHONE}.")


def _e164(args: Any) -> Transform:
    """Phone numbers to E.164, emitting only numbers phonenumbers knows to exist (see `_read_phone`)."""
    region = _e164_region(args)

    def apply(value: Any) -> Any:
        if value is None:
            return None
        text = _phone_text(value)
        if not text:
            return None
        number = _read_phone(text, region)
        if number is None:
            raise _not_a_valid_phone(text, region)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    return apply


def _split(args: Any) -> Transform:
    sep = "," if _absent(args) else args
    if isinstance(sep, dict):
        sep = sep.get("separator", ",")
    if not isinstance(sep, str) or not sep:
        raise ValueError("transform 'split' takes a non-empty separator string, e.g. {split: ';'}")

    def apply(value: Any) -> Any:
        if value is None or isinstance(value, list):
            return value
        return [p.strip() for p in str(value).split(sep) if p.strip()]

    return apply


def _join(args: Any) -> Transform:
    sep = "," if _absent(args) else args
    if isinstance(sep, dict):
        sep = sep.get("separator", ",")
    if not isinstance(sep, str):
        raise ValueError("transform 'join' takes a separator string, e.g. {join: ', '}")

    def apply(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return sep.join("" if v is None else str(v) for v in value)
        return value

    return apply


def _date(args: Any) -> Transform:
    if not isinstance(args, dict) or "to" not in args:
        raise ValueError("transform 'date' takes {from: <strptime format or 'iso'>, to: <strftime format or 'iso'>}")
    src = args.get("from", "iso")
    dst = args["to"]
    for fmt in (src, dst):
        if not isinstance(fmt, str) or not fmt:
            raise ValueError("date formats must be strings such as '%d/%m/%Y' or 'iso'")

    def parse(text: str) -> datetime:
        if src == "iso":
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        return datetime.strptime(text, src)

    def apply(value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip()
        if not text:
            return None
        try:
            parsed = parse(text)
        except ValueError:
            raise TransformError(
                MappingReason.INVALID_VALUE, f"'{text}' is not a date in the format {src!r}; fix the source value or the 'from' format"
            ) from None
        return parsed.isoformat() if dst == "iso" else parsed.strftime(dst)

    return apply


def _to_string(args: Any) -> Transform:
    _no_args("to_string", args)

    def apply(value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return apply


def _to_number(args: Any) -> Transform:
    _no_args("to_number", args)

    def apply(value: Any) -> Any:
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            return value
        text = str(value).strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise TransformError(MappingReason.TYPE_MISMATCH, f"'{text}' is not a number; fix the source value") from None
        if not math.isfinite(number):
            raise TransformError(MappingReason.TYPE_MISMATCH, f"'{text}' is not a finite number")
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number

    return apply


_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_MD5_HEX = re.compile(r"[0-9a-fA-F]{32}")


def _bool_options(name: str, args: Any, defaults: dict[str, bool]) -> dict[str, bool]:
    """A transform's true/false options (`{sha256: {rehash: true}}`), unknown names refused."""
    if _absent(args):
        return dict(defaults)
    if not isinstance(args, dict):
        raise ValueError(f"transform '{name}' takes {{{', '.join(f'{k}: true|false' for k in defaults)}}}")
    unknown = set(args) - set(defaults)
    if unknown:
        raise ValueError(f"transform '{name}' has no option {sorted(unknown, key=str)[0]!r}; it takes "
                         + " and ".join(f"'{k}'" for k in defaults))
    for key, flag in args.items():
        if not isinstance(flag, bool):
            raise ValueError(f"transform '{name}' option '{key}' is true or false")
    return {**defaults, **args}


def _digest(name: str, algorithm: str, hex_digest: re.Pattern[str]) -> Factory:
    """A hex-digest transform. An empty value stays absent (its hash would match everyone without
    one), and a value that already is such a digest is not hashed again unless `rehash: true`."""

    def factory(args: Any) -> Transform:
        options = _bool_options(name, args, {"normalize": True, "rehash": False})
        normalize, rehash = options["normalize"], options["rehash"]

        def apply(value: Any) -> Any:
            if value is None:
                return None
            text = str(value)
            if not text.strip():
                return None
            if normalize:
                text = text.strip().lower()
            if not rehash and hex_digest.fullmatch(text.strip()):
                return text.strip().lower()
            return hashlib.new(algorithm, text.encode(), usedforsecurity=False).hexdigest()

        return apply

    return factory


# sha256: hex SHA-256 of the (trimmed, lowercased) value. md5: the same with MD5, which some APIs key
# records by (Mailchimp's subscriber hash is the MD5 of the lower-cased email); an identifier, not security.
_sha256 = _digest("sha256", "sha256", _SHA256_HEX)
_md5 = _digest("md5", "md5", _MD5_HEX)


def _default(args: Any) -> Transform:
    def apply(value: Any) -> Any:
        return args if value is None or value == "" else value

    return apply


TRANSFORMS: dict[str, Factory] = {
    "trim": _string_op("trim", str.strip),
    "lower": _string_op("lower", str.lower),
    "upper": _string_op("upper", str.upper),
    "e164": _e164,
    "split": _split,
    "join": _join,
    "date": _date,
    "to_string": _to_string,
    "to_number": _to_number,
    "sha256": _sha256,
    "md5": _md5,
    "default": _default,
}


def build_transform(spec: Any) -> Transform:
    """`'lower'` or `{e164: {region: DE}}` → a function; ValueError names what is wrong."""
    if isinstance(spec, str):
        name, args = spec, None
    elif isinstance(spec, dict) and len(spec) == 1:
        name, args = next(iter(spec.items()))
    else:
        raise ValueError("a transform is a name such as 'lower' or a one-key mapping such as {e164: {region: DE}}")
    factory = TRANSFORMS.get(name)
    if factory is None:
        raise ValueError(f"unknown transform '{name}'; known: {', '.join(sorted(TRANSFORMS))}")
    return factory(args)


def chain(transforms: list[Transform]) -> Transform | None:
    """One function for a list of transforms (None for an empty list, so callers can skip the call)."""
    if not transforms:
        return None
    if len(transforms) == 1:
        return transforms[0]

    def apply(value: Any) -> Any:
        for t in transforms:
            value = t(value)
        return value

    return apply
