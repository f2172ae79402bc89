"""Record sources: CSV and JSON Lines files, streamed; and the columns an input offers a mapping.

A line that cannot be read (broken JSON, wrong column count, bad encoding) becomes a `Malformed`
item in the stream, which the run turns into an `invalid` outcome naming the line; it never stops
the run.
"""

from __future__ import annotations

import csv
import itertools
import operator
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from destkit.mapping.json_exact import exact_value, may_hold_long_integer
from destkit.runtime.config.source_paths import Columns
from destkit.runtime.engine.arrow_convert import dict_maker
from destkit.runtime.engine.arrow_records import ARROW_FORMATS, arrow_file_columns, reachable, read_arrow_file
from destkit.runtime.engine.input_files import (
    GzipText,
    LineBlocks,
    TextLines,
    cut_short,
    format_suffix,
    open_text,
)
from destkit.runtime.engine.input_files import line_blocks as line_blocks
from destkit.runtime.engine.items import Item as Item
from destkit.runtime.engine.items import ItemSource
from destkit.runtime.engine.items import Malformed as Malformed

MAX_LINE_BYTES = 8_000_000  # one JSON Lines line
MAX_FIELD_CHARS = 1_000_000  # one CSV cell
MAX_LINE_CHARS = 8_000_000  # one physical CSV line
MAX_RECORD_CHARS = 8_000_000  # one CSV record whose quoted cells span lines
MAX_RECORD_LINES = 1000  # ... and the lines it may span


class JsonLines(ItemSource):
    """`read_jsonl`'s items; it also names its file and its line limit, so a run over worker processes can hand
    out the raw lines and let each worker parse its own (`jsonl_item`).

    Lines are parsed a block at a time (one C loop), and the records handed on by a C iterator
    (`chain.from_iterable`): the run's loop takes them with no Python frame per record."""

    def __init__(self, path: str | Path, max_line_bytes: int) -> None:
        self.path = Path(path)
        self.max_line_bytes = max_line_bytes
        self._items: Iterator[Item] = itertools.chain.from_iterable(_jsonl_blocks(self.path, max_line_bytes))
        self._on_read: Callable[[], None] | None = None

    def when_read(self, callback: Callable[[], None]) -> JsonLines:
        """Call `callback` once the whole file is read: iterated to its end, or routed raw by a run over workers."""
        self._on_read = callback
        self._items = itertools.chain(self._items, _calling(self.read_to_end))
        return self

    def read_to_end(self) -> None:
        """The file was read to its end (`when_read`'s callback, once)."""
        callback, self._on_read = self._on_read, None
        if callback is not None:
            callback()

    def __iter__(self) -> Iterator[Item]:
        return self._items  # a `for` loop runs the C iterator itself: nothing added per item

    def __next__(self) -> Item:
        return next(self._items)


def _calling(callback: Callable[[], None]) -> Iterator[Item]:
    callback()
    yield from ()


def jsonl_item(lineno: int, raw: bytes | None, max_line_bytes: int) -> Item | None:
    """A raw line's item, as `read_jsonl` yields it (None: a blank line, no item)."""
    if raw is not None:
        try:
            value = orjson.loads(raw)  # an object, the line end being JSON whitespace
        except orjson.JSONDecodeError:
            value = None
        if type(value) is dict:
            return exact_value(raw, value) if may_hold_long_integer(raw) else value
    return _jsonl_line(lineno, raw, max_line_bytes)


def read_jsonl(path: str | Path, max_line_bytes: int = MAX_LINE_BYTES) -> JsonLines:
    """The objects of a JSON Lines file, streamed; a line that is not one is a `Malformed` naming it."""
    return JsonLines(path, max_line_bytes)


def _jsonl_blocks(path: Path, max_line_bytes: int) -> Iterator[list[Item]]:
    """The items of a JSON Lines file, a block of lines at a time."""
    lineno = 0  # the line before the block
    blocks = LineBlocks(path, max_line_bytes)
    for text, lines in blocks:
        yield _block_objects(text, lines) or _line_items(lineno, lines, max_line_bytes)
        lineno += len(lines)
    if blocks.error is not None:  # a compressed file cut short: its last, partial line is never read
        yield [cut_short(path, lineno + 1, blocks.error)]


def _block_objects(text: bytes | None, lines: list[bytes | None]) -> list[Item] | None:
    """The block's lines as objects, when every line is one (the common case); else None. `text`: the lines
    joined, searched once for an integer orjson would round (a line that holds one is read again exactly)."""
    try:
        values = list(map(orjson.loads, lines))  # type: ignore[arg-type]  # None is refused, as a bad line
    except (orjson.JSONDecodeError, TypeError):
        return None
    if len(set(map(type, values))) != 1 or type(values[0]) is not dict:
        return None
    if may_hold_long_integer(text if text is not None else b"\n".join(lines)):  # type: ignore[arg-type]
        values = [exact_value(raw, value) if raw is not None and may_hold_long_integer(raw) else value
                  for raw, value in zip(lines, values, strict=True)]
    return values


def _line_items(before: int, lines: list[bytes | None], max_line_bytes: int) -> list[Item]:
    """The items of a block that holds a line that is not simply an object, line by line."""
    items = (jsonl_item(lineno, raw, max_line_bytes) for lineno, raw in enumerate(lines, before + 1))
    return [item for item in items if item is not None]


def _jsonl_line(lineno: int, raw: bytes | None, max_line_bytes: int) -> Item | None:
    """A line that is not simply an object: over-long, blank (None), not JSON, not an object, or an
    object with whitespace around it that JSON does not allow (a form feed) but a file may hold."""
    if raw is None:
        return Malformed(lineno, f"line {lineno} is over {max_line_bytes:,} bytes; split or trim the record.")
    line = raw.strip()
    if not line:
        return None
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Malformed(lineno, f"line {lineno} is not valid JSON ({exc.args[0].split(':')[0]}); fix or remove the line.")
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), type(value).__name__)
        return Malformed(lineno, f"line {lineno} is a JSON {kind}, not an object of fields; write one object per line.")
    return exact_value(line, value) if may_hold_long_integer(line) else value


# what JSON calls the value a line holds (Python's names, `NoneType`, mean nothing to whoever wrote the file)
_JSON_KINDS = {type(None): "null", str: "string", int: "number", float: "number", bool: "true or false",
               list: "array"}


# what errors="surrogateescape" decodes a byte that is not UTF-8 to
_SURROGATE = re.compile("[\udc80-\udcff]")


def _has_surrogates(values: list[str]) -> bool:
    return any(_SURROGATE.search(v) for v in values if v)


def _to_mend(row: list[str], width: int) -> bool:
    """True if a parsed row cannot be a record as it is: not `width` cells, or an empty cell."""
    return len(row) != width or "" in row


def _parse_line(text: str, delimiter: str) -> list[str]:
    return next(csv.reader([text], delimiter=delimiter, strict=True))


def _odd_quotes(text: str) -> bool:
    """True if `text` leaves a quoted cell open (or closes one left open): it has an odd number of quotes."""
    return text.count('"') % 2 == 1


@dataclass(frozen=True, slots=True)
class _Overlong:
    """A physical line over the line limit, skipped unread; `odd` says if its quotes leave a cell open."""

    odd: bool


class _Lines:
    """Numbered physical lines of a text file, at most `limit` characters each held, with push-back."""

    def __init__(self, fh: TextLines, limit: int) -> None:
        self._readline = fh.readline
        self._limit = limit
        self.number = 0
        self._pending: list[tuple[int, str | _Overlong]] = []

    def next(self) -> tuple[int, str | _Overlong] | None:
        if self._pending:
            return self._pending.pop()
        text = self._readline(self._limit + 1)
        if not text:
            return None
        self.number += 1
        if len(text) > self._limit and text[-1] not in "\r\n":
            return self.number, self._skip_rest(text)
        return self.number, text

    def plain_block(self, size: int) -> tuple[list[str], tuple[int, str | _Overlong] | None]:
        """Up to `size` next lines that each read as one record on their own (not blank, within the
        limit, an even number of quotes), and the line that ended the block early, if one did.

        A block shorter than `size` with no such line ends at the end of the file.
        """
        if self._pending:
            return [], self.next()
        readline, limit = self._readline, self._limit
        block: list[str] = []
        append = block.append
        for _ in range(size):
            text = readline(limit + 1)
            if not text:
                break
            if text.count('"') & 1 or len(text) > limit or text.isspace():
                self.number += len(block) + 1
                if len(text) > limit and text[-1] not in "\r\n":
                    return block, (self.number, self._skip_rest(text))
                return block, (self.number, text)
            append(text)
        self.number += len(block)
        return block, None

    def _skip_rest(self, head: str) -> _Overlong:
        quotes = head.count('"')
        while True:
            chunk = self._readline(1 << 20)
            quotes += chunk.count('"')
            if not chunk or chunk.endswith(("\n", "\r")):
                return _Overlong(quotes % 2 == 1)

    def push_back(self, lines: list[tuple[int, str | _Overlong]]) -> None:
        """`lines` are read again, in order, before any new line."""
        self._pending.extend(reversed(lines))


@dataclass(frozen=True, slots=True)
class CsvLimits:
    """How much of a CSV file is held at once: one cell, one physical line, one record across lines."""

    field_chars: int = MAX_FIELD_CHARS
    line_chars: int = MAX_LINE_CHARS
    record_chars: int = MAX_RECORD_CHARS
    record_lines: int = MAX_RECORD_LINES

    def __post_init__(self) -> None:
        if min(self.field_chars, self.line_chars, self.record_chars, self.record_lines) < 1:
            raise ValueError("CSV limits must be positive")


class _CsvReader:
    """The records of one CSV file (see `read_csv`)."""

    BLOCK_LINES = 512  # plain lines parsed together: enough to amortise the per-block work, little to hold

    def __init__(self, fh: TextLines, delimiter: str, limits: CsvLimits) -> None:
        self.lines = _Lines(fh, limits.line_chars)
        self.delimiter = delimiter
        self.limits = limits
        self.header: list[str] = []
        self.make_record: Callable[..., dict[str, Any]] = dict  # a row of the header's width as its record

    def items(self) -> Iterator[Item]:
        return itertools.chain.from_iterable(self.blocks())

    def blocks(self) -> Iterator[list[Item]]:
        """The items a block of lines at a time (a C iterator over them hands each on: no frame per record)."""
        if (problem := self._read_header()) is not None:
            yield [problem]
            return
        while True:
            # the common case in bulk: lines that are one record each, parsed by one csv.reader
            block, stop = self.lines.plain_block(self.BLOCK_LINES)
            if block:
                yield self._block_items(self.lines.number - len(block) - (stop is not None) + 1, block)
            if stop is None:
                if len(block) < self.BLOCK_LINES:
                    return  # the end of the file
                continue
            yield list(self._line_items(*stop))

    def _line_items(self, start: int, text: str | _Overlong) -> Iterator[Item]:
        """The record starting on one line that is not plain: over-long, opening a quote, blank."""
        if type(text) is not str:
            yield self._overlong(start)
        elif _odd_quotes(text):
            yield from self._multi_line(start, text)
        elif not text.isspace():
            row, error = self._parse(text)
            yield self._item(start, row, error)

    def _block_items(self, start: int, block: list[str]) -> list[Item]:
        """The records of consecutive plain lines numbered from `start`."""
        joined = "".join(block)
        if not joined.isascii():
            if _SURROGATE.search(joined):
                return self._each_line(start, block)  # undecodable bytes: which lines, each says
            if "\ufeff" in joined:  # a byte-order mark opening a line: files joined together (`cat a.csv b.csv`)
                block = [text[1:] if text.startswith("\ufeff") else text for text in block]
        try:
            rows = list(csv.reader(block, delimiter=self.delimiter, strict=True))
        except csv.Error:
            return self._each_line(start, block)  # one line is bad: each line on its own says which
        if len(rows) != len(block):
            # a quote inside an unquoted cell opened a quoted one at the line's end: read alone,
            # each line is its own record or its own problem
            return self._each_line(start, block)
        return self._rows_items(start, rows)

    def _each_line(self, start: int, block: list[str]) -> list[Item]:
        return [self._item(number, *self._parse(text)) for number, text in enumerate(block, start)]

    def _rows_items(self, start: int, rows: list[list[str]]) -> list[Item]:
        """The parsed one-line rows numbered from `start` as records, built by C loops (map, zip) and
        mended where a row is not the header's width or has empty cells (absent values)."""
        header, width = self.header, len(self.header)
        mend = map(operator.contains, rows, itertools.repeat(""))
        if any(map(operator.ne, map(len, rows), itertools.repeat(width))):  # rare: a row of another width
            items: list[Item] = list(map(dict, map(zip, itertools.repeat(header), rows)))
            mend = map(_to_mend, rows, itertools.repeat(width))
        else:  # every row the header's width: one presized dict literal per row (a third faster than dict(zip))
            items = list(itertools.starmap(self.make_record, rows))
        for i in itertools.compress(range(len(rows)), mend):
            row = rows[i]
            items[i] = self._item(start + i, row, None) if len(row) != width else {
                k: v for k, v in zip(header, row, strict=True) if v != ""}
        if header in rows:  # the header again (files joined together): not a record named "user_id"
            for i in itertools.compress(range(len(rows)), map(operator.eq, rows, itertools.repeat(header))):
                items[i] = Malformed(start + i, f"line {start + i} repeats the header (were files joined together?); "
                                                "remove the line.")
        return items

    def _read_header(self) -> Malformed | None:
        """Reads the header row; the problem if it cannot be read."""
        while (first := self.lines.next()) is not None:
            start, text = first
            if isinstance(text, _Overlong):
                return Malformed(start, f"the header line {start} is over {self.limits.line_chars:,} characters.")
            if text.strip():
                row, error = self._parse(text)
                if error or not row:
                    return Malformed(start, f"the header line {start} cannot be read ({error}).")
                self.header = row
                if self.header[0].startswith("\ufeff"):
                    self.header[0] = self.header[0][1:]
                self.make_record = dict_maker(tuple(self.header))
                return None
        return None

    def _parse(self, text: str) -> tuple[list[str], str | None]:
        try:
            return _parse_line(text, self.delimiter), None
        except csv.Error as exc:
            return [], str(exc)

    def _item(self, start: int, row: list[str], error: str | None) -> Item:
        """A parsed one-line record, or why it is malformed."""
        if error is not None:
            return Malformed(start, f"line {start} could not be read as CSV ({error}); check its quotes.")
        if len(row) != len(self.header):
            return Malformed(start, f"line {start} has {len(row)} columns, the header has {len(self.header)}; check delimiters and quotes.")
        if _has_surrogates(row):
            return Malformed(start, f"line {start} is not valid UTF-8; re-export the file as UTF-8.")
        return {k: v for k, v in zip(self.header, row, strict=True) if v != ""}

    def _overlong(self, start: int) -> Malformed:
        return Malformed(start, f"line {start} is over {self.limits.line_chars:,} characters; split or trim the record.")

    def _multi_line(self, start: int, text: str) -> Iterator[Item]:
        """A record whose quoted cell continues on the next lines (RFC 4180), held up to the limits."""
        consumed, size, still_open = self._gather(start, text)
        over_limits = size > self.limits.record_chars or (still_open and len(consumed) >= self.limits.record_lines)
        if over_limits and len(consumed) > 1:
            yield self._runaway(start, consumed, still_open)
            return
        if not still_open:
            row, error = self._parse("".join(t for _, t in consumed if isinstance(t, str)))
            if error is None and len(row) == len(self.header):
                yield self._item(start, row, None)
                return
        # an unclosed quote: only its own line is bad; the following lines are read again
        self.lines.push_back(consumed[1:])
        yield Malformed(start, f'line {start} has an unclosed quote; close it or escape it as "".')

    def _gather(self, start: int, text: str) -> tuple[list[tuple[int, str | _Overlong]], int, bool]:
        """The lines of the record starting at `start`, up to its closing quote or the limits: the
        lines, their size, and whether the quote is still open."""
        consumed: list[tuple[int, str | _Overlong]] = [(start, text)]
        size = len(text)
        while len(consumed) < self.limits.record_lines and size <= self.limits.record_chars:
            more = self.lines.next()
            if more is None:
                break
            consumed.append(more)
            line = more[1]
            if isinstance(line, _Overlong):  # the record cannot be held; its quotes still count
                return consumed, self.limits.record_chars + 1, not line.odd
            size += len(line)
            if _odd_quotes(line):
                return consumed, size, False
        return consumed, size, True

    def _runaway(self, start: int, consumed: list[tuple[int, str | _Overlong]], still_open: bool) -> Malformed:
        """A quote still open at the limits: a stray quote before ordinary rows, or a cell too big to hold."""
        if self._look_like_rows(consumed[1:]):
            self.lines.push_back(consumed[1:])
            return Malformed(start, f'line {start} has an unclosed quote; close it or escape it as "".')
        end = self._skip_to_closing_quote(consumed[-1][0]) if still_open else consumed[-1][0]
        if end is None:
            return Malformed(start, f"line {start} opens a quote that is still open at the end of the file, "
                                    f"{self.lines.number - start + 1} lines on; close it or escape it as \"\".")
        return Malformed(start, f"lines {start}-{end} are one record over the limit of {self.limits.record_lines:,} lines or "
                                f"{self.limits.record_chars:,} characters (a quoted cell with line breaks); "
                                "shorten it or check its quotes.")

    def _look_like_rows(self, lines: list[tuple[int, str | _Overlong]], sample: int = 20) -> bool:
        """True if most of the first lines after an open quote read, alone, as rows of the header's width."""
        texts = [t for _, t in lines[:sample] if isinstance(t, str) and t.strip()]
        rows = sum(1 for t in texts if not _odd_quotes(t) and len(self._parse(t)[0]) == len(self.header))
        return bool(texts) and rows * 2 > len(texts)

    def _skip_to_closing_quote(self, last: int) -> int | None:
        """Reads on, holding nothing, to the line that closes the open quote; its number, or None at the end."""
        while (more := self.lines.next()) is not None:
            number, line = more
            if (line.odd if isinstance(line, _Overlong) else _odd_quotes(line)):
                return number
        return None


def read_csv(path: str | Path, delimiter: str = ",", max_field_chars: int = MAX_FIELD_CHARS,
             max_record_lines: int = MAX_RECORD_LINES, *, max_record_chars: int = MAX_RECORD_CHARS,
             max_line_chars: int = MAX_LINE_CHARS) -> Iterator[Item]:
    """Header row gives the field names; empty cells are absent values.

    Quoted cells may span lines (RFC 4180). A record is only accepted if it parses to the header's
    column count, so an unclosed quote cannot swallow the rest of the file: its line alone becomes
    `Malformed` and reading resumes on the next line. No more than `max_line_chars` of a line and
    `max_record_chars` (or `max_record_lines` lines) of a record are held; a quoted cell that runs
    past them is one `Malformed` item, and reading resumes after its closing quote.
    """
    limits = CsvLimits(max_field_chars, max_line_chars, max_record_chars, max_record_lines)
    return itertools.chain.from_iterable(_csv_blocks(Path(path), delimiter, limits))


def _csv_blocks(path: Path, delimiter: str, limits: CsvLimits) -> Iterator[list[Item]]:
    """The items of a CSV file, a block at a time; the file is opened when the first is asked for."""
    csv.field_size_limit(limits.field_chars)
    with open_text(path) as fh:
        reader = _CsvReader(fh, delimiter, limits)
        yield from reader.blocks()
        if isinstance(fh, GzipText) and fh.error is not None:  # a compressed file cut short: the lines after
            yield [cut_short(path, reader.lines.number + 1, fh.error)]


_FORMATS = {".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def format_of(path: Path, fmt: str | None = None) -> str | None:
    """csv, tsv, jsonl, parquet or delta: `fmt` if given, else by extension (.csv, .tsv, .jsonl/.ndjson/.json,
    .parquet; the one before `.gz` for a compressed file) or, for a folder, delta if it holds `_delta_log/`,
    else parquet; None if unknown."""
    if fmt is None and path.is_dir():
        return "delta" if (path / "_delta_log").is_dir() else "parquet"
    return fmt or _FORMATS.get(format_suffix(path))


def read_records(path: str | Path, fmt: str | None = None, columns: Collection[str] | None = None) -> Iterator[Item]:
    """By extension (.csv, .jsonl/.ndjson/.json, .parquet) unless `fmt` says; a columnar input (Parquet, Delta)
    decodes only `columns` when given (`arrow_records.projection`)."""
    p = Path(path)
    kind = format_of(p, fmt)
    if kind == "csv":
        return read_csv(p)
    if kind == "tsv":
        return read_csv(p, "\t")
    if kind == "jsonl":
        return read_jsonl(p)
    if kind in ARROW_FORMATS:
        return read_arrow_file(p, kind, columns)
    raise ValueError(f"cannot tell the format of {p}; use .csv, .jsonl or .parquet, or pass --format")


# --- the columns an input offers a mapping ------------------------------------------------------------

SAMPLE_RECORDS = 100  # JSON records looked at for their fields: enough for a dense export, quick for any
MAX_SAMPLE_PATHS = 5000  # field paths kept from them (a record with huge nested lists stays cheap)
OTHER_DELIMITERS = (";", "\t", "|")


def read_columns(path: str | Path, fmt: str | None = None, sample: int = SAMPLE_RECORDS) -> Columns | None:
    """The header of a CSV/TSV file, or the field paths of the first `sample` JSON records; None if the
    format is unknown or the header cannot be read (reading the records reports that)."""
    p = Path(path)
    kind = format_of(p, fmt)
    if kind in ("csv", "tsv"):
        return csv_columns(p, "\t" if kind == "tsv" else ",")
    if kind == "jsonl":
        records = (item for item in read_jsonl(p) if not isinstance(item, Malformed))
        return record_columns(records, p.name, sample)
    if kind in ARROW_FORMATS:
        return arrow_file_columns(p, kind)
    return None


def csv_columns(path: Path, delimiter: str) -> Columns | None:
    """The header row's names; a header that is one column holding another delimiter names that delimiter."""
    csv.field_size_limit(MAX_FIELD_CHARS)
    with open_text(path) as fh:
        reader = _CsvReader(fh, delimiter, CsvLimits())
        if reader._read_header() is not None or not reader.header:
            return None
    header = reader.header
    other = next((d for d in OTHER_DELIMITERS if d != delimiter and d in header[0]), None) if len(header) == 1 else None
    # a name twice in the header: a record keeps only the last one's value, so a mapping may not read it
    duplicates = frozenset(name for name, n in Counter(header).items() if n > 1)
    return Columns(f"the header of {path.name}", frozenset(header), exhaustive=True, flat=True, delimiter=other,
                   header=header[0], duplicates=duplicates)


def record_columns(records: Iterable[dict[str, Any]], name: str, sample: int = SAMPLE_RECORDS) -> Columns:
    """The field paths (`a`, `a.b`, `a.0.c`) of the first `sample` records of `name` (an iterable of dicts)."""
    paths: set[str] = set()
    unreachable: set[str] = set()
    count = 0
    for record in itertools.islice(records, sample):  # no record past the sample is taken from an iterator
        count += 1
        _add_paths(record, "", paths, unreachable)
    exhaustive = count < sample  # every record was looked at
    origin = name if exhaustive else f"the first {count:,} records of {name}"
    if unreachable:  # the check's message says why a mapping cannot name them
        origin += (f" (whose {', '.join(map(repr, sorted(unreachable)[:3]))} no mapping can name, as a source path "
                   "splits on dots and brackets: rename the field)")
    return Columns(origin, frozenset(paths), exhaustive=exhaustive, flat=False)


def _add_paths(value: Any, prefix: str, paths: set[str], unreachable: set[str], depth: int = 0) -> None:
    """Every path into `value` (dict keys; the first item of a list as `.0`), up to a depth and a count; a key no
    path can reach (`name.first`: a path reads `name`, then `first`) goes to `unreachable` instead, with what
    lies under it, so a mapping naming it is refused rather than reading nothing from every record."""
    if depth > 8 or len(paths) >= MAX_SAMPLE_PATHS:
        return
    if isinstance(value, dict):
        for key, child in value.items():
            if not reachable(str(key)):
                unreachable.add(f"{prefix}.{key}" if prefix else str(key))
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.add(path)
            _add_paths(child, path, paths, unreachable, depth + 1)
    elif isinstance(value, list) and value and prefix:
        paths.add(f"{prefix}.0")
        _add_paths(value[0], f"{prefix}.0", paths, unreachable, depth + 1)
