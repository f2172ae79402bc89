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


def _no_args(name: str, args: Any) -> None:
    if args not in (None, {}, True):
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


def _e164(args: Any) -> Transform:
    region = None
    if isinstance(args, dict):
        region = args.get("region")
        unknown = set(args) - {"region"}
        if unknown:
            raise ValueError(f"transform 'e164' has no option {sorted(unknown)[0]!r}; it takes 'region'")
    elif isinstance(args, str):
        region = args
    elif args not in (None, True, {}):
        raise ValueError("transform 'e164' takes {region: XX}, a two-letter ISO country code")
    if region is not None:
        region = str(region).upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"'{region}' is not a region phonenumbers knows; use an ISO 3166 code such as DE or US")

    def apply(value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip()
        if not text:
            return None
        if E164_PATTERN.fullmatch(text):
            return text
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException as exc:
            raise TransformError(
                MappingReason.INVALID_PHONE,
                f"'{text}' is not a phone number ({exc._msg}); give it in international format such as +15551234567"
                + ("" if region else " or set e164.region for national numbers"),
            ) from None
        formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if not phonenumbers.is_possible_number(parsed) or not E164_PATTERN.fullmatch(formatted):
            raise TransformError(
                MappingReason.INVALID_PHONE, f"'{text}' has the wrong number of digits for its country; check the number"
            )
        return formatted

    return apply


def _split(args: Any) -> Transform:
    sep = "," if args in (None, True, {}) else args
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
    sep = "," if args in (None, True, {}) else args
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


def _sha256(args: Any) -> Transform:
    normalize = True
    if isinstance(args, dict):
        normalize = bool(args.get("normalize", True))

    def apply(value: Any) -> Any:
        if value is None:
            return None
        text = str(value)
        if normalize:
            text = text.strip().lower()
        return hashlib.sha256(text.encode()).hexdigest()

    return apply


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
