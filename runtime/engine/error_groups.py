"""The records a run did not deliver, grouped by outcome, reason and field, with counts and a few sample rows.

Read back from the run's JSONL report once it is complete (a resumed run's report includes the rows of
its earlier part), streaming, in memory bounded by the number of groups (`MAX_GROUPS`) times
`SAMPLES`: 2,500 "required but empty" lines become one group of 2,500 with three examples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from destkit.runtime.config.secrets import redact
from destkit.runtime.outcomes import Status

if TYPE_CHECKING:  # the sync builds the pipeline that calls `offending_value`: not imported at run time
    from destkit.runtime.engine.sync import Sync

SAMPLES = 3
"""Sample rows kept per group."""

MAX_GROUPS = 50
"""Groups kept; the records of any further group are counted in `ErrorGroups.other`."""

MASK = "***"
LONGEST_VALUE = 200
"""Characters of an offending string value kept in the report; a longer one is cut, ending in `…`."""


def offending_value(sync: Sync, record: Mapping[str, Any], field_name: str | None) -> Any:
    """The value of `field_name` an invalid record mapped to, for its report line: masked when the spec hashes
    the field (a hashed value is personal data the destination never sees in clear), scrubbed of secrets, cut
    when long; None when there is no field or no value."""
    if field_name is None:
        return None
    value = sync.mapping.field_value(record, field_name)
    if value is None or value == "":
        return None
    spec = sync.action.fields.get(field_name)
    if spec is not None and spec.hash is not None:
        return MASK
    if isinstance(value, bool | float) or (isinstance(value, int) and -(2**63) <= value < 2**64):
        return value  # what a JSON line can hold as it is
    text = value if isinstance(value, str) else value_text(value)
    text = redact(text, sync.secret_values())
    return text if len(text) <= LONGEST_VALUE else text[:LONGEST_VALUE] + "…"


def value_text(value: Any) -> str:
    """A value JSON cannot hold as it is (a list, an object, an integer over 64 bits, nested too deep) as text."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return str(value)[: LONGEST_VALUE + 1]


_NOT_GROUPED = frozenset({Status.DELIVERED.value, Status.SKIPPED.value})


@dataclass
class ErrorGroup:
    """The not-delivered records that share an outcome, a reason and a field."""

    outcome: str
    reason: str | None
    field: str | None
    count: int = 0
    message: str | None = None  # the first record's message: the group's usual cause
    samples: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def add(self, line: dict[str, Any]) -> None:
        self.count += 1
        if self.message is None:
            self.message = line.get("destination_message") or line.get("message")
        if len(self.samples) < SAMPLES:
            sample = {k: line[k] for k in ("row", "primary_key", "key", "message", "value", "destination_status",
                                           "destination_code", "destination_message") if line.get(k) is not None}
            self.samples.append(sample)

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "reason": self.reason, "field": self.field, "count": self.count,
                "message": self.message, "samples": self.samples}


@dataclass
class ErrorGroups:
    """The groups of a run, largest first (`ordered`), and the records beyond `MAX_GROUPS` groups."""

    groups: dict[tuple[str, str | None, str | None], ErrorGroup] = dataclasses.field(default_factory=dict)
    other: int = 0

    def add(self, line: dict[str, Any]) -> None:
        outcome = str(line.get("outcome"))
        if outcome in _NOT_GROUPED or line.get("operation"):
            return  # delivered (with warnings), unchanged, or a mirror's removal: not a record left out
        key = (outcome, line.get("reason"), line.get("field"))
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) >= MAX_GROUPS:
                self.other += 1
                return
            group = self.groups[key] = ErrorGroup(*key)
        group.add(line)

    def ordered(self) -> list[ErrorGroup]:
        """Largest group first; ties in the order outcome, reason, field."""
        return sorted(self.groups.values(), key=lambda g: (-g.count, g.outcome, g.reason or "", g.field or ""))

    def to_list(self) -> list[dict[str, Any]]:
        return [g.to_dict() for g in self.ordered()]


def report_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The lines of a JSONL report, one at a time (an unreadable line is passed over)."""
    if not path.is_file():
        return
    with path.open("rb") as fh:
        for raw in fh:
            try:
                line = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(line, dict):
                yield line


def group_lines(lines: Iterable[dict[str, Any]]) -> ErrorGroups:
    groups = ErrorGroups()
    for line in lines:
        groups.add(line)
    return groups


def group_report(path: Path) -> ErrorGroups:
    """The not-delivered records of the report at `path`, grouped."""
    return group_lines(report_lines(path))


__all__ = ["MASK", "MAX_GROUPS", "SAMPLES", "ErrorGroup", "ErrorGroups", "group_lines", "group_report", "offending_value", "report_lines"]
