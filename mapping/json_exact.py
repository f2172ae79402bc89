"""JSON read fast (orjson) and exactly as Python's json reads it.

orjson reads an integer past 64 bits (2**63 and up) as a float, where json keeps it whole: a customer id
of 25 digits would reach the destination as `1.2345678901234568e+24`. Whatever orjson refuses (NaN, 1e400,
a lone surrogate) or could have read differently (a float as large as such an integer) is json's to read,
so no value is ever rounded. A base module of the mapping package: imports nothing of destkit.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# bytes.translate table: every ASCII digit becomes b"0", every other byte b" " (a UTF-8 sequence holds no
# byte of an ASCII digit, so a run of 19 zeros after it is a run of 19 digits in the text)
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_RUN = b"0" * 19  # the fewest digits an integer orjson reads as a float has


def loads_exact(text: str | bytes) -> Any:
    """`text` parsed as JSON, as json reads it. Raises ValueError when it is not JSON (and RecursionError
    when json cannot follow its nesting)."""
    try:  # not contextlib.suppress: a context manager per cell was a third of a file run's cell cost
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    # a text under 19 characters holds no 19 digits (a CSV's tag list mostly): no walk
    return json.loads(text) if len(text) >= 19 and holds_big_float(parsed) else parsed


def may_hold_long_integer(raw: bytes) -> bool:
    """Whether `raw` holds 19 digits in a row, somewhere. A JSON text without them reads the same with orjson
    as with json. One C pass (bytes.translate, then a search): ~0.65 us a line of W1's JSON Lines here, about
    a quarter of reading the line, the price of never sending a rounded id (sampling every 6th byte first
    saved nothing: a line's other digits fill the samples)."""
    return _LONG_RUN in raw.translate(_DIGITS)


def exact_value(raw: bytes, value: Any) -> Any:
    """`value`, orjson's reading of the valid JSON `raw`, read again by json when it holds a float as large
    as an integer past 64 bits (nesting json cannot follow keeps orjson's reading)."""
    if not holds_big_float(value):
        return value
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return value


def holds_big_float(value: Any) -> bool:
    """Whether a parsed JSON value holds a float of 9.2e18 or more in size, at any depth: orjson reads an
    integer past 64 bits (2**63 and up) as such a float, where json keeps it whole.

    The top level is scanned in one loop (a cell is mostly flat); nested lists and objects are walked
    after it without recursion, since orjson reads nesting deeper than Python's recursion limit. The
    bound is a literal so that it is folded into the code (a name and its negation cost ~40% more)."""
    cls = value.__class__
    if cls is dict:
        value = value.values()
    elif cls is not list:
        return cls is float and not -9.2e18 < value < 9.2e18
    nested: list[Any] | None = None
    for item in value:
        cls = item.__class__
        if cls is float:
            if not -9.2e18 < item < 9.2e18:
                return True
        elif cls is dict or cls is list:
            if nested is None:
                nested = []
            nested.append(item)
    return nested is not None and _big_float_nested(nested)


def _big_float_nested(pending: list[Any]) -> bool:
    """`holds_big_float` for nested lists and objects, walked with a stack of its own."""
    while pending:
        container = pending.pop()
        for item in container.values() if container.__class__ is dict else container:
            cls = item.__class__
            if cls is float:
                if not -9.2e18 < item < 9.2e18:
                    return True
            elif cls is dict or cls is list:
                pending.append(item)
    return False


__all__ = ["exact_value", "holds_big_float", "loads_exact", "may_hold_long_integer"]
