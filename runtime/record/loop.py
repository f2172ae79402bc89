"""The fused batch loop: one generated generator per action that maps, checks, serializes and batches
record after record, and yields each full batch.

It runs the same generated statements as the per-record function (`compiler.py`), with the batcher's
`add` inlined, so the common record (a valid dict) costs no call beyond orjson's. Everything else is
handed to the `LoopHub` (the run's pipeline): an item that is not a dict, a refused record, a body over
the size limit, warnings. The batches it yields are exactly those `Batcher.add` would return.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from destkit.mapping.codegen import CodeGen
from destkit.mapping.paths import compile_path, split_path
from destkit.runtime.record.key_text import key_text


class LoopBatcher(Protocol):
    """What the loop needs of the batcher: its limits, the batch being filled, and `take`."""

    max_records: int

    @property
    def room(self) -> int: ...

    def current(self) -> tuple[Any, set[object]]: ...

    def take(self) -> Any: ...


class LoopHub(Protocol):
    """The run the loop feeds: it counts rows, and handles every record that is not the common case.

    Its handlers raise only errors that end the run (a `RunFailed`): an error of the input itself
    comes out of the loop unchanged."""

    rows_read: int
    max_record_bytes: int
    primary_keys: dict[int, str]  # written only by a loop that carries a primary key
    skip: Callable[[int], bool] | None  # read only by a loop that skips a resumed run's finished rows

    @property
    def batcher(self) -> LoopBatcher: ...

    def synced(self, row: int) -> None: ...

    def feed_other(self, record: Any) -> Any: ...

    def reject(self, row: int, record: Any, error: Exception) -> None: ...

    def too_large(self, row: int, key: Any, size: int) -> None: ...

    def warn(self, row: int, warnings: list[tuple[str, str, str]]) -> None: ...


@dataclass(frozen=True)
class LoopVariant:
    """What a run adds to the common loop: `primary_key`, the source path of options.primary_key whose
    value (as text) is stored for each dict record into `hub.primary_keys`; `skips`, a resumed run's
    `hub.skip(row)`, true for the rows finished before it (counted as read, not fed)."""

    primary_key: str | None = None
    skips: bool = False


@dataclass(frozen=True)
class BatchLoop:
    """`run(records, hub)` yields full batches; `dedupe`: it keeps two records with one key apart.

    `variant(...)` is the same loop with a run's additions (`LoopVariant`), compiled on first use: a run
    without them runs a loop without their statements."""

    run: Callable[[Iterable[Any], LoopHub], Generator[Any, None, None]]
    dedupe: bool
    source: str
    build: Callable[[LoopVariant], BatchLoop] | None = field(default=None, repr=False, compare=False)
    variants: dict[LoopVariant, BatchLoop] = field(default_factory=dict, repr=False, compare=False)

    def variant(self, wanted: LoopVariant) -> BatchLoop:
        if wanted == LoopVariant():
            return self
        loop = self.variants.get(wanted)
        if loop is None:
            assert self.build is not None, "a loop's variant has no further variant"
            loop = self.variants[wanted] = self.build(wanted)
        return loop


_LOOPS: weakref.WeakKeyDictionary[Callable[..., Any], BatchLoop] = weakref.WeakKeyDictionary()


def register_loop(process: Callable[..., Any], loop: BatchLoop) -> None:
    _LOOPS[process] = loop


def loop_of(process: Callable[..., Any]) -> BatchLoop | None:
    """The batch loop compiled with a record function (None: none was, e.g. a request per record)."""
    return _LOOPS.get(process)


# The batch being filled lives in locals; it is written back to the batcher before anything else may
# look at it (a yield, a handler) and read again after (a handler may have added to or taken it).
_RELOAD = """\
_batch, _seen = _current()
_rows, _keys, _parts = _batch.rows, _batch.keys, _batch.parts
_size = _batch.parts_bytes
_n = len(_rows)"""

_HEAD = """\
w = []
_maxpart = hub.max_record_bytes
_cap = hub.batcher.max_records
_room = hub.batcher.room
_current = hub.batcher.current
_take = hub.batcher.take
_row = hub.rows_read{pks}
{reload}
try:
    for s in records:
        _row += 1{skip}
        if s.__class__ is not dict:
            _batch.parts_bytes = _size
            hub.synced(_row - 1)
            _out = hub.feed_other(s)
{reload3}
            if _out is not None:
                yield _out
            continue
{primary_key}
        try:"""

# a resumed run: a row finished before it is read (the store's outcome counts for it) and not fed
_SKIP = """
        if _skip(_row):
            continue"""

# options.primary_key, as `key_text` writes it (a struct as JSON, bytes as hex, never a Python repr): a
# missing or empty value is no key; the common str key costs no call
_PRIMARY_KEY = """\
        _k = {read}
        if _k.__class__ is not str and _k is not None:
            _k = _key_text(_k)
        if _k:
            _pks[_row] = _k"""

_TAIL = """\
            _key = {key}
            _p = _dumps(b, None, _NL)
        except Exception as _e:
            _batch.parts_bytes = _size
            hub.synced(_row)
            hub.reject(_row, s, _e)
            w = []
            continue
        _len = len(_p) - 1  # the newline orjson appends is cut off below
        if _len > _maxpart:
            hub.synced(_row)
            hub.too_large(_row, _key, _len)
            w = []
            continue
        if w:
            hub.warn(_row, w)
            w = []
        # orjson hands back each result in a 4 KiB buffer: the slice without its newline is an
        # exact-size copy (one C call), which keeps a batch small and the allocator's heap steady
        _p = _p[:-1]
        _out = None
        if _n and (_n >= _cap or _size + _n + _len > _room{seen_test}):
            _batch.parts_bytes = _size
            _out = _take()
{reload3}
        _rows.append(_row)
        _keys.append(_key)
        _parts.append(_p)
        _size += _len
        _n += 1{seen_add}
        if _n >= _cap and _out is None:
            _batch.parts_bytes = _size
            _out = _take()
{reload3}
        if _out is not None:
            _batch.parts_bytes = _size
            hub.synced(_row)
            yield _out
finally:
    _batch.parts_bytes = _size
    hub.synced(_row)"""


def one_expression(text: str) -> bool:
    """Whether generated `text` is one bracketed whole: no bracket closes one it did not open (generated
    source holds no string literal, so every bracket is syntax)."""
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _indented(text: str, levels: int) -> list[str]:
    return ["    " * levels + line for line in text.splitlines()]


def _primary_key_statements(gen: CodeGen, path: str | None) -> str:
    """The loop's statements storing a dict record's primary key (none without one)."""
    if path is None:
        return ""
    gen.bind("_key_text", key_text)
    parts = split_path(path)
    # one segment (the common case) is read inline; a nested path through its getter
    read = f"s.get({gen.const(parts[0], 'pk')})" if len(parts) == 1 else f"{gen.const(compile_path(path), 'pk')}(s)"
    return _PRIMARY_KEY.format(read=read)


def _loop_head(gen: CodeGen, variant: LoopVariant, reload3: str) -> str:
    """The loop's set-up and the start of each record's turn, with the statements `variant` adds."""
    pk = variant.primary_key
    head = _HEAD.format(reload=_RELOAD, reload3=reload3, primary_key=_primary_key_statements(gen, pk),
                        pks="\n_pks = hub.primary_keys" if pk is not None else "",
                        skip=_SKIP if variant.skips else "")
    if pk is None:
        head = head.replace("\n\n        try:", "\n        try:")  # no blank line where the statements would go
    if variant.skips:
        head = head.replace("\n_row = hub.rows_read", "\n_skip = hub.skip\n_row = hub.rows_read")
    return head


def compile_loop(gen: CodeGen, body: list[str], key: str, *, dedupe: bool,
                 variant: LoopVariant = LoopVariant()) -> BatchLoop:
    """The loop over `body`, the record function's statements (they leave the record's body in `b`).

    `gen` is the CodeGen the record function was built in, so every name the statements use is bound;
    `variant`: a run's additions (see `BatchLoop.variant`)."""
    gen.bind("_dumps", orjson.dumps)
    gen.bind("_NL", orjson.OPT_APPEND_NEWLINE)
    reload3 = "\n".join(_indented(_RELOAD, 3))
    head = _loop_head(gen, variant, reload3)
    tail = _TAIL.format(key=key, reload3=reload3, seen_test=" or _key in _seen" if dedupe else "",
                        seen_add="\n        _seen.add(_key)" if dedupe else "")
    gen.lines = _indented(head, 1) + ["    " * 3 + line for line in body] + _indented(tail, 1)
    run, source = gen.build("_batch_loop", "records, hub", "<destkit batch loop>")
    if variant != LoopVariant():
        return BatchLoop(run, dedupe, source)

    def build(wanted: LoopVariant) -> BatchLoop:
        return compile_loop(gen, body, key, dedupe=dedupe, variant=wanted)

    return BatchLoop(run, dedupe, source, build)


__all__ = ["BatchLoop", "LoopHub", "LoopVariant", "compile_loop", "loop_of", "one_expression", "register_loop"]
