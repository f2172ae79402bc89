"""The typed extension points: each role a connector author may fill with Python, and its default.

A spec names a hook by import path ('package.module:name', resolved by `spec.hooks.load_hook`):

- auth, `auth: {kind: hook, hook: ..., options: {...}}`: an `AuthFactory`, called with `AuthHookOptions`;
  without a hook, the declared kinds (api_key, bearer, basic, jwt, hmac; `auth.declared_auth` as a factory).
- reading, `response.hook`: a `ReaderFactory` giving a `ResultReader`; default `reading.ResponseReader`.
- classification, `errors.hook`: a `Classifier`; default `classify.classify`.

Hooks are loaded once per run, never per request. docs/extending.md has a worked example of each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import httpx

from destkit.runtime.config.secrets import Secret
from destkit.runtime.delivery.classify import ErrorTable, Resolution, classify
from destkit.runtime.delivery.reading import ItemResult, ResponseReader
from destkit.runtime.spec.hooks import load_callable
from destkit.runtime.spec.models import ErrorClasses, ResultsSpec


@dataclass(frozen=True, slots=True)
class AuthHookOptions:
    """What an auth hook is given: the sync's secrets and settings, and the spec's `auth.options`."""

    secrets: Mapping[str, Secret]
    settings: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


class AuthFactory(Protocol):
    """`auth: {kind: hook}`: builds the request signer once per sync.

    The returned `httpx.Auth` adds credentials in `auth_flow`, once per attempt, so retries are
    signed afresh and nothing secret sits in the client's headers. Raise ValueError for a malformed
    credential: the sync reports it as a config error before sending anything.
    """

    def __call__(self, options: AuthHookOptions, /) -> httpx.Auth: ...


class ResultReader(Protocol):
    """Reads the per-record results out of a 2xx answer."""

    def read(self, data: Any, keys: list[object], /) -> list[ItemResult] | str:
        """One `ItemResult` per key, in batch order; or a sentence saying why the answer is unreadable
        (the records are then dead-lettered as `unexpected_response`). `data` is the decoded JSON,
        None when the answer is empty or not JSON."""
        ...


class ReaderFactory(Protocol):
    """`response.hook`: builds the action's `ResultReader` from its `response:` spec (once per sync)."""

    def __call__(self, spec: ResultsSpec, /) -> ResultReader: ...


class Classifier(Protocol):
    """`errors.hook`: decides how an answer is handled; see `classify.classify`, the default, for the contract."""

    def __call__(self, status: int | None, headers: Mapping[str, str], body: Any, spec: ErrorTable, /) -> Resolution: ...


def load_auth_factory(path: str) -> AuthFactory:
    return cast(AuthFactory, load_callable(path, "auth.hook", "an auth factory (options) -> httpx.Auth"))


def reader_for(response: ResultsSpec) -> ResultReader:
    """The action's result reader: the spec's `response.hook`, else the declarative `ResponseReader`."""
    if response.hook is None:
        return ResponseReader(response)
    factory = cast(ReaderFactory, load_callable(response.hook, "response.hook", "a reader factory (spec) -> ResultReader"))
    return factory(response)


def classifier_for(errors: ErrorClasses) -> Classifier:
    """The action's classifier: the spec's `errors.hook`, else `classify`."""
    if errors.hook is None:
        return classify
    return cast(Classifier, load_callable(errors.hook, "errors.hook", "a classifier (status, headers, body, spec) -> Resolution"))


__all__ = [
    "AuthFactory", "AuthHookOptions", "Classifier", "ReaderFactory", "ResultReader", "classifier_for",
    "load_auth_factory", "reader_for",
]
