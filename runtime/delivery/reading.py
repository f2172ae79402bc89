"""Read per-record results out of a destination's answer, as the spec's `response:` says."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

import jmespath
import orjson

from destkit.runtime.delivery.clipping import answer_text
from destkit.runtime.spec.body_template import field_path
from destkit.runtime.spec.models import FieldMatch, IndexMatch, KeyMatch, RequestSpec, ResultsSpec


@dataclass(slots=True)
class ItemResult:
    ok: bool
    destination_id: str | None = None
    code: str | None = None
    message: str | None = None
    retryable: bool = False
    note: str | None = None
    unexpected: str | None = None  # why this record's result says neither success nor failure (e.g. an unknown status)


_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[-?[0-9]+\])*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(-?[0-9]+)\]")


def compile_path(expression: str) -> Callable[[Any], Any]:
    """A JMESPath expression as a function; plain paths (`id`, `errors[0].code`) skip the interpreter.

    These run once per record in every answer, where jmespath's visitor costs several microseconds.
    """
    if not _SIMPLE.fullmatch(expression):
        return jmespath.compile(expression).search
    steps: list[str | int] = [name if name else int(index) for name, index in _STEP.findall(expression)]

    def get(data: Any) -> Any:
        for step in steps:
            if isinstance(step, str):
                if not isinstance(data, dict):
                    return None
                data = data.get(step)
            else:
                if not isinstance(data, list) or not -len(data) <= step < len(data):
                    return None
                data = data[step]
        return data

    return get


class _Values:
    """A spec's list of values, matched as given (a string, a number) or by their text."""

    __slots__ = ("raw", "text")

    def __init__(self, values: list[Any]) -> None:
        self.raw = frozenset(v for v in values if isinstance(v, str | int))
        self.text = frozenset(map(str, values))

    def __contains__(self, value: object) -> bool:
        try:
            if value in self.raw:
                return True
        except TypeError:  # unhashable (a list or an object where a status was expected): compare its text
            pass
        return str(value) in self.text


def _path_or_none(expression: str | None) -> Callable[[Any], Any] | None:
    return compile_path(expression) if expression else None


class ResponseReader:
    """The default `ResultReader`: compiled once per action from the spec's `response:` (paths and the ok rule)."""

    def __init__(self, spec: ResultsSpec) -> None:
        self.spec = spec
        self._results = _path_or_none(spec.results)
        self._code = _path_or_none(spec.error.code)
        self._message = _path_or_none(spec.error.message)
        self._id = _path_or_none(spec.id)
        self._note = _path_or_none(spec.note)
        self._accept = (compile_path(spec.accept.field), frozenset(map(str, spec.accept.in_))) if spec.accept else None
        self._ok_field = spec.ok.field if spec.ok else None
        self._ok = _Values(spec.ok.in_ if spec.ok else [])
        self._failed = _Values(spec.ok.failed) if spec.ok and spec.ok.failed is not None else None
        self._retry_codes = frozenset(spec.retry_codes)
        self._only_failures = spec.only == "failures"
        self._owner = _owner_reader(spec.match)
        # a plain `id: name` is read with one dict.get: it runs once per record of every answer
        self._id_key = spec.id if spec.id and _NAME.fullmatch(spec.id) else None

    def _item(self, item: Any) -> ItemResult:
        rid = self._rid(item)
        if self._ok_field is not None:
            value = item.get(self._ok_field) if item.__class__ is dict else None
            if not (value.__class__ is str and value in self._ok.raw) and value not in self._ok:
                return self._not_ok(item, rid, value)
        # the common case: positional arguments, no keyword parsing
        if self._note is None:
            return ItemResult(True, rid)
        note = self._note(item)
        return ItemResult(True, rid, None, None, False, answer_text(note))

    def _rid(self, item: Any) -> str | None:
        if self._id_key is not None:
            rid = item.get(self._id_key) if item.__class__ is dict else None
        else:
            rid = self._id(item) if self._id else None
        return _as_id(rid)

    def _not_ok(self, item: Any, rid: str | None, value: Any) -> ItemResult:
        """A refusal with the destination's code and message, or, for a value the spec does not list, unexpected."""
        if self._failed is not None and value not in self._failed:
            return ItemResult(False, rid, unexpected=self._neither(value))
        return self._refusal(item, rid)

    def _refusal(self, item: Any, rid: str | None) -> ItemResult:
        """The record was refused: the destination's code and message, retryable when the code is transient."""
        code = answer_text(self._code(item)) if self._code else None
        message = answer_text(self._message(item)) if self._message else None
        return ItemResult(False, rid, code, message, code in self._retry_codes)

    def _neither(self, value: Any) -> str:
        ok = self.spec.ok
        assert ok is not None and ok.failed is not None
        return (f"{ok.field} is {value!r}, which the spec lists neither as a success ({', '.join(map(str, ok.in_))}) "
                f"nor as a failure ({', '.join(map(str, ok.failed))})")

    def read(self, data: Any, keys: list[object]) -> list[ItemResult] | str:
        """One ItemResult per record in batch order, or a string saying why the answer is unreadable."""
        if self._results is None:
            # no per-record results: the answer (its status, and the ok rule if any) applies to every record
            return [self._item(data if data is not None else {})] * len(keys)
        if self._accept is not None:
            value = self._accept[0](data)
            if str(value) not in self._accept[1]:
                return f"the answer's {self.spec.accept.field if self.spec.accept else ''} is {value!r}, not one of the accepted values"
        results = self._results(data)
        if self._owner is not None:
            return self._by_owner(results, keys)
        if not isinstance(results, list):
            return f"no per-record result list at '{self.spec.results}'"
        if len(results) != len(keys):
            return f"{len(results)} per-record results for {len(keys)} records"
        return [self._item(item) for item in results]

    def failures(self, data: Any, keys: list[object]) -> list[tuple[int, ItemResult]] | str:
        """Like `read`, but only the results that are no success, each with its batch position: for a run
        that needs no outcome object per delivered record (nothing records or watches them).

        The common answer (a list of objects, each with a listed value in the ok field) is checked in one
        C pass; one with a failure is read item by item; any other shape takes `read`."""
        results = self._plain_items(data, keys)
        if results is None:
            return _failures_in(self.read(data, keys))  # also says why an answer is unreadable
        ok_field, ok = self._ok_field, self._ok.raw
        assert ok_field is not None  # `_plain_items` returns items only under an ok rule
        if _all_listed(results, ok_field, ok):
            return []
        found: list[tuple[int, ItemResult]] = []
        for i, item in enumerate(results):
            if item.__class__ is dict and (value := item.get(ok_field)).__class__ is str and value in ok:
                continue
            result = self._item(item)
            if not result.ok:
                found.append((i, result))
        return found

    def delivered_ids(self, data: Any, keys: list[object]) -> list[str | None] | None:
        """Every record's destination id, when the answer is the common one (a list of objects, each with a
        listed value in the ok field) and says nothing more per record (no note); None: take `read`.

        For a run that builds an outcome per delivered record (a state store records it): the ids come
        out in one C pass each, with no ItemResult per record."""
        if self._note is not None or (self._id is not None and self._id_key is None):
            return None
        results = self._plain_items(data, keys)
        if results is None or self._ok_field is None or not _all_listed(results, self._ok_field, self._ok.raw):
            return None
        if self._id_key is None:
            return [None] * len(results)
        ids: list[Any] = list(map(dict.get, results, repeat(self._id_key)))  # each item is an object (`_all_listed`)
        kinds = set(map(type, ids))  # told by C loops: this runs for every delivered batch
        if not kinds <= _TEXT_OR_NONE or (str in kinds and max(map(len, filter(None, ids)), default=0) > MAX_ID_CHARS):
            ids = list(map(_as_id, ids))  # as `_rid` reads them: a number's text, no over-long id
        return ids

    def _plain_items(self, data: Any, keys: list[object]) -> list[Any] | None:
        """The answer's result items, one per record in batch order, when an ok rule alone says which
        succeeded (no accept rule, no item naming its record); None: the answer takes `read`."""
        if self._results is None or self._accept is not None or self._owner is not None or self._ok_field is None:
            return None
        results = self._results(data)
        return results if isinstance(results, list) and len(results) == len(keys) else None

    def _by_owner(self, results: Any, keys: list[object]) -> list[ItemResult] | str:
        """Results that each name their record (by key or position): a list of items, or a mapping key → error."""
        by_key = isinstance(self.spec.match, KeyMatch | FieldMatch)
        if results is None or results == []:
            # nothing listed: no record failed (keyed errors, or only failures); else every record's result is missing
            results = {} if by_key else []
        if isinstance(results, dict) and by_key:
            return self._from_error_mapping(results, keys)
        if isinstance(results, list):
            return self._from_owned_items(results, keys)
        return f"the results at '{self.spec.results}' are {_kind(results)}, not a list"

    def _from_error_mapping(self, errors: dict[str, Any], keys: list[object]) -> list[ItemResult] | str:
        """A mapping key → error: a key absent from it is a success."""
        placed = place_errors(errors, keys)
        if isinstance(placed, str):
            return placed
        return [self._keyed_error(placed.get(str(k))) for k in keys]

    def _keyed_error(self, error: Any) -> ItemResult:
        """One record's entry in a mapping of errors: none, {code: message}, or an item the error paths read."""
        if error is None:
            return ItemResult(True)
        if isinstance(error, dict) and error and not self._code:
            code, message = next(iter(error.items()))
            return ItemResult(False, None, str(code), answer_text(message))
        result = self._item(error)
        # an entry in the errors mapping is a failure even when the ok rule would pass it
        return result if not result.ok else ItemResult(False, None, None, answer_text(error))

    def _from_owned_items(self, items: list[Any], keys: list[object]) -> list[ItemResult] | str:
        """A list of result items naming their record: each record reads its own item.

        Listing every record, a record without its item is unreadable; listing only failures, it was
        delivered, and a failure that names no record of the batch is unreadable (never a success).
        """
        assert self._owner is not None
        owned = self._owner.place(items, keys, strict=self._only_failures)
        if isinstance(owned, str):
            return owned
        out = []
        for position, key in enumerate(keys):
            item = owned.get(position)
            if item is not None:
                out.append(self._refusal(item, self._rid(item)) if self._only_failures else self._item(item))
            elif self._only_failures:
                out.append(ItemResult(True))
            else:
                return f"no result for key {key!r}"
        return out


_TEXT_OR_NONE = frozenset({str, type(None)})
# an id is a handle: a longer one is no id (each record's outcome kept its own copy: 1 MB "ids" for 20
# records made a 20 MB state store), and an id cut short would name another record
MAX_ID_CHARS = 1_024


def _as_id(rid: Any) -> str | None:
    """A destination id as text (a number's digits); None for none, or one over `MAX_ID_CHARS`."""
    text = rid if rid is None or rid.__class__ is str else str(rid)
    return None if text is None or len(text) > MAX_ID_CHARS else text


def _all_listed(items: list[Any], field: str, ok: frozenset[object]) -> bool:
    """Whether every item is an object whose `field` is one of the `ok` values: the common answer, checked
    in C (one set of the values) rather than item by item; False means "look at each item".

    Of the values JSON decodes to, only an object takes a string subscript: any other item raises here,
    as does an object without the field or with an unhashable value there (each then read on its own)."""
    try:
        values = set(map(itemgetter(field), items))
    except (KeyError, TypeError):
        return False
    return values <= ok


def _failures_in(results: list[ItemResult] | str) -> list[tuple[int, ItemResult]] | str:
    return results if isinstance(results, str) else [(i, r) for i, r in enumerate(results) if not r.ok]


def _kind(value: Any) -> str:
    return "a mapping" if isinstance(value, dict) else f"a {type(value).__name__}"


class _ByKey:
    """Places result items by the key value they carry (case-folded where the destination folds case).

    With `match: {field: ...}` the "keys" are the values of that field, read from the records' bodies.
    """

    def __init__(self, match: KeyMatch | FieldMatch) -> None:
        key = match.key if isinstance(match, KeyMatch) else match.field
        self._carried: Callable[[Any], Any] = compile_path(match.result) if match.result else lambda item: item.get(key)
        self._fold: Callable[[str], str] = str.casefold if match.case == "insensitive" else str

    def place(self, items: list[Any], keys: list[object], *, strict: bool) -> dict[int, Any] | str:
        """Batch position → its item; with `strict`, an item whose key no record has makes the answer unreadable."""
        positions: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            positions.setdefault(self._fold(str(k)), []).append(i)
        owned: dict[int, Any] = {}
        for item in items:
            carried = self._carried(item) if isinstance(item, dict) else None
            mine = positions.get(self._fold(str(carried)))
            if mine is None:
                if strict:
                    return f"a result for key {carried!r}, which no record in the batch has"
                continue
            for i in mine:
                owned.setdefault(i, item)  # the first result for a key is its record's
        return owned


class _ByIndex:
    """Places result items by the 0-based batch position they name."""

    def __init__(self, match: IndexMatch) -> None:
        self._index = compile_path(match.index)
        self._path = match.index

    def place(self, items: list[Any], keys: list[object], *, strict: bool) -> dict[int, Any] | str:
        """Batch position → its item; a position outside the batch makes the answer unreadable."""
        owned: dict[int, Any] = {}
        for item in items:
            value = self._index(item) if isinstance(item, dict) else None
            position = _position(value)
            if position is None or not 0 <= position < len(keys):
                return f"a result whose {self._path} is {value!r}, which is no record's position in the batch"
            owned.setdefault(position, item)
        return owned


def _position(value: Any) -> int | None:
    """A position given as a number or as its digits; anything else (a bool, a float, text) is none."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    # ASCII digits only, and few: "²" is a digit to str.isdigit but not to int(), and int() refuses
    # text over 4,300 digits; each raised out of the reader (a "connection_error" for the batch)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _owner_reader(match: KeyMatch | IndexMatch | FieldMatch | str) -> _ByKey | _ByIndex | None:
    if isinstance(match, KeyMatch | FieldMatch):
        return _ByKey(match)
    if isinstance(match, IndexMatch):
        return _ByIndex(match)
    return None


MatchValue = Callable[[bytes], object]
"""A record's value to match results on, read from its serialized body."""


def match_value_reader(response: ResultsSpec, request: RequestSpec) -> MatchValue | None:
    """With `match: {field: ...}`: a function reading that field's value from a record's body (case-folded when
    the match is case-insensitive), so results can be matched and batches kept free of duplicates; else None."""
    match = response.match
    if not isinstance(match, FieldMatch):
        return None
    path = field_path(request.record, match.field)
    if path is None:  # the loader refuses this spec; a hand-built one reads no value
        raise ValueError(f"${match.field} is not a plain value of the record template")
    fold = match.case == "insensitive"

    def value(part: bytes) -> object:
        node: Any = orjson.loads(part)
        for step in path:
            node = node[step]
        if fold:
            return str(node).casefold()
        return node if isinstance(node, str | int | float | bool) else orjson.dumps(node)  # hashable

    return value


def place_errors(errors: dict[str, Any], keys: list[object]) -> dict[str, Any] | str:
    """The errors re-keyed by the batch's own key values, or why one of them belongs to no record.

    The destination may have normalised a key (e.g. lower-cased an email): unmatched keys are matched
    case-insensitively, and an error we cannot place never passes as a success.
    """
    wanted = {str(k) for k in keys}
    if all(k in wanted for k in errors):
        return errors
    folded = {str(k).casefold(): str(k) for k in keys}
    remapped: dict[str, Any] = {}
    for k, v in errors.items():
        target = k if k in wanted else folded.get(str(k).casefold())
        if target is None:
            return f"an error for key {k!r}, which no record in the batch has"
        remapped[target] = v
    return remapped
