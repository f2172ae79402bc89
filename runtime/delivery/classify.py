"""How an answer is handled, as a pure function: `classify(status, headers, body, spec) -> Resolution`.

The one place that says what a 2xx, 401, 3xx, 429, 503 or 400 means for the records a request
carried (after the Airbyte declarative CDK's `ErrorResolution` / `ResponseAction`). Nothing here
sends anything: the Deliverer sends, classifies the answer (with `classify` or a spec's classifier
hook) and acts on the `Action`. A request without a readable answer (a transport failure, the
deadline, an answer over the size cap) is classified by `classify_no_reply`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from destkit.runtime.delivery.clipping import answer_text
from destkit.runtime.delivery.exchange import Lost, NoReply, transport_failure
from destkit.runtime.delivery.reading import compile_path
from destkit.runtime.delivery.retry import parse_retry_after
from destkit.runtime.outcomes import Reason
from destkit.runtime.spec.models import BodyErrorRule, ErrorClasses, ErrorRule, ResponseSpec

# the body keys that, by common convention, hold a whole-request error's message
_MESSAGE_KEYS = ("message", "msg", "error")
_MAX_TEXT = 300  # characters of a non-JSON error body kept as the destination's message


class Action(StrEnum):
    """What the Deliverer does with the records of the request that got the answer."""

    OK = "ok"  # read the per-record results out of the answer
    RETRY = "retry"  # send the same records again after a backoff (or the answer's Retry-After)
    RATE_LIMITED = "rate_limited"  # retry, and first pause every sender that shares the rate gate
    REJECT = "reject"  # the destination refused them: every record is rejected
    SPLIT = "split"  # refused as a whole: halve the batch to isolate the bad records (one alone is rejected)
    STOP = "stop"  # the credentials were refused: stop the run (AuthFailed), every request would fail alike
    DEAD_LETTER = "dead_letter"  # not sent again in this run: whether they were applied is unknown


@dataclass(frozen=True, slots=True)
class Resolution:
    """The classification of one answer. `message` is ours (it goes on the outcomes); the
    `destination_*` fields are what the destination said, verbatim."""

    action: Action
    wait: float | None = None  # seconds the destination asked us to wait (Retry-After)
    reason: Reason | None = None  # the reason code of records this answer leaves undelivered
    message: str = ""
    destination_code: str | None = None
    destination_message: str | None = None


OK = Resolution(Action.OK)
TRANSIENT_RECORDS = Resolution(
    Action.RETRY, reason=Reason.SERVER_ERROR, message="the destination reported a transient per-record failure"
)
"""A 2xx whose per-record results name retryable codes: only those records are sent again."""

NO_ANSWER = Resolution(Action.RETRY, reason=Reason.CONNECTION_ERROR, message="the destination gave no answer")


@dataclass(frozen=True, slots=True)
class ErrorPaths:
    """Compiled JMESPaths to a whole-request error's code and message (a spec `ErrorRule`)."""

    code: Callable[[Any], Any] | None
    message: Callable[[Any], Any] | None

    @classmethod
    def compile(cls, rule: ErrorRule | None) -> ErrorPaths | None:
        if rule is None or (rule.code is None and rule.message is None):
            return None
        return cls(compile_path(rule.code) if rule.code else None, compile_path(rule.message) if rule.message else None)

    def read(self, body: Any) -> tuple[str | None, str | None]:
        return answer_text(self.code(body) if self.code else None), answer_text(self.message(body) if self.message else None)


@dataclass(frozen=True, slots=True)
class BodyRule:
    """A compiled `errors.when` rule: the answer is handled as `then` when the body holds one of `values` at `path`."""

    path: Callable[[Any], Any]
    values: frozenset[str]  # compared as text, so 17 in the spec matches 17 or "17" in the body
    then: Action

    @classmethod
    def compile(cls, rule: BodyErrorRule) -> BodyRule:
        return cls(compile_path(rule.path), frozenset(map(_as_text, rule.in_)), Action(rule.then))

    def matches(self, body: Any) -> bool:
        found = self.path(body)
        return found is not None and not isinstance(found, (dict, list)) and _as_text(found) in self.values


def _as_text(value: Any) -> str:
    """A scalar as JSON writes it (true, not True), so a spec's `false` or `"false"` matches the body's false."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def status_set(values: Collection[int | str]) -> frozenset[int]:
    """The statuses a spec's list names: numbers as they are, a class like '5xx' as its hundred."""
    out: set[int] = set()
    for v in values:
        if isinstance(v, int):
            out.add(v)
        else:
            first = int(v[0]) * 100
            out.update(range(first, first + 100))
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class ErrorTable:
    """What `classify` needs from a spec: the error classes as status sets, and where a whole-request
    error states its code and message (`response.request_error`, then `response.error`, tried in order)."""

    rejected: frozenset[int]
    auth: frozenset[int]
    retry: frozenset[int]
    split: frozenset[int]
    paths: tuple[ErrorPaths, ...] = ()
    body_rules: tuple[BodyRule, ...] = ()

    @classmethod
    def from_spec(cls, classes: ErrorClasses, response: ResponseSpec | None = None) -> ErrorTable:
        rules = (response.request_error, response.error) if response is not None else ()
        paths = tuple(p for p in map(ErrorPaths.compile, rules) if p is not None)
        return cls(status_set(classes.rejected), status_set(classes.auth), status_set(classes.retry),
                   status_set(classes.split), paths, tuple(map(BodyRule.compile, classes.when)))

    def body_action(self, body: Any) -> Action | None:
        """The action of the first body rule the answer matches; None when none does (or the body is not JSON)."""
        if body is None or isinstance(body, bytes):
            return None
        return next((rule.then for rule in self.body_rules if rule.matches(body)), None)


def classify(status: int | None, headers: Mapping[str, str], body: Any, spec: ErrorTable, *,
             now: float | None = None) -> Resolution:
    """How to handle an answer with this status, headers and body.

    `body` is the decoded JSON, None when empty, or the raw bytes when it is not JSON. Header names
    are matched case-insensitively. `now` (epoch seconds) dates a Retry-After given as an HTTP date.
    The order matters: the spec's body rules come first (a throttle may come as a 400), then 2xx is always
    success and the auth class wins over 3xx and the retry class.
    """
    if status is None:
        return NO_ANSWER
    ruled = spec.body_action(body) if spec.body_rules else None
    if ruled is not None:
        return by_body_rule(ruled, status, headers, body, spec, now)
    if 200 <= status < 300:
        return OK
    if status in spec.auth:
        code, message = destination_error(body, spec.paths)
        return Resolution(Action.STOP, reason=Reason.AUTH_FAILED, message=message or "unauthorized",
                          destination_code=code, destination_message=message)
    if 300 <= status < 400:
        location = header(headers, "location")
        return redirect(status, "elsewhere" if location is None else location)
    if status in spec.retry:
        return _transient(status, headers, body, spec, now)
    return _refusal(status, body, spec)


def by_body_rule(action: Action, status: int, headers: Mapping[str, str], body: Any, spec: ErrorTable,
                 now: float | None) -> Resolution:
    """The resolution an `errors.when` rule names, with the reason and message its status class would give."""
    code, message = destination_error(body, spec.paths)
    if action is Action.OK:
        return OK
    if action is Action.STOP:
        return Resolution(Action.STOP, reason=Reason.AUTH_FAILED, message=message or "unauthorized",
                          destination_code=code, destination_message=message)
    if action in (Action.RETRY, Action.RATE_LIMITED):
        limited = action is Action.RATE_LIMITED
        return Resolution(action, wait=parse_retry_after(header(headers, "retry-after"), now),
                          reason=Reason.RATE_LIMITED if limited else Reason.SERVER_ERROR,
                          message=f"the destination answered HTTP {status} with an error its spec marks as "
                          f"{'rate limiting' if limited else 'transient'}",
                          destination_code=code, destination_message=message)
    return Resolution(action, reason=Reason.DESTINATION_REJECTED,
                      message=f"the destination refused the request (HTTP {status}); see destination_message.",
                      destination_code=code, destination_message=message)


def redirect(status: int, location: str) -> Resolution:
    """Redirects are never followed (a moved API should be configured, and credentials must not travel)."""
    return Resolution(Action.REJECT, reason=Reason.REDIRECT,
                      message=f"the destination answered {status}, redirecting to {location}; "
                      "redirects are not followed, check the base URL.")


def _transient(status: int, headers: Mapping[str, str], body: Any, spec: ErrorTable, now: float | None) -> Resolution:
    code, message = destination_error(body, spec.paths)
    limited = status == 429
    return Resolution(Action.RATE_LIMITED if limited else Action.RETRY,
                      wait=parse_retry_after(header(headers, "retry-after"), now),
                      reason=Reason.RATE_LIMITED if limited else Reason.SERVER_ERROR,
                      message=f"the destination answered HTTP {status}",
                      destination_code=code, destination_message=message)


def _refusal(status: int, body: Any, spec: ErrorTable) -> Resolution:
    code, message = destination_error(body, spec.paths)
    return Resolution(Action.SPLIT if status in spec.split else Action.REJECT, reason=Reason.DESTINATION_REJECTED,
                      message=f"the destination refused the request (HTTP {status}); see destination_message.",
                      destination_code=code, destination_message=message)


def classify_exception(exc: httpx.TransportError) -> Resolution:
    """A request that got no answer, when resending it is safe: a timeout or a failed connection is retried."""
    return classify_no_reply(transport_failure(exc))


UNKNOWN_DELIVERY_MESSAGE = (
    "the request was sent but its answer was lost ({cause}); it may have been delivered. The action is not "
    "idempotent, so it is not sent again automatically: check the destination, then "
    "`destkit retry --include-unknown` sends it again.")
MAYBE_APPLIED = "the records may or may not have been applied and are dead-lettered, to be sent again by the next run."


def classify_no_reply(no_reply: NoReply, *, may_resend: bool = True) -> Resolution:
    """How to handle a request that got no readable answer.

    One that never left is sent again. One that left (its answer cut off, timed out, or not read) may
    have been applied: it is sent again only when `may_resend` (the action is idempotent, or carries
    an idempotency key); otherwise its records are dead-lettered as `unknown_delivery`, so nothing
    runs twice. An answer that came but was not read (over the size cap) is not worth asking for again
    in this run: `unexpected_response`.
    """
    if no_reply.lost is not Lost.NOT_SENT and not may_resend:
        return Resolution(Action.DEAD_LETTER, reason=Reason.UNKNOWN_DELIVERY,
                          message=UNKNOWN_DELIVERY_MESSAGE.format(cause=no_reply.cause))
    if no_reply.lost is Lost.UNREADABLE:
        return Resolution(Action.DEAD_LETTER, reason=Reason.UNEXPECTED_RESPONSE,
                          message=f"the destination answered HTTP {no_reply.status} but {no_reply.message}, so it "
                          f"was not read; {MAYBE_APPLIED}")
    return Resolution(Action.RETRY, reason=Reason.TIMEOUT if no_reply.timed_out else Reason.CONNECTION_ERROR,
                      message=no_reply.message)


def destination_error(body: Any, paths: tuple[ErrorPaths, ...] = ()) -> tuple[str | None, str | None]:
    """The destination's own (code, message) for a whole request: by the spec's paths, else by convention."""
    if body is None or isinstance(body, bytes):
        return conventional_error(body)
    for p in paths:
        found = p.read(body)
        if any(found):  # an empty string is no more an answer than a missing one
            return found
    return conventional_error(body)


def conventional_error(body: Any) -> tuple[str | None, str | None]:
    """`errors[0].code/.message`, or a top-level `message`/`msg`/`error` string; a non-JSON body is the message."""
    if isinstance(body, bytes):
        return None, body.decode("utf-8", "replace").strip()[:_MAX_TEXT] or None
    if not isinstance(body, dict):
        return None, None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return answer_text(errors[0].get("code")), answer_text(errors[0].get("message"))
    for key in _MESSAGE_KEYS:
        if isinstance(body.get(key), str):
            return None, body[key]
    return None, None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lower-case name, in httpx.Headers (case-insensitive) or a plain dict."""
    value = headers.get(name)
    if value is not None:
        return value
    return next((v for k, v in headers.items() if k.lower() == name), None)


__all__ = [
    "MAYBE_APPLIED", "NO_ANSWER", "OK", "TRANSIENT_RECORDS", "UNKNOWN_DELIVERY_MESSAGE", "Action", "BodyRule",
    "ErrorPaths", "ErrorTable", "Resolution", "by_body_rule", "classify", "classify_exception", "classify_no_reply", "conventional_error",
    "destination_error", "header", "redirect", "status_set",
]
