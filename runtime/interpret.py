"""Read per-record results out of a destination's answer, as the spec's `response:` says."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jmespath

from destkit.runtime.spec import KeyMatch, ResponseSpec


@dataclass(slots=True)
class ItemResult:
    ok: bool
    destination_id: str | None = None
    code: str | None = None
    message: str | None = None
    retryable: bool = False


class ResponseReader:
    """Compiled once per action: JMESPath expressions and the ok rule."""

    def __init__(self, spec: ResponseSpec) -> None:
        self.spec = spec
        self._results = jmespath.compile(spec.results) if spec.results else None
        self._code = jmespath.compile(spec.error.code) if spec.error.code else None
        self._message = jmespath.compile(spec.error.message) if spec.error.message else None
        self._id = jmespath.compile(spec.id) if spec.id else None
        self._ok_values = set(map(str, spec.ok.in_)) if spec.ok else None
        self._retry_codes = frozenset(spec.retry_codes)

    def _item(self, item: Any) -> ItemResult:
        ok = True
        if self.spec.ok is not None:
            value = item.get(self.spec.ok.field) if isinstance(item, dict) else None
            ok = str(value) in (self._ok_values or set())
        rid = self._id.search(item) if self._id else None
        if ok:
            return ItemResult(True, None if rid is None else str(rid))
        code = self._code.search(item) if self._code else None
        message = self._message.search(item) if self._message else None
        code_text = None if code is None else str(code)
        return ItemResult(False, None if rid is None else str(rid), code_text,
                          None if message is None else str(message), code_text in self._retry_codes)

    def read(self, data: Any, keys: list[object]) -> list[ItemResult] | str:
        """One ItemResult per record in batch order, or a string saying why the answer is unreadable."""
        if self._results is None:
            if len(keys) != 1:
                return "the spec reads no per-record results, but the batch had several records"
            return [self._item(data)]
        results = self._results.search(data)
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
        if results is None:
            results = {}
        if isinstance(results, dict):
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
