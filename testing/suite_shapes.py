"""Checks on the shape of what a dry run would send, for the constructs that shape it: a positional
record (`request.record: {$columns: ...}`) must give every row one value per column, in every request.
"""

from __future__ import annotations

from typing import Any

import orjson

from destkit.runtime.engine import RunResult
from destkit.runtime.spec.models import ActionSpec, PositionalRecord
from destkit.testing.report import ActionReport
from destkit.testing.suite_checks import limit_details

__all__ = ["POSITIONAL_CHECK", "check_positional_rows", "rows_of", "template_path"]

POSITIONAL_CHECK = "dry run: every positional row has one value per column"


def template_path(node: Any, ref: str) -> list[str | int] | None:
    """Where `ref` (e.g. `$records`, `$email`) sits in a body or record template, as keys and indexes."""
    if node == ref:
        return []
    children: list[tuple[str | int, Any]] = (
        list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(node, list) else []
    )
    for k, child in children:
        found = template_path(child, ref)
        if found is not None:
            return [k, *found]
    return None


def follow(value: Any, path: list[str | int]) -> Any:
    """The value at `path` (keys and indexes) in a parsed JSON body."""
    for step in path:
        value = value[step]
    return value


def rows_of(action: ActionSpec, body: bytes) -> list[Any]:
    """The record rows of one request body (the body itself for a one-record `$record` body)."""
    parsed = orjson.loads(body)
    if action.request.body == "$record":
        return [parsed]
    at = template_path(action.request.body, "$records")
    return [] if at is None else list(follow(parsed, at))


def check_positional_rows(action: ActionSpec, result: RunResult, report: ActionReport) -> None:
    """Every row of every request is a list of exactly the declared columns' count."""
    record = action.request.record
    if not isinstance(record, PositionalRecord):
        return
    width = len(record.labels)
    problems, rows = [], 0
    for i, request in enumerate(result.requests, 1):
        for j, row in enumerate(rows_of(action, request.body)):
            rows += 1
            if not isinstance(row, list) or len(row) != width:
                problems.append(f"request {i}, row {j}: {len(row) if isinstance(row, list) else type(row).__name__} "
                                f"values for {width} columns")
    if rows != result.summary.delivered:
        problems.append(f"the requests hold {rows} rows for {result.summary.delivered} accepted records")
    message = f"{rows} rows of {width} columns ({', '.join(record.labels)})"
    report.add(POSITIONAL_CHECK, not problems, message if not problems else f"{len(problems)} problem(s)",
               limit_details(problems))
