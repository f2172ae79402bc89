"""Read per-record results out of a destination's answer, as the spec's `response:` says."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jmespath

from destkit.runtime.spec.models import KeyMatch, ResponseSpec


@dataclass(slots=True)
class ItemResult:
    ok: bool
    destination_id: str | None = None
    code: str | None = None
    message: str | None = None
    retryable: bool = False
    note: str | None = None


_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[-?[0-9]+\])*")
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


class ResponseReader:
    """Compiled once per action: JMESPath expressions and the ok rule."""

    def __init__(self, spec: ResponseSpec) -> None:
        self.spec = spec
        self._results = compile_path(spec.results) if spec.results else None
        self._code = compile_path(spec.error.code) if spec.error.code else None
        self._message = compile_path(spec.error.message) if spec.error.message else None
        self._id = compile_path(spec.id) if spec.id else None
        self._note = compile_path(spec.note) if spec.note else None
        self._accept = (compile_path(spec.accept.field), frozenset(map(str, spec.accept.in_))) if spec.accept else None
        self._request_code = compile_path(spec.request_error.code) if spec.request_error and spec.request_error.code else None
        self._request_message = (compile_path(spec.request_error.message)
                                 if spec.request_error and spec.request_error.message else None)

        self._ok_field = spec.ok.field if spec.ok else None
        self._ok_raw = frozenset(v for v in spec.ok.in_ if isinstance(v, str | int)) if spec.ok else frozenset()
        self._ok_strings = frozenset(map(str, spec.ok.in_)) if spec.ok else frozenset()
        self._retry_codes = frozenset(spec.retry_codes)

    def request_error(self, data: Any) -> tuple[str | None, str | None] | None:
        """(code, message) of a whole-request error by the spec's paths, or None to use the defaults."""
        if self._request_code is None and self._request_message is None:
            return None
        code = self._request_code(data) if self._request_code else None
        message = self._request_message(data) if self._request_message else None
        return (None if code is None else str(code), None if message is None else str(message))

    def item_error(self, data: Any) -> tuple[str | None, str | None] | None:
        """The action's per-record error paths applied to a whole answer (single-record endpoints)."""
        if self._code is None and self._message is None:
            return None
        code = self._code(data) if self._code else None
        message = self._message(data) if self._message else None
        return (None if code is None else str(code), None if message is None else str(message))

    def _item(self, item: Any) -> ItemResult:
        ok = True
        if self._ok_field is not None:
            value = item.get(self._ok_field) if item.__class__ is dict else None
            ok = value in self._ok_raw or str(value) in self._ok_strings
        rid = self._id(item) if self._id else None
        if rid is not None and rid.__class__ is not str:
            rid = str(rid)
        if ok:  # the common case: positional arguments, no keyword parsing
            if self._note is None:
                return ItemResult(True, rid)
            note = self._note(item)
            return ItemResult(True, rid, None, None, False, None if note is None else str(note))
        code = self._code(item) if self._code else None
        message = self._message(item) if self._message else None
        code_text = None if code is None else str(code)
        return ItemResult(False, rid, code_text,
                          None if message is None else str(message), code_text in self._retry_codes)

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
        match = self.spec.match
        if isinstance(match, KeyMatch):
            return self._by_key(results, keys, match.key)
        if not isinstance(results, list):
            return f"no per-record result list at '{self.spec.results}'"
        if len(results) != len(keys):
            return f"{len(results)} per-record results for {len(keys)} records"
        return [self._item(item) for item in results]

    def _by_key(self, results: Any, keys: list[object], key_field: str) -> list[ItemResult] | str:
        """Results keyed by the record's key value: a mapping key → error, or a list of items with the key.

        A key absent from a mapping of errors is a success; one absent from a list is unreadable.
        """
        if results is None or results == []:
            results = {}  # nothing keyed: no record failed
        if isinstance(results, dict):
            wanted = {str(k) for k in keys}
            unmatched = [k for k in results if k not in wanted]
            if unmatched:
                # the destination may have normalised the key (e.g. lower-cased an email): match case-insensitively,
                # and never let an error we cannot place pass as a success
                folded = {str(k).casefold(): str(k) for k in keys}
                remapped = {}
                for k, v in results.items():
                    target = k if k in wanted else folded.get(str(k).casefold())
                    if target is None:
                        return f"an error for key {k!r}, which no record in the batch has"
                    remapped[target] = v
                results = remapped
            out = []
            for k in keys:
                err = results.get(str(k))
                if err is None:
                    out.append(ItemResult(True))
                elif isinstance(err, dict) and err and not self._code:
                    code, message = next(iter(err.items()))
                    out.append(ItemResult(False, None, str(code), str(message)))
                else:
                    r = self._item(err)
                    out.append(r if not r.ok else ItemResult(False, None, None, str(err)))
            return out
        if isinstance(results, list):
            by_key = {str(item.get(key_field)): item for item in results if isinstance(item, dict)}
            out = []
            for k in keys:
                item = by_key.get(str(k))
                if item is None:
                    return f"no result for key {k!r}"
                out.append(self._item(item))
            return out
        return f"the results at '{self.spec.results}' are neither a list nor a mapping"
