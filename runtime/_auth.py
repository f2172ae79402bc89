"""httpx.Auth implementations for the spec's auth kinds.

Credentials are rendered once per sync from the spec's templates and held as `Secret`s; they are
attached in `auth_flow`, so they never sit in the client's default headers (and its repr).
"""

from __future__ import annotations

import base64
from collections.abc import Generator, Mapping
from typing import Any

import httpx

from destkit.mapping import Template
from destkit.runtime.hooks import load_hook
from destkit.runtime.secrets import Secret
from destkit.runtime.spec import ApiKeyAuth, BasicAuth, BearerAuth, HookAuth, NoAuth


def _render(template: str, secrets: Mapping[str, Secret], settings: Mapping[str, Any]) -> Secret:
    context = {"secrets": {k: v.reveal() for k, v in secrets.items()}, "settings": dict(settings)}
    return Secret(Template(template).render(context))


class HeaderAuth(httpx.Auth):
    def __init__(self, name: str, value: Secret) -> None:
        self.name = name
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.name] = self._value.reveal()
        yield request

    def __repr__(self) -> str:
        return f"HeaderAuth({self.name!r}, ***)"


class QueryAuth(httpx.Auth):
    def __init__(self, name: str, value: Secret) -> None:
        self.name = name
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params({self.name: self._value.reveal()})
        yield request

    def __repr__(self) -> str:
        return f"QueryAuth({self.name!r}, ***)"


def build_auth(spec_auth: ApiKeyAuth | BearerAuth | BasicAuth | HookAuth | NoAuth,
               secrets: Mapping[str, Secret], settings: Mapping[str, Any]) -> httpx.Auth | None:
    if isinstance(spec_auth, ApiKeyAuth):
        value = _render(spec_auth.value, secrets, settings)
        return HeaderAuth(spec_auth.name, value) if spec_auth.in_ == "header" else QueryAuth(spec_auth.name, value)
    if isinstance(spec_auth, BearerAuth):
        token = _render(spec_auth.token, secrets, settings)
        return HeaderAuth("Authorization", Secret("Bearer " + token.reveal()))
    if isinstance(spec_auth, BasicAuth):
        user = _render(spec_auth.username, secrets, settings).reveal()
        password = _render(spec_auth.password, secrets, settings).reveal()
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
        return HeaderAuth("Authorization", Secret("Basic " + encoded))
    if isinstance(spec_auth, HookAuth):
        factory = load_hook(spec_auth.hook)
        auth: httpx.Auth = factory(secrets=secrets, settings=settings, **spec_auth.options)
        return auth
    return None
