"""Spec-owned normalisation and hashing of a field (`normalize:` steps or a platform preset, `hash: sha256` or `md5`).

A step is a plain function on a string that returns the normalised string or raises `TransformError`
when the value cannot be what the field holds (an invalid email is `invalid_email`, never a hash of
garbage). Presets name the steps a platform documents for its match keys, so a connector user maps a
plain email or phone and the spec does the rest. Everything is resolved once, when the checks compile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from destkit.mapping.errors import MappingReason, TransformError
from destkit.mapping.transforms import TRANSFORMS
from destkit.runtime.spec.vocabulary import NORMALIZE_FIX, NORMALIZE_PRESETS, unknown_normalize_message

Step = Callable[[str], str]

_NON_DIGITS = re.compile(r"[^0-9]")
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
HASHED = re.compile(r"[0-9a-fA-F]{64}")  # a value that already is a hex SHA-256 digest is sent as is
HASHED_MD5 = re.compile(r"[0-9a-fA-F]{32}")  # likewise an MD5 digest, for `hash: md5`
_e164 = TRANSFORMS["e164"](None)  # the mapping transform: validates with phonenumbers, one implementation
_sha256 = TRANSFORMS["sha256"]({"normalize": False})  # the spec's steps decide the normalisation
_md5 = TRANSFORMS["md5"]({"normalize": False})


def strict_email(value: str) -> bool:
    """email-validator's syntax check (no DNS): for fields with `strictness: strict` and the `email` step."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _email(value: str) -> str:
    if not strict_email(value):
        raise TransformError(MappingReason.INVALID_EMAIL, f"'{value[:60]}' is not an email address; fix the source value.")
    return value


def _e164_phone(value: str) -> str:
    return str(_e164(value) or "")


def _e164_no_plus(value: str) -> str:
    return _e164_phone(value).removeprefix("+")


def _digits_only(value: str) -> str:
    return _NON_DIGITS.sub("", value)


def _gmail_dots(value: str) -> str:
    """Gmail ignores dots in the local part, so `a.n.n@gmail.com` and `ann@gmail.com` are one inbox."""
    local, at, domain = value.rpartition("@")
    if not at or domain.lower() not in _GMAIL_DOMAINS:
        return value
    return local.replace(".", "") + at + domain


STEPS: dict[str, Step] = {
    "trim": str.strip,
    "lower": str.lower,
    "digits_only": _digits_only,
    "email": _email,  # validates only: an invalid address fails the record with invalid_email
    "e164": _e164_phone,  # validates and formats: +, country code, digits (invalid_phone otherwise)
    "e164_no_plus": _e164_no_plus,
    "gmail_dots": _gmail_dots,
}

# The platforms' documented normalisation of their match keys, as steps (applied before hashing); the
# names are the spec language's (`vocabulary.NORMALIZE_PRESETS`), so a spec is checked when it loads:
# - Meta Custom Audiences, "Normalizing and hashing": email trimmed and lowercased; phone digits only with
#   the country code, no '+', no leading zeros
# - Google Ads Customer Match, "Normalize and hash": email trimmed and lowercased, dots before the domain
#   removed for gmail.com and googlemail.com; phone in E.164 with the '+'
# - TikTok Audiences, "Hash customer data": email trimmed and lowercased; phone in E.164 with the '+'
PRESETS: dict[str, tuple[str, ...]] = dict(NORMALIZE_PRESETS)

KNOWN_NAMES = (*STEPS, *PRESETS)
KNOWN_FIX = NORMALIZE_FIX


def as_names(normalize: str | Sequence[str] | None) -> list[str]:
    """The names a field's `normalize:` lists (a single name or a list)."""
    if normalize is None:
        return []
    return [normalize] if isinstance(normalize, str) else list(normalize)


unknown_name_message = unknown_normalize_message


def expand(names: Sequence[str]) -> list[Step]:
    """The steps these names stand for, in order (a preset becomes its steps); ValueError names an unknown one."""
    steps: list[Step] = []
    for name in names:
        if name in PRESETS:
            steps.extend(STEPS[s] for s in PRESETS[name])
        elif name in STEPS:
            steps.append(STEPS[name])
        else:
            raise ValueError(f"{unknown_name_message(name)} Fix: {KNOWN_FIX}")
    return steps


def build_normalizer(names: Sequence[str]) -> Callable[[str], str | None]:
    """One function running the steps; an empty result is absent (None). Raises TransformError."""
    steps = tuple(expand(names))

    def normalize(value: str) -> str | None:
        for step in steps:
            value = step(value)
        return value or None

    return normalize


def sha256_hex(value: str) -> str:
    """The hex SHA-256 of the normalised value (the mapping transform's, with no normalisation of its own)."""
    return str(_sha256(value))


def md5_hex(value: str) -> str:
    """The hex MD5 of the normalised value (`hash: md5`, e.g. a subscriber hash of a lower-cased email)."""
    return str(_md5(value))


DIGESTS: dict[str, tuple[re.Pattern[str], Callable[[str], str]]] = {
    "sha256": (HASHED, sha256_hex),
    "md5": (HASHED_MD5, md5_hex),
}
"""`hash:` name → (what an existing digest looks like, the hash function)."""


__all__ = [
    "DIGESTS",
    "HASHED",
    "HASHED_MD5",
    "KNOWN_FIX",
    "KNOWN_NAMES",
    "PRESETS",
    "STEPS",
    "as_names",
    "build_normalizer",
    "expand",
    "md5_hex",
    "sha256_hex",
    "strict_email",
    "unknown_name_message",
]
