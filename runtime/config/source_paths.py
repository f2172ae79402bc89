"""The source paths a mapping reads, checked against the columns an input really has.

A misspelt source path (`first_name: frist_name`) reads nothing from every record: without this
check the run sends every record without a first name, or refuses thousands of them as "required
but empty" without ever naming the path. So before the first record is sent, every path the
mapping reads (`email`, `{path: attributes.tier}`, key by key inside an object field) is looked up
in the input's `Columns` (a CSV header, or the fields of the first JSON records) and an unknown one
is an issue with a did-you-mean over the real columns. Templates are not checked here: a missing
name in a template already fails each record with its name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from destkit.mapping.paths import split_path
from destkit.runtime.errors import Issue

# what a mapped source path that the input lacks is: a config error, or a warning (sparse JSON)
UnknownPathPolicy = Literal["error", "warn"]

# a delimiter a one-column CSV header may really be split on, and how to read such a file
DELIMITER_FIXES = {
    ";": "re-export the file comma-separated (destkit reads ',' in .csv files and tabs in .tsv files).",
    "\t": "pass --format tsv (or name the file .tsv): it is tab-separated.",
    "|": "re-export the file comma-separated (destkit reads ',' in .csv files and tabs in .tsv files).",
}
DELIMITER_NAMES = {";": "semicolons", "\t": "tabs", "|": "pipes"}
SPARSE_HINT = "If the field is only in later records (sparse JSON), pass --warn-unknown-paths."


@dataclass(frozen=True)
class Columns:
    """What an input offers a mapping: its column names, or the field paths seen in its first records.

    `exhaustive`: a CSV header names every column; a sample of JSON records may miss a sparse field.
    `flat`: a CSV record has no nested fields, so only a path's first segment names a column.
    `delimiter`: set when a CSV header is one column that looks split on another delimiter.
    `duplicates`: the column names the input has more than once (a record keeps only the last one's value).
    `schema`: the paths are a schema's (Arrow: Parquet, Delta, a query), known with or without any row.
    """

    origin: str
    paths: frozenset[str]
    exhaustive: bool
    flat: bool
    delimiter: str | None = None
    header: str = ""
    duplicates: frozenset[str] = frozenset()
    schema: bool = False

    def has(self, path: str) -> bool:
        parts = split_path(path)
        if self.flat:
            return parts[0] in self.paths
        # a list's items are sampled by their first: `identities.1.id` is known if `identities.0.id` is
        return ".".join("0" if p.lstrip("-").isdigit() else p for p in parts) in self.paths or ".".join(parts) in self.paths

    def suggest(self, path: str) -> str | None:
        close = difflib.get_close_matches(path, sorted(self.paths), n=1, cutoff=0.6)
        return close[0] if close else None


def mapped_source_paths(mapping: Mapping[str, Any], prefix: str = "mapping") -> Iterator[tuple[str, str]]:
    """(config key, source path) for every path the mapping reads; malformed entries are the compiler's to report."""
    for name, spec in mapping.items():
        key = f"{prefix}.{name}"
        if isinstance(spec, str):
            yield key, spec
        elif isinstance(spec, dict) and isinstance(spec.get("path"), str):
            yield f"{key}.path", spec["path"]
        elif isinstance(spec, dict) and spec and not {"path", "const", "template"} & set(spec):
            yield from mapped_source_paths(spec, key)  # an object field mapped key by key


class ColumnsRead(frozenset[str]):
    """The input's top-level columns a run reads (`source_columns`); `as_bytes`, those of them whose binary
    values stay bytes rather than becoming text: the primary key's column when the mapping does not read it,
    so its key is the bytes' hex (`key_text`), every value alike, and bytes that are not UTF-8 fail no row.
    A binary column the mapping reads stays text: a destination is sent text, never a hex of its own."""

    as_bytes: frozenset[str]

    def __new__(cls, names: Iterable[str], as_bytes: Iterable[str] = ()) -> ColumnsRead:
        read = super().__new__(cls, names)
        read.as_bytes = frozenset(as_bytes)
        return read


def source_columns(mapping: Any, primary_key: str | None = None) -> ColumnsRead | None:
    """The input's top-level columns a run reads: the first name of every path the mapping reads, and of the
    primary key. None (every column) when the mapping renders a template, which may read any field, or is no
    mapping of fields at all. A columnar input (Parquet, Delta, a query) then decodes only these: a value in
    another column can neither fail a record nor cost its decoding."""
    if not isinstance(mapping, Mapping) or _renders_a_template(mapping):
        return None
    paths = [path for _, path in mapped_source_paths(mapping)]
    if not all(map(_readable, [*paths, *([primary_key] if primary_key else [])])):
        return None
    mapped = frozenset(split_path(path)[0] for path in paths)
    key = split_path(primary_key) if primary_key else []
    return ColumnsRead(mapped.union(key[:1]), key if len(key) == 1 and key[0] not in mapped else ())


def _renders_a_template(mapping: Mapping[str, Any]) -> bool:
    return any(isinstance(spec, Mapping) and ("template" in spec or _renders_a_template(spec))
               for spec in mapping.values())


def unknown_source_paths(mapping: Mapping[str, Any], columns: Columns) -> list[Issue]:
    """One issue per mapped source path the input does not have (or one naming the delimiter, for a
    CSV whose header is one column split on something else)."""
    if _no_records(columns):
        return []
    paths = [(key, path) for key, path in mapped_source_paths(mapping) if _readable(path)]
    unknown = [(key, path) for key, path in paths if not columns.has(path)]
    if unknown and columns.delimiter is not None:
        return [delimiter_issue(columns)]
    if unknown and columns.flat and any(map(not_text, columns.paths)):
        return [encoding_issue(columns)]
    return [unknown_path_issue(key, path, columns) for key, path in unknown] + ambiguous_path_issues(paths, columns)


def unknown_primary_key(primary_key: str | None, columns: Columns) -> list[Issue]:
    """The issue of an `options.primary_key` the input does not have (or has twice), checked as a mapped
    source path is."""
    if primary_key is None or columns.delimiter is not None or not _readable(primary_key) or _no_records(columns):
        return []
    if not columns.has(primary_key):
        return [unknown_path_issue("options.primary_key", primary_key, columns)]
    return ambiguous_path_issues([("options.primary_key", primary_key)], columns)


def _no_records(columns: Columns) -> bool:
    """Whether the input read had no record at all (an empty JSON Lines file, or one whose every line is
    malformed): there is nothing to check a mapping against, and its run is as an empty export's should be,
    of no records (or of one `malformed_input` outcome per line), not a config error per mapped field."""
    return columns.exhaustive and not columns.flat and not columns.schema and not columns.paths


def ambiguous_path_issues(paths: list[tuple[str, str]], columns: Columns) -> list[Issue]:
    """One issue per (config key, source path) reading a column the input has more than once: a record keeps
    only the last such column's value, so the other one's would be dropped without a word."""
    if not columns.duplicates:
        return []
    return [Issue(key, f"'{path}' reads column '{_shorten(split_path(path)[0], 120)}', named more than once in "
                       f"{columns.origin}: a record would get only the last one's value.",
                  "rename the columns so that each name is used once (in the export, or with --input-sql).")
            for key, path in paths if split_path(path)[0] in columns.duplicates]


def unknown_path_issue(key: str, path: str, columns: Columns) -> Issue:
    where = ("is not a column of" if columns.flat else "is not in" if columns.schema
             else "is in none of" if not columns.exhaustive else "is in no record of")
    suggestion = columns.suggest(path)
    if suggestion is not None:
        fix = f"did you mean '{_shorten(suggestion, 120)}'?"
    elif columns.paths:  # the input's names, each shortened: a hostile input's 100 kB key must not flood the terminal
        names = sorted(columns.paths)
        more = f" (and {len(names) - 20:,} more)" if len(names) > 20 else ""
        fix = f"map one of: {', '.join(_shorten(name, 120) for name in names[:20])}{more}."
    else:
        fix = "check that the input has records."
    if not columns.exhaustive:
        fix += " " + SPARSE_HINT
    return Issue(key, f"'{path}' {where} {columns.origin}.", fix)


def delimiter_issue(columns: Columns) -> Issue:
    assert columns.delimiter is not None
    name = DELIMITER_NAMES[columns.delimiter]
    return Issue("(input)", f"{columns.origin} is one column, '{_shorten(columns.header)}': the file looks "
                            f"separated by {name}, not commas.", DELIMITER_FIXES[columns.delimiter])


def not_text(name: str) -> bool:
    """Whether a header name read as UTF-8 holds what no text does: bytes that are not UTF-8 (read as
    surrogates) or NULs (UTF-16's every other byte)."""
    return "\x00" in name or any("\udc80" <= ch <= "\udcff" for ch in name)


def encoding_issue(columns: Columns) -> Issue:
    """The one issue of a CSV whose header is not UTF-8 text: every did-you-mean would be mojibake."""
    utf16 = columns.header.startswith(("\udcff\udcfe", "\udcfe\udcff")) or "\x00" in columns.header
    kind = "UTF-16" if utf16 else "another encoding (Latin-1 or Windows-1252, say)"
    return Issue("(input)", f"{columns.origin} is not UTF-8 text: it looks like {kind}.",
                 "re-export the file as UTF-8 (in Excel: Save As → CSV UTF-8), or convert it with "
                 "`iconv -f <encoding> -t UTF-8`.")


def _readable(path: str) -> bool:
    try:
        split_path(path)
    except ValueError:
        return False  # the compiler reports a malformed path
    return True


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["SPARSE_HINT", "Columns", "ColumnsRead", "UnknownPathPolicy", "ambiguous_path_issues", "delimiter_issue", "encoding_issue", "mapped_source_paths", "not_text", "source_columns",
           "unknown_primary_key", "unknown_source_paths"]
