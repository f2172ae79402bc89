"""The spec language's settings and secrets (what a user configures), and the strict base of every spec model."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class StrictModel(BaseModel):
    """A spec model: unknown keys are errors (a typo never passes silently), aliases and names both accepted."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DeriveRule(StrictModel):
    """`derive: {secret: api_key, pattern: "-([a-z]+[0-9]+)$"}`: the setting is a part of a secret (e.g. the
    data center an API key ends with), the pattern's one group; the user does not set it."""

    secret: str = Field(description="the secret the value is read from")
    pattern: str = Field(description="a regular expression searched in the secret; its one group is the value")

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, value: str) -> str:
        try:
            groups = re.compile(value).groups
        except re.error as exc:
            raise ValueError(f"'{value}' is not a regular expression: {exc}") from None
        if groups != 1:
            raise ValueError(f"the pattern has {groups} groups; write exactly one, around the part that is the value")
        return value


class SettingSchema(StrictModel):
    """A non-secret setting the user fills in (or one derived from a secret); JSON-Schema keywords,
    checked once per sync."""

    type: Literal["string", "number", "integer", "boolean"] = "string"
    title: str | None = None
    description: str | None = None
    default: Any = None
    pattern: str | None = None
    enum: list[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None
    required: bool | None = Field(default=None, description="defaults to true when there is no default")
    examples: list[Any] | None = Field(
        default=None, min_length=1, description="valid values, e.g. for `destkit test` when a testing profile "
        "gives none; each must pass the setting's type, pattern, enum and range"
    )
    actions: list[str] | None = Field(
        default=None, description="the actions that need it (default: all); a required setting is required only "
        "for a sync of one of these actions, and a sync of another action may leave it out"
    )
    derive: DeriveRule | None = Field(
        default=None, description="the value is read from a secret, not given by the user: the one group of "
        "`pattern` searched in `secret` (a secret it does not match is a config error)"
    )

    @property
    def is_required(self) -> bool:
        """Whether the user must give it (a derived setting is never the user's to give)."""
        if self.derive is not None:
            return False
        return self.required if self.required is not None else self.default is None


    def required_for(self, action: str | None) -> bool:
        """Whether a sync of `action` must give it; with no action (the destination's schema in general), a
        setting only some actions need is not required."""
        return self.is_required and (self.actions is None or action in self.actions)


class SecretSchema(StrictModel):
    title: str | None = None
    description: str | None = None
    required: bool = True
    actions: list[str] | None = Field(default=None, description="the actions that use it (default: all)")
    examples: list[str] | None = Field(
        default=None, min_length=1, description="made-up values of the secret's form (never a real one), for "
        "`destkit test` without a testing profile, e.g. an API key whose suffix a setting is derived from"
    )
