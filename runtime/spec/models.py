"""The destination spec language, as pydantic models.

A spec is data: what a destination accepts (settings, secrets, fields), where and how to send
it (base URL, auth, request shape, batch limits) and how to read the answer (per-record results,
error classes). These models are the single source for the loader's checks, for
`destination-spec.schema.json` (editor completion) and for the runtime's compiled checks.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

# the auth blocks live in their own module; re-exported, as every spec model is found here
from destkit.runtime.spec.auth_models import ApiKeyAuth as ApiKeyAuth
from destkit.runtime.spec.auth_models import Auth as Auth
from destkit.runtime.spec.auth_models import AuthKind as AuthKind
from destkit.runtime.spec.auth_models import BasicAuth as BasicAuth
from destkit.runtime.spec.auth_models import BearerAuth as BearerAuth
from destkit.runtime.spec.auth_models import HmacAuth as HmacAuth
from destkit.runtime.spec.auth_models import HmacScheme as HmacScheme
from destkit.runtime.spec.auth_models import HookAuth as HookAuth
from destkit.runtime.spec.auth_models import JwtAuth as JwtAuth
from destkit.runtime.spec.auth_models import NoAuth as NoAuth
from destkit.runtime.spec.auth_models import OAuth2Auth as OAuth2Auth
from destkit.runtime.spec.auth_models import SettingChoice as SettingChoice
from destkit.runtime.spec.jobs import JobPage, JobPoll
from destkit.runtime.spec.rate_values import (
    MAX_CONCURRENCY,
    MIN_REQUESTS_PER_SECOND,
    NOT_A_BOOL,
    InFlight,
    SpecRate,
)
from destkit.runtime.spec.regex_risk import nested_repetition

# settings and secrets live in their own module; re-exported, as every spec model is found here
from destkit.runtime.spec.settings_models import DeriveRule as DeriveRule
from destkit.runtime.spec.settings_models import SecretSchema as SecretSchema
from destkit.runtime.spec.settings_models import SettingSchema as SettingSchema
from destkit.runtime.spec.settings_models import StrictModel
from destkit.runtime.spec.vocabulary import HTTP_METHODS

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

JsonType = Literal["string", "number", "integer", "boolean", "array", "object"]


_Strict = StrictModel


class FieldSchema(_Strict):
    """One field of an action: a small JSON-Schema subset plus destkit's catalog keywords."""

    type: JsonType | list[JsonType]
    title: str | None = None
    description: str | None = None
    required: bool = False
    maxLength: int | None = Field(default=None, ge=1)
    minLength: int | None = Field(default=None, ge=0)
    pattern: str | None = None
    format: Literal["e164", "email", "date", "date-time"] | None = None
    strictness: Literal["strict", "lenient"] = Field(
        default="strict", description="for format: email, 'lenient' only asks for one @ with text on both sides"
    )
    enum: list[Any] | None = None
    items: FieldSchema | None = None
    maxItems: int | None = Field(default=None, ge=1)
    catalog: str | None = Field(default=None, description="array items must be in this catalog (e.g. tags)")
    keys_catalog: str | None = Field(default=None, description="object keys must be in this catalog")
    values: FieldSchema | None = Field(default=None, description="schema of an object's values")
    examples: list[Any] | None = None
    resolve: Literal["destination_id"] | None = Field(
        default=None, description="when not mapped, look the value up: the id the destination gave this record's key "
        "on an earlier delivery (kept in the state store)"
    )
    normalize: str | list[str] | None = Field(
        default=None, description="steps (trim, lower, digits_only, email, e164, e164_no_plus, gmail_dots) or a "
        "platform preset (meta_email, meta_phone, google_email, google_phone, tiktok_email, tiktok_phone) applied "
        "to a string before its checks; an empty result is absent"
    )
    hash: Literal["sha256", "md5"] | None = Field(
        default=None, description="send the hex digest (sha256, or md5 where an API keys records by it) of the "
        "normalised, checked value; a value that already is such a digest (64 or 32 hex) is sent as is (lowercased)"
    )

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        """Here, at the field's own line: compiled with the record checks, a bad one was named by the action only."""
        if value is None:
            return None
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
        if risky := nested_repetition(value):  # one long input value would stall the sync
            raise ValueError(
                f"{risky} repeats a repetition: on a long value that does not match, Python's regular expressions "
                "try every way to split it (40 characters take hours) and the sync stalls on it; repeat once "
                "(a+ for (a+)+), or end each turn on a character the repeated part cannot match (([a-z]+\\.)*)")
        return value

    @model_validator(mode="after")
    def _normalize_needs_a_string(self) -> FieldSchema:
        if (self.normalize is not None or self.hash is not None) and self.types != ("string",):
            raise ValueError("normalize and hash apply to a field of type: string")
        return self

    @property
    def types(self) -> tuple[str, ...]:
        return (self.type,) if isinstance(self.type, str) else tuple(self.type)




class RequestRef(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str
    query: dict[str, str] = Field(default_factory=dict)


class CatalogSpec(_Strict):
    """A list the destination keeps (tags, property names) that values must already be in."""

    request: RequestRef
    items: str = Field(description="JMESPath to the list of allowed values in the response")
    labels: str | None = Field(
        default=None, description="JMESPath to [display label, value] pairs, used to suggest the technical name"
    )
    reason: Literal["unknown_tag", "unknown_custom_property", "unknown_value"] = Field(
        default="unknown_value", description="the reason code of a record whose value is not in this catalog"
    )
    noun: str = Field(default="value", description="what an entry is called in messages, e.g. 'tag'")
    hint: str | None = Field(default=None, description="where the user creates a missing entry")


class BatchSpec(_Strict):
    max_records: int = Field(default=1, ge=1, le=100_000)
    max_bytes: int = Field(default=4_000_000, ge=256)
    key: str | None = Field(default=None, description="records with the same value of this field never share a batch")


class OkRule(_Strict):
    field: str
    in_: list[Any] = Field(alias="in")


class ResultRule(OkRule):
    """`response.ok`: the values of a per-record result's `field` that mean success, and those that mean failure."""

    failed: list[Any] | None = Field(
        default=None, description="the values that mean the record was refused; with this list, a value in neither "
        "list is an unexpected answer (the record is dead-lettered as unexpected_response); without it, any value "
        "not in `in` is a refusal"
    )


class ErrorRule(_Strict):
    code: str | None = None
    message: str | None = None


class KeyMatch(_Strict):
    """`response.match: {key: ...}`: each result belongs to the record whose key value it carries."""

    key: str = Field(description="the action field whose value keys the per-record results; it must be the "
                     "record's key (batch.key, else the first required field)")
    result: str | None = Field(
        default=None, description="JMESPath in a result item to the key value it carries (default: the item's "
        "field named like `key`); e.g. email_address"
    )
    case: Literal["sensitive", "insensitive"] = Field(
        default="sensitive", description="insensitive: the destination folds case (e.g. echoes emails "
        "lower-cased), so key values are compared case-insensitively"
    )


class FieldMatch(_Strict):
    """`response.match: {field: ...}`: each result carries the value of a record field other than its key
    (e.g. the email an API echoes while records are keyed by an id); no two records of a batch share it."""

    field: str = Field(description="the action field whose value (as sent, in the record body) each result carries; "
                       "required, and a plain $field in the record template. Records with the same value are sent "
                       "in different batches")
    result: str | None = Field(
        default=None, description="JMESPath in a result item to the value it carries (default: the item's field "
        "named like `field`); e.g. email_address"
    )
    case: Literal["sensitive", "insensitive"] = Field(
        default="sensitive", description="insensitive: the destination folds case, so values are compared (and kept "
        "apart in batches) case-insensitively"
    )


class IndexMatch(_Strict):
    """`response.match: {index: ...}`: each result names its record's position in the batch."""

    index: str = Field(description="JMESPath in a result item to the 0-based position of its record in the "
                       "request's list of records; e.g. index")


class ResultsSpec(_Strict):
    """How to read per-record results out of an answer (`response:`, and a job's `results:`)."""

    results: str | None = Field(default=None, description="JMESPath to the per-record result list; none: the whole answer applies to every record")
    match: Literal["index"] | KeyMatch | IndexMatch | FieldMatch = Field(
        default="index", description="which result is whose: index (the n-th result is the n-th record's), "
        "{key: field} (the result carrying the record's key value), {field: name} (the result carrying the value "
        "of another field of the record) or {index: path} (the result naming the record's position)"
    )
    only: Literal["failures"] | None = Field(
        default=None, description="failures: the results list only the records that failed (each one is a "
        "refusal); a record without a result was delivered. Needs match {key: ...} or {index: ...}"
    )
    ok: ResultRule | None = None
    error: ErrorRule = Field(default_factory=ErrorRule)
    id: str | None = Field(default=None, description="JMESPath in a result to the destination's id for the record")
    retry_codes: list[str] = Field(
        default_factory=list, description="per-record error codes that are transient: only those records are sent again"
    )
    note: str | None = Field(
        default=None, description="JMESPath to a message kept on delivered outcomes (e.g. 'deletion scheduled')"
    )
    accept: OkRule | None = Field(
        default=None, description="a 2xx answer must also satisfy this (e.g. replyCode in [0]); else it is unreadable"
    )
    request_error: ErrorRule | None = Field(
        default=None, description="JMESPaths to the code and message of a whole-request error (default: errors[0])"
    )
    hook: str | None = Field(
        default=None, description="import path 'package.module:name' of a ResultReader factory, called with this "
        "response spec, that reads the per-record results instead (docs/extending.md)"
    )

    @model_validator(mode="after")
    def _failures_need_an_owner(self) -> ResultsSpec:
        if self.only == "failures" and self.match == "index":
            raise ValueError("with only: failures the results cannot be matched by their order; "
                             "write match: {index: <path to the record's position>}, match: {key: <field>} or "
                             "match: {field: <field>}")
        if self.only == "failures" and self.ok is not None:
            raise ValueError("with only: failures every listed result is a refusal, so an ok rule has nothing "
                             "to decide; remove ok")
        return self


class JobResults(ResultsSpec, JobPage):
    """`job.results`: the job's per-record results, paged, read as `response:` reads an answer."""

    results: str | None = Field(default=None, alias="items", description="JMESPath to the per-record result "
                                "list in each page; none: the job's end applies to every record")


class JobSpec(_Strict):
    """`response.job`: the answer is a job (e.g. 202 + id); its records stay in flight until it ends."""

    id: str = Field(description="JMESPath to the job's id in the submit answer, e.g. data.id")
    poll: JobPoll
    results: JobResults | None = Field(default=None, description="where the per-record results are read once "
                                       "the job has completed; none: every record was applied")


class ResponseSpec(ResultsSpec):
    """How to read a successful batch answer: its per-record results, or the job it started."""

    job: JobSpec | None = Field(default=None, description="the answer names a job: poll it, then read the "
                                "records' results from it (a resumed run polls it instead of resending)")

    @model_validator(mode="after")
    def _a_job_answers_later(self) -> ResponseSpec:
        if self.job is not None and (self.results is not None or self.ok is not None):
            raise ValueError("with job, the per-record results are read from the job (job.results), not from "
                             "the submit answer; move results/ok under job.results")
        return self


class PositionalRecord(_Strict):
    """A record sent as a row: one value per declared column, in order, never fewer.

    `{$columns: {EMAIL: $email, PHONE: $phone}, empty: ""}` sends `["<email>", "<phone>"]`; an absent value
    is sent as `empty` in its column (a plain list would drop it and shift the later columns).
    `$columns` in the request body stands for the list of column labels (e.g. a `schema:` row).
    """

    columns: dict[str, Any] = Field(
        alias="$columns", title="Columns", min_length=1, description="column label → the value sent in that column ($field, "
        "$settings.name, {$map: ...} or a constant), in the order the destination expects them"
    )
    empty: str | int | float | bool | None = Field(
        default="", description="what an absent value is sent as, so the columns after it stay in place"
    )

    @property
    def labels(self) -> list[str]:
        return list(self.columns)


COLUMNS = "$columns"


def _with_column_labels(node: Any, labels: list[str]) -> Any:
    """The body with each `$columns` replaced by the column labels (escaped: they are constants)."""
    if node == COLUMNS:
        return ["$" + label if label.startswith("$") else label for label in labels]
    if isinstance(node, dict):
        return {k: _with_column_labels(v, labels) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_column_labels(v, labels) for v in node]
    return node


def _mentions_columns(node: Any) -> bool:
    if isinstance(node, dict):
        return any(_mentions_columns(v) for v in node.values())
    if isinstance(node, list):
        return any(_mentions_columns(v) for v in node)
    return bool(node == COLUMNS)


class RequestSpec(_Strict):
    method: str = Field(default="POST", description="POST, PUT, PATCH or DELETE, or a template over settings")
    path: str = Field(description="template over settings; `{field}` segments take a record's value (one record per request)")
    query: dict[str, str] = Field(default_factory=dict, description="query parameters; values are templates over settings")
    headers: dict[str, str] = Field(default_factory=dict, description="extra headers; values are templates over settings")
    body: Any = Field(default="$records", description="request body; $records stands for the list of record bodies, "
                      "$record for the one record's body; null sends no body. $session.id, $session.batch_seq and "
                      "$session.last_batch are the request's session counters")
    record: PositionalRecord | Any = Field(
        default=None, union_mode="left_to_right", description="one record's body; $field and $settings.name refer "
        "to values, {$map: $field, values: {...}} translates a value; an absent value is left out. "
        "{$merge: [$object_field, {key: $field}]} merges objects (a later key wins, empty is absent); a key "
        "written '{{ settings.name }}' is the setting's value. "
        "{$columns: {LABEL: $field, ...}, empty: ''} sends a row with every column in place instead"
    )

    @field_validator("record", mode="before")
    @classmethod
    def _positional_record(cls, value: Any) -> Any:
        """A record with `$columns` must be a well-formed positional record (not silently any template)."""
        if isinstance(value, dict) and COLUMNS in value:
            try:
                return PositionalRecord.model_validate(value)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"])
                raise ValueError(f"a positional record is {{$columns: {{LABEL: $field, ...}}, empty: ''}}; "
                                 f"{where}: {err['msg']}") from None
        return value

    @model_validator(mode="after")
    def _body_column_labels(self) -> RequestSpec:
        """`$columns` in the body is the positional record's column labels, written into the body once here."""
        if not _mentions_columns(self.body):
            return self
        if not isinstance(self.record, PositionalRecord):
            raise ValueError("$columns in the body stands for the column labels of a positional record; "
                             "write the record as {$columns: {LABEL: $field, ...}}")
        self.body = _with_column_labels(self.body, self.record.labels)
        return self

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if "{{" in value:
            return value
        if value.upper() not in HTTP_METHODS:
            raise ValueError(f"'{value}' is not an HTTP method; use one of {', '.join(HTTP_METHODS)} or a template")
        return value.upper()


def _status_list(values: list[int | str]) -> list[int | str]:
    for v in values:
        if isinstance(v, int) and not 100 <= v <= 599:
            raise ValueError(f"{v} is not an HTTP status")
        if isinstance(v, str) and not (len(v) == 3 and v[0] in "12345" and v[1:] == "xx"):
            raise ValueError(f"'{v}' is not a status class; write e.g. '5xx'")
    return values


def _statuses(*values: int | str) -> list[int | str]:
    return list(values)


ErrorAction = Literal["ok", "retry", "rate_limited", "reject", "split", "stop"]


class BodyErrorRule(_Strict):
    """`errors.when[]`: an answer whose body holds one of these values at `path` is handled as `then`, whatever its
    status (e.g. a throttle sent as HTTP 400 with `error.code: 17`)."""

    path: str = Field(min_length=1, description="JMESPath in the answer's JSON body, e.g. error.code")
    in_: list[bool | int | str] = Field(alias="in", min_length=1, description="the values that select this rule "
                                        "(a value and its text are the same: 17 matches \"17\")")
    then: ErrorAction = Field(description="how the answer is handled: ok, retry, rate_limited (retry, pausing "
                              "every sender first), reject, split or stop")


class ErrorClasses(_Strict):
    """Which HTTP statuses mean what; 2xx is success, 3xx is never followed. `when` rules read the body first."""

    when: list[BodyErrorRule] = Field(
        default_factory=list, description="body rules, tried in order before the status classes; the first that "
        "matches decides"
    )

    rejected: list[int | str] = Field(default_factory=lambda: _statuses(400, 404, 409, 413, 422))
    auth: list[int | str] = Field(default_factory=lambda: _statuses(401, 403))
    retry: list[int | str] = Field(default_factory=lambda: _statuses(408, 423, 425, 429, "5xx"))
    split: list[int | str] = Field(
        default_factory=lambda: _statuses(400, 413, 422),
        description="whole-batch refusals that are split in halves to isolate the bad records",
    )
    hook: str | None = Field(
        default=None, description="import path 'package.module:name' of a classifier (status, headers, body, "
        "spec) -> Resolution that decides how answers are handled instead (docs/extending.md)"
    )

    _check = field_validator("rejected", "auth", "retry", "split")(_status_list)


class RateLimit(_Strict):
    requests_per_second: SpecRate = Field(default=None, ge=MIN_REQUESTS_PER_SECOND,
                                          description="at least one request a minute; absent: no limit")
    concurrency: InFlight = Field(default=4, ge=1, le=MAX_CONCURRENCY)
    headers: Literal["x-ratelimit", "ratelimit"] | None = Field(
        default=None, description="the rate-limit headers the destination sends: when they say the budget is spent, "
        "every sender pauses until the reset. x-ratelimit: X-RateLimit-Remaining with X-RateLimit-Reset in epoch "
        "seconds; ratelimit: RateLimit-Remaining with RateLimit-Reset in seconds from now"
    )


class Timeouts(_Strict):
    # finite: an infinite timeout lets a stalled destination hold a run forever
    connect: Annotated[float, NOT_A_BOOL] = Field(default=10.0, gt=0, allow_inf_nan=False)
    read: Annotated[float, NOT_A_BOOL] = Field(default=60.0, gt=0, allow_inf_nan=False)


class IdempotencyKey(_Strict):
    """A header the destination dedupes requests on; the runtime sets it, the same on every attempt of a request."""

    header: str = Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", description="the header's name, e.g. Idempotency-Key")


class OneOf(_Strict):
    """At least one of these fields must have a value (e.g. some identifier of the contact)."""

    one_of: list[str] = Field(min_length=2)


class When(_Strict):
    setting: str
    equals: Any


class Variant(_Strict):
    """Another way to send the same action, chosen by a setting (e.g. a single-record endpoint)."""

    when: When
    batch: BatchSpec | None = None
    request: RequestSpec | None = None
    response: ResponseSpec | None = None
    auth: Auth | None = None


class RemoveRequestSpec(RequestSpec):
    """`remove.request`: the keys it leaves out (the path too) are the action's request's."""

    path: str = Field(default="", description="default: the action's path")


class RemoveSpec(_Strict):
    """`remove:` (for `options.mirror`): a part not given is the action's own; `$operation` is `remove` here."""

    request: RemoveRequestSpec | None = Field(default=None, description="only the keys that differ from the action's "
                                              "request; omitted: the action's request, with $operation = remove")
    response: ResponseSpec | None = Field(default=None, description="default: the action's")
    batch: BatchSpec | None = Field(default=None, description="default: the action's")


class ActionSpec(_Strict):
    title: str
    description: str | None = None
    fields: dict[str, FieldSchema]
    batch: BatchSpec = Field(default_factory=BatchSpec)
    request: RequestSpec
    response: ResponseSpec = Field(default_factory=ResponseSpec)
    errors: ErrorClasses | None = None
    rate_limit: RateLimit | None = None
    auth: Auth | None = Field(default=None, description="overrides the destination's auth for this action")
    variants: list[Variant] = Field(default_factory=list)
    report_delivered: bool = Field(default=False, description="report a line for delivered records too (e.g. deletions)")
    constraints: list[OneOf] = Field(default_factory=list, description="rules across fields, checked per record")
    idempotent: bool = Field(
        default=True, description="false when running a request twice has an effect twice (a message is sent "
        "twice): a request whose answer was lost after it was sent is then not resent, unless `idempotency_key` is set"
    )
    idempotency_key: IdempotencyKey | None = Field(
        default=None, description="the header the destination dedupes on; the runtime sets it to a key derived from "
        "the request (method, path, body), so every attempt carries the same key and such a request may be resent"
    )

    remove: RemoveSpec | None = Field(default=None, description="how a member who left the audience is removed "
                                      "(options.mirror): its own request, or the same one with $operation = remove")

    @model_validator(mode="before")
    @classmethod
    def _remove_request_inherits(cls, data: Any) -> Any:
        """The keys `remove.request` leaves out are the action's request's (filled in before either is validated)."""
        remove = data.get("remove") if isinstance(data, dict) else None
        if not (isinstance(remove, dict) and isinstance(remove.get("request"), dict) and isinstance(data.get("request"), dict)):
            return data
        return {**data, "remove": {**remove, "request": {**data["request"], **remove["request"]}}}

    def removal(self) -> ActionSpec | None:
        """This action as its removals are sent (`remove:` applied), or None without one."""
        parts = {k: v for k in ("request", "response", "batch") if (v := getattr(self.remove, k, None)) is not None}
        return None if self.remove is None else self.model_copy(update={**parts, "remove": None, "variants": []})

    def resolve(self, settings: dict[str, Any]) -> ActionSpec:
        """This action with the first variant whose `when` matches the settings applied."""
        for variant in self.variants:
            if settings.get(variant.when.setting) == variant.when.equals:
                update = {k: getattr(variant, k) for k in ("batch", "request", "response", "auth")
                          if getattr(variant, k) is not None}
                return self.model_copy(update={**update, "variants": []})
        return self


class DestinationSpec(_Strict):
    spec_version: Literal[1]
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    description: str | None = None
    docs: str | None = None
    settings: dict[str, SettingSchema] = Field(default_factory=dict)
    secrets: dict[str, SecretSchema] = Field(default_factory=dict)
    base_url: str = Field(description="template over settings, e.g. 'https://{{ settings.subdomain }}.example.com'")
    auth: Auth
    catalogs: dict[str, CatalogSpec] = Field(default_factory=dict)
    actions: dict[str, ActionSpec]
    errors: ErrorClasses = Field(default_factory=ErrorClasses)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    emulator: str | None = Field(default=None, description="import path 'package.module:create_app' of an emulator")
    user_url: bool = Field(
        default=False, description="the base URL is the user's own (a webhook): it may carry a path, and its host "
        "must not be a private, loopback or link-local address"
    )
    python_package: str | list[str] | None = Field(
        default=None, description="the Python package (or packages) the spec's hooks and emulator are imported from, "
        "besides destkit.destinations.<id>; an import path outside them is refused before anything is imported"
    )

    @field_validator("python_package")
    @classmethod
    def _dotted_names(cls, value: str | list[str] | None) -> str | list[str] | None:
        for name in [value] if isinstance(value, str) else value or []:
            if not _DOTTED.fullmatch(name):
                raise ValueError(f"'{name}' is not a Python package name (dotted identifiers, e.g. acme_connector)")
        return value

    def python_packages(self) -> list[str]:
        """The packages this spec may run code from: its own under destkit.destinations, then the declared ones."""
        declared = [self.python_package] if isinstance(self.python_package, str) else self.python_package or []
        return [f"destkit.destinations.{self.id}", *declared]

    @model_validator(mode="after")
    def _derived_from_declared_secrets(self) -> DestinationSpec:
        for name, setting in self.settings.items():
            if setting.derive is not None and setting.derive.secret not in self.secrets:
                raise ValueError(f"settings.{name}.derive reads the secret '{setting.derive.secret}', which is not "
                                 "under secrets")
        return self

    @model_validator(mode="after")
    def _catalogs_exist(self) -> DestinationSpec:
        for action_id, action in self.actions.items():
            for name, f in action.fields.items():
                for ref in (f.catalog, f.keys_catalog, f.items.catalog if f.items else None):
                    if ref is not None and ref not in self.catalogs:
                        raise ValueError(
                            f"actions.{action_id}.fields.{name} names catalog '{ref}', which is not under catalogs"
                        )
        return self

    def action(self, action_id: str) -> ActionSpec:
        return self.actions[action_id]

    def errors_for(self, action: ActionSpec) -> ErrorClasses:
        return action.errors or self.errors

    def rate_limit_for(self, action: ActionSpec) -> RateLimit:
        return action.rate_limit or self.rate_limit
