"""The conformance suite's failures-only check: for an action whose answer lists only the failed
records (`response.only: failures`), matched by index, key or another field, every listed failure
must map to exactly one record.

The action's requests are answered, in process (httpx.MockTransport: no network), by an answer built
from the spec's own `response` paths that lists every other record of each request as failed (a key
or field value echoed upper-cased where matching is case-insensitive). The run must then reject
exactly as many records as were listed and deliver the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import orjson

from destkit.runtime.engine import build_sync
from destkit.runtime.outcomes import Outcome, Status
from destkit.runtime.spec.models import ActionSpec, FieldMatch, IndexMatch, KeyMatch, PositionalRecord
from destkit.testing.report import ActionReport
from destkit.testing.suite import Plan, Suite, config_catalogs
from destkit.testing.suite_checks import grouped, limit_details
from destkit.testing.suite_shapes import follow, template_path

__all__ = ["FAILURES_CHECK", "answer_path", "failures_only_check", "why_not_answerable"]

FAILURES_CHECK = "failures only: every listed failure maps to exactly one record"
FAILED_CODE = "destkit_conformance_failure"
# a results path this check can answer: a dotted path, optionally filtered on one field's value
_RESULTS = re.compile(r"^(?P<path>[A-Za-z_][\w.]*)(\[\?(?P<field>\w+)\s*==\s*'(?P<value>[^']*)'\])?$")
_DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


def answer_path(obj: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `value` at the dotted path in `obj`, making the objects on the way."""
    *parents, last = dotted.split(".")
    for p in parents:
        obj = obj.setdefault(p, {})
    obj[last] = value


@dataclass
class _Answerer:
    """Answers each request with every other record listed as failed, counting what it listed."""

    action: ActionSpec
    records_at: list[str | int] | None  # None: the body is one record ($record)
    listed: int = 0
    keys: list[str] = field(default_factory=list)  # the key values listed (key match)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        records = [body] if self.records_at is None else follow(body, self.records_at)
        response = self.action.response
        answer: dict[str, Any] = {}
        if response.accept is not None and _DOTTED.match(response.accept.field):
            answer_path(answer, response.accept.field, response.accept.in_[0])
        items = [self._failure(i, r) for i, r in enumerate(records) if i % 2 == 0]
        self.listed += len(items)
        m = _RESULTS.match(response.results or "")
        assert m is not None
        if m["field"]:
            items = [{**item, m["field"]: m["value"]} for item in items]
        answer_path(answer, m["path"], items)
        return httpx.Response(200, json=answer)

    def _failure(self, index: int, record: Any) -> dict[str, Any]:
        response, item = self.action.response, cast(dict[str, Any], {})
        match = response.match
        if isinstance(match, IndexMatch):
            answer_path(item, match.index, index)
        elif isinstance(match, KeyMatch | FieldMatch):
            name = match.key if isinstance(match, KeyMatch) else match.field
            sent = follow(record, self._field_at(name))
            if isinstance(match, KeyMatch):
                self.keys.append(str(sent))
            echoed = sent.upper() if match.case == "insensitive" and isinstance(sent, str) else sent
            answer_path(item, match.result or name, echoed)
        for path, value in ((response.error.message, "listed as failed"), (response.error.code, FAILED_CODE)):  # code last: it wins a shared path
            if path and _DOTTED.match(path):
                answer_path(item, path, value)
        if response.ok is not None:
            failed = response.ok.failed[0] if response.ok.failed else FAILED_CODE
            answer_path(item, response.ok.field, failed)
        return item

    def _field_at(self, name: str) -> list[str | int]:
        found: list[str | int] | None = template_path(self.action.request.record, "$" + name)
        assert found is not None
        return found


def why_not_answerable(action: ActionSpec) -> str | None:
    """Why this check cannot build the action's answer (None: it can)."""
    response = action.response
    if response.job is not None or response.only != "failures" or response.hook or (action.errors and action.errors.hook):
        return "not a failures-only answer read by the spec"
    if not _RESULTS.match(response.results or ""):
        return f"the results path {response.results!r} is not a (filtered) dotted path"
    if action.request.body != "$record" and template_path(action.request.body, "$records") is None:
        return "the body has no $records list"
    match = response.match
    if isinstance(match, KeyMatch | FieldMatch):
        name = match.key if isinstance(match, KeyMatch) else match.field
        if isinstance(action.request.record, PositionalRecord) or template_path(action.request.record, "$" + name) is None:
            return f"the record template does not send ${name} by name"
    elif not isinstance(match, IndexMatch):
        return "results matched by position, not listed"
    return None


def failures_only_check(suite: Suite, plan: Plan, variant: Mapping[str, Any], report: ActionReport) -> None:
    """Answer every other record as failed; exactly those are rejected, one record per listed failure."""
    sync_plain = suite.config(plan.action, plan.profile, variant, config_catalogs(plan.catalogs))
    action = suite.spec.actions[plan.action].resolve(sync_plain.get("settings") or {})
    why = why_not_answerable(action)
    if why is not None:
        report.add(FAILURES_CHECK, "skipped", why)
        return
    answerer = _Answerer(action, None if action.request.body == "$record" else template_path(action.request.body, "$records"))
    valid = [plan.records[row - 1] for row in plan.valid_rows]
    outcomes: list[Outcome] = []
    try:
        sync = build_sync(sync_plain, spec=suite.spec, transport=httpx.MockTransport(answerer), allow_http=True,
                          base_url=None if suite.spec.user_url else "https://destination.test")
        sync.run(valid, on_outcome=outcomes.append)
    except Exception as exc:
        report.add(FAILURES_CHECK, False, f"raised {type(exc).__name__}: {exc}")
        return
    report.add(FAILURES_CHECK, *_judge(action, answerer, outcomes, len(valid)))


def _judge(action: ActionSpec, answerer: _Answerer, outcomes: list[Outcome], n: int) -> tuple[bool, str, list[str]]:
    rejected = [o for o in outcomes if o.status is Status.REJECTED]
    delivered = [o for o in outcomes if o.status is Status.DELIVERED]
    problems = []
    if len(rejected) != answerer.listed or len(delivered) != n - answerer.listed:
        problems.append(f"{answerer.listed} listed as failed of {n}; the run gave {grouped(outcomes)}")
    if any(o.destination_code != FAILED_CODE for o in rejected) and action.response.error.code:
        problems.append("a rejected record does not carry the listed failure's code")
    if answerer.keys and isinstance(action.response.match, KeyMatch):
        folded = sorted(k.lower() for k in answerer.keys) if action.response.match.case == "insensitive" else sorted(answerer.keys)
        got = sorted((o.key or "").lower() if action.response.match.case == "insensitive" else (o.key or "") for o in rejected)
        if got != folded:
            problems.append("the rejected records' keys are not the listed ones")
    message = f"{answerer.listed} of {n} records listed as failed, each rejected once; the rest delivered"
    return not problems, message if not problems else f"{len(problems)} problem(s)", limit_details(problems)

