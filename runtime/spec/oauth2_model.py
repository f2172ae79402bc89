"""The `oauth2` auth block: an access token fetched from a token endpoint (RFC 6749) and sent as a bearer token.

Kept apart from models.py (which puts it in the `Auth` union) so the auth kinds' common models stay short.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class OAuth2Auth(BaseModel):
    """Client credentials (RFC 6749 §4.4) or refresh-token (§6) grant; the token is cached until it expires,
    refreshed once when the API answers 401, and never written anywhere."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["oauth2"]
    grant: Literal["refresh_token", "client_credentials"]
    token_url: str = Field(description="template over settings: the token endpoint, on any HTTPS host; when "
                                       "--base-url points elsewhere, a token URL on the base URL's host follows it")
    client_id: str = Field(description="template, e.g. '{{ secrets.client_id }}'")
    client_secret: str = Field(description="template, e.g. '{{ secrets.client_secret }}'")
    refresh_token: str | None = Field(default=None, description="template; the refresh_token grant only. A new "
                                      "refresh token in the token answer replaces it for the rest of the run")
    scope: str | None = Field(default=None, description="template over settings: the scope to ask for (optional)")
    client_auth: Literal["body", "basic"] = Field(
        default="body", description="how the client authenticates to the token endpoint: client_id and "
        "client_secret in the form body (client_secret_post), or HTTP Basic (client_secret_basic)")
    expiry_skew_seconds: int = Field(default=60, ge=0, le=3600,
                                     description="a token is refreshed this long before its expires_in runs out")

    @model_validator(mode="after")
    def _grant_has_its_token(self) -> OAuth2Auth:
        if self.grant == "refresh_token" and not self.refresh_token:
            raise ValueError("refresh_token: the refresh_token grant needs a refresh_token template, "
                             "e.g. '{{ secrets.refresh_token }}'")
        if self.grant == "client_credentials" and self.refresh_token:
            raise ValueError("refresh_token: only for the refresh_token grant (client_credentials sends none)")
        return self


__all__ = ["OAuth2Auth"]
