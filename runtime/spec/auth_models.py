"""The auth blocks of the spec language (`auth: {kind: ...}`), one model per kind.

Imports only pydantic and the spec room's base models; `models` re-exports every name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Field, model_validator

from destkit.runtime.spec.oauth2_model import OAuth2Auth
from destkit.runtime.spec.settings_models import StrictModel

_Strict = StrictModel


class ApiKeyAuth(_Strict):
    kind: Literal["api_key"]
    in_: Literal["header", "query"] = Field(default="header", alias="in")
    name: str
    value: str = Field(description="template, e.g. '{{ secrets.api_key }}'")


class BearerAuth(_Strict):
    kind: Literal["bearer"]
    token: str


class BasicAuth(_Strict):
    kind: Literal["basic"]
    username: str
    password: str


class HookAuth(_Strict):
    kind: Literal["hook"]
    hook: str = Field(description="import path 'package.module:function' of an auth factory "
                      "(AuthHookOptions) -> httpx.Auth (docs/extending.md)")
    options: dict[str, Any] = Field(default_factory=dict)


class NoAuth(_Strict):
    kind: Literal["none"]


class JwtAuth(_Strict):
    """A fresh HS256 JSON Web Token per request."""

    kind: Literal["jwt"]
    secret: str = Field(description="template, e.g. '{{ secrets.jwt_secret }}'")
    claims: dict[str, Any] = Field(default_factory=dict, description="static claims; iat and exp are added")
    ttl_seconds: int = Field(default=300, ge=1, le=86400)
    header: str = "Authorization"
    scheme: str = "Bearer"
    clock_skew_seconds: int = Field(
        default=30, ge=0, le=600,
        description="iat is back-dated by this much, so a receiver whose clock runs behind still accepts the token",
    )


HmacScheme = Literal["standard_webhooks", "hex_body", "github", "shopify", "stripe"]
SettingChoice = Annotated[str, Field(pattern=r"^\{\{\s*settings\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$")]
"""`{{ settings.<name> }}`: a choice the user makes in the config (the setting's enum lists the allowed values)."""


class HmacAuth(_Strict):
    """Signs each request body, the way the receiver's convention verifies it.

    `standard_webhooks` follows standardwebhooks.com (webhook-id/-timestamp/-signature). The hex_body family
    signs the raw body with the secret as text: `hex_body` (hex in `header`), and the presets `github`
    (X-Hub-Signature-256: sha256=<hex>), `shopify` (X-Shopify-Hmac-Sha256: <base64>) and `stripe`
    (Stripe-Signature: t=<unix seconds>,v1=<hex of "<t>.<body>">); `header`, `encoding`, `prefix` and
    `signed_timestamp` override a preset's choice.
    """

    kind: Literal["hmac"]
    secret: str = Field(description="template; standard_webhooks: base64, 'whsec_' prefix and padding optional; "
                                    "the hex_body family: the text itself")
    scheme: HmacScheme | SettingChoice = Field(
        default="standard_webhooks", description="a scheme, or '{{ settings.<name> }}' to let the user choose one"
    )
    header: str | None = Field(default=None, description="hex_body family: the signature header (X-Signature for hex_body)")
    encoding: Literal["hex", "base64"] | None = Field(default=None, description="hex_body family: the digest's encoding")
    prefix: str | None = Field(default=None, description="hex_body family: put before the digest, e.g. 'sha256='")
    signed_timestamp: bool | None = Field(
        default=None, description="hex_body family: sign '<unix seconds>.<body>' and send 't=<seconds>,v1=<digest>'"
    )

    @model_validator(mode="after")
    def _options_fit_the_scheme(self) -> HmacAuth:
        options = [name for name in ("header", "encoding", "prefix", "signed_timestamp") if getattr(self, name) is not None]
        if self.scheme == "standard_webhooks" and options:
            raise ValueError(f"{', '.join(options)}: only for the hex_body family of schemes, not standard_webhooks")
        if self.signed_timestamp and self.prefix:
            raise ValueError("prefix: a signed timestamp sends 't=<seconds>,v1=<digest>', which takes no prefix")
        return self


AuthKind: TypeAlias = ApiKeyAuth | BearerAuth | BasicAuth | HookAuth | NoAuth | JwtAuth | HmacAuth | OAuth2Auth
"""Every auth block's model (the `kind:` chooses one)."""
Auth = Annotated[AuthKind, Field(discriminator="kind")]


__all__ = ["ApiKeyAuth", "Auth", "AuthKind", "BasicAuth", "BearerAuth", "HmacAuth", "HmacScheme", "HookAuth", "JwtAuth", "NoAuth", "OAuth2Auth", "SettingChoice"]
