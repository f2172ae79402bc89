"""The values a rate limit may take, shared by a spec's `rate_limit` and a sync config's `options` (and, for
any other count or time of theirs, `NOT_A_BOOL`).

pydantic's `gt=0` let through rates no sync can keep to (1e-9 a second: the rate gate waits ~30 years
between requests; inf: no limit at all, said as a number), and read `true` as 1. These checks run before
pydantic's own and refuse such values with an error that names the value and the fix, carried as a
`value_with_fix` error whose context holds the fix (the config and spec loaders both read it).
"""

from __future__ import annotations

import functools
import math
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

# one request a minute: a slower rate is a scheduling problem, not a rate limit
MIN_REQUESTS_PER_SECOND = 1 / 60
MAX_CONCURRENCY = 256
FIXABLE = "value_with_fix"

_SLOWEST = f"at least {MIN_REQUESTS_PER_SECOND:.4f}"
_CONCURRENCY_FIX = f"give a whole number from 1 to {MAX_CONCURRENCY}."


def refusal(message: str, fix: str) -> PydanticCustomError:
    """A validation error whose message and fix the loaders show as they are."""
    return PydanticCustomError(FIXABLE, "{message}", {"message": message, "fix": fix})


def fix_of(ctx: dict[str, object] | None) -> str:
    """The fix a `refusal` carries ('' for pydantic's own errors)."""
    return str((ctx or {}).get("fix", ""))


def shown(value: object) -> str:
    """A value as its YAML author wrote it: true, not True; '10/s' quoted; 1e-9 as written (PyYAML reads a
    float without a dot as a string)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) and _number(value) is None:
        return repr(value)
    return str(value).strip()


def requests_per_second(value: object, *, when_absent: str) -> float | None:
    """`value` as a rate of at least one request a minute; `when_absent` says what leaving the key out does."""
    if value is None:
        return None
    fix = f"give a number such as 10 ({_SLOWEST}); leave requests_per_second out {when_absent}."
    number = _number(value)
    if number is None or not math.isfinite(number):
        raise refusal(f"{shown(value)} is not a number of requests a second", fix)
    if number < MIN_REQUESTS_PER_SECOND:
        raise refusal(f"{shown(value)} is slower than one request a minute",
                      f"give {_SLOWEST} (one request a minute); to send slower, schedule smaller syncs.")
    return number


def concurrency(value: object) -> int | None:
    """`value` as how many requests may be in flight at once: a whole number from 1 to MAX_CONCURRENCY."""
    if value is None:
        return None
    count = _whole_number(value)
    if count is None:
        raise refusal(f"{shown(value)} is not a whole number of requests in flight", _CONCURRENCY_FIX)
    if not 1 <= count <= MAX_CONCURRENCY:
        limit = f"more than {MAX_CONCURRENCY}" if count > MAX_CONCURRENCY else "fewer than one"
        raise refusal(f"{count} requests in flight at once is {limit}", _CONCURRENCY_FIX)
    return count


def not_a_bool(value: object) -> object:
    """`value`, unless it is a bool: pydantic reads `true` as 1, a count or a time nobody meant."""
    if isinstance(value, bool):
        raise refusal(f"{shown(value)} is not a number",
                      "write the number itself: YAML reads true as a boolean, which is no count or time.")
    return value


# the field types: each value checked by the functions above before pydantic's own checks
SpecRate = Annotated[float | None, BeforeValidator(functools.partial(requests_per_second, when_absent="for no limit"))]
OptionRate = Annotated[float | None, BeforeValidator(functools.partial(
    requests_per_second, when_absent="to keep to the destination's own rate limit"))]
InFlight = Annotated[int, BeforeValidator(concurrency)]
InFlightOrUnset = Annotated[int | None, BeforeValidator(concurrency)]
NOT_A_BOOL = BeforeValidator(not_a_bool)  # for any other count or time: Annotated[float, NOT_A_BOOL]


def _number(value: object) -> float | None:
    """A number, or a text that is one ("10"); None for a bool (YAML's true is not 1) or anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):  # OverflowError: an int past float's range (10**400)
        return None


def _whole_number(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # as it is: float() of a huge one would round it, or overflow
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None
