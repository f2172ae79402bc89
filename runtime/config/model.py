"""The sync config a CDP user writes: destination, action, settings, secret references, mapping.

Parsed into `SyncConfig`; the checks against the spec live in `settings.py`, `secrets.py` and
`engine/build.py` (`build_sync`), which reports every problem at once with the file, line and key.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_serializer,
    field_validator,
)
from pydantic_core import ErrorDetails

from destkit.mapping.paths import split_path
from destkit.runtime.config.secret_files import FileProblem, read_regular_file
from destkit.runtime.config.secrets import Secret
from destkit.runtime.config.source_paths import UnknownPathPolicy
from destkit.runtime.config.yaml_errors import describe, error_line, excerpt
from destkit.runtime.errors import ConfigError, Issue
from destkit.runtime.spec import rate_values
from destkit.runtime.spec.located_yaml import LocatedYaml, YamlLimitError, yaml_error_line
from destkit.runtime.spec.rate_values import (
    MAX_CONCURRENCY,
    MIN_REQUESTS_PER_SECOND,
    NOT_A_BOOL,
    InFlightOrUnset,
    OptionRate,
)

Policy = Literal["reject", "drop_and_warn"]

# a config is keys and references: a larger file is a mistake, and PyYAML would take minutes and gigabytes on it
MAX_CONFIG_BYTES = 1024 * 1024
_FILE_FIX = ("give the path of a .yaml sync config of at most 1 MiB (settings, secret references and a mapping; "
             "long `catalogs:` lists are better read from the destination).")


class SyncOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_unknown_tag: Policy = Field(default="reject", description="a record with a tag the destination lacks: reject it, or drop the tag and warn")
    on_unknown_custom_property: Policy = "reject"
    on_unknown: dict[str, Policy] = Field(default_factory=dict, description="per catalog name, overrides the two above")
    concurrency: InFlightOrUnset = Field(default=None, ge=1, le=MAX_CONCURRENCY)
    requests_per_second: OptionRate = Field(default=None, ge=MIN_REQUESTS_PER_SECOND,
                                            description="at least one request a minute; overrides the spec's")
    max_attempts: Annotated[int, NOT_A_BOOL] = Field(default=5, ge=1, le=100)
    # the time limits are finite (allow_inf_nan=False): an infinite one let a stalled destination hold a run forever
    max_retry_seconds: Annotated[float, NOT_A_BOOL] = Field(default=600.0, gt=0, allow_inf_nan=False,
                                                            description="time budget for retrying one batch")
    max_retry_after: Annotated[float, NOT_A_BOOL] = Field(default=120.0, ge=0, allow_inf_nan=False,
                                                          description="cap on a Retry-After we honour")
    timeout: Annotated[float | None, NOT_A_BOOL] = Field(default=None, gt=0, allow_inf_nan=False,
                                                         description="read timeout per request, seconds")
    max_response_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, description="an answer whose body, once "
                                    "decoded, is larger is not read (its records: unexpected_response)")
    request_deadline_seconds: Annotated[float, NOT_A_BOOL] = Field(default=120.0, gt=0, allow_inf_nan=False, description="the most one request may take, "
                                            "sending and reading its whole answer")
    max_record_bytes: int = Field(default=1_000_000, ge=64, description="a serialized record over this is invalid (too_large)")
    incremental: bool = Field(default=False, description="with a state store: a record whose body is the same as "
                              "the last one delivered for its key is skipped (outcome skipped, reason unchanged)")
    mirror: bool = Field(default=False, description="with a state store and an action with `remove:`: the audience "
                         "mirrors the input, so the members delivered before and absent now are removed (once the whole "
                         "input was read); unchanged members are not sent again (implies incremental)")
    allow_empty_mirror: bool = Field(default=False, description="a mirror run whose input holds no record at all "
                                     "removes every member only with this; off, such a run removes nobody and says why "
                                     "(an export that came out empty must not empty the audience)")
    include_payloads: bool = Field(default=False, description="put record payloads in reports (off: reports hold row, key and reason)")
    on_unknown_source_path: UnknownPathPolicy = Field(
        default="error", description="a mapped source path the input's header (or first records) lacks: a config "
        "error, or a warning (sparse JSON whose first records miss a field)")
    primary_key: str | None = Field(
        default=None, description="a source path (as a mapping reads one, e.g. customer_id): its value, as text, is "
        "carried into every outcome and report line of the record, so they join back to the source")

    @field_validator("primary_key")
    @classmethod
    def _a_source_path(cls, path: str | None) -> str | None:
        if path is not None:
            split_path(path)  # a ValueError names what a source path looks like
        return path

    def policy_for(self, catalog: str, reason: str) -> Policy:
        if catalog in self.on_unknown:
            return self.on_unknown[catalog]
        if reason == "unknown_tag":
            return self.on_unknown_tag
        if reason == "unknown_custom_property":
            return self.on_unknown_custom_property
        return "reject"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the file system: opening it says so
        return True


def _read_config(path: Path) -> bytes:
    """The config file's bytes: a regular file of at most MAX_CONFIG_BYTES (a FIFO is not waited on)."""
    if not _exists(path):  # before opening: a missing file is the common mistake and gets the plain words
        raise ConfigError([Issue("(file)", f"config file {path} does not exist.", "check the path.")])
    data = read_regular_file(path, MAX_CONFIG_BYTES, "config file", _FILE_FIX, "a sync config")
    if isinstance(data, FileProblem):
        raise ConfigError([Issue("(file)", data.message, data.fix)])
    return data


def _text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


_YAML_KINDS = {list: "a list", int: "a number", float: "a number", bool: "true/false", type(None): "empty"}


def validation_message(err: ErrorDetails) -> tuple[str, str]:
    """(message, fix) for one pydantic error of a sync config: the fix names the key or value meant."""
    loc = list(err["loc"])
    if err["type"] == "extra_forbidden":
        options = loc[:1] == ["options"] and len(loc) == 2
        known = list(SyncOptions.model_fields if options else SyncConfig.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        where = "a sync option" if options else "a sync config key"
        return (f"'{loc[-1]}' is not {where}.",
                f"did you mean '{close[0]}'?" if close else f"remove it or check its spelling ({', '.join(known)}).")
    if err["type"] == "missing":
        return f"{err['msg']}.", f"add `{loc[-1]}:`."
    if err["type"] == "dict_type" and len(loc) == 1:  # `settings: [acme]`, `secrets: 5`, `mapping:` left empty
        return (f"`{loc[0]}` must be a mapping of key: value lines, not {_YAML_KINDS.get(type(err['input']), 'text')}.",
                f"write each entry on its own line under `{loc[0]}:`, indented, as `key: value`.")
    if err["type"] == "literal_error":
        allowed = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        close = difflib.get_close_matches(str(err["input"]), allowed, n=1, cutoff=0.6)
        return (f"{err['input']!r} is not one of: {', '.join(allowed)}.",
                f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(allowed)}.")
    if err["type"] == "finite_number":  # only the time limits refuse inf and nan
        return f"{rate_values.shown(err['input'])} is not a finite number of seconds.", "give a number of seconds, e.g. 60."
    if err["type"] == rate_values.FIXABLE:
        return f"{err['msg']}.", rate_values.fix_of(err.get("ctx"))
    if err["type"] == "value_error" and loc == ["options", "primary_key"]:  # split_path's words, without pydantic's
        return f"{str(err['msg']).removeprefix('Value error, ')}.", "give the source field's name, with dots for nesting."
    return f"{err['msg']}.", ""


class SyncConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destination: str = Field(description="a bundled destination id (hello_charles) or a path to a spec file")
    action: str
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, Any] = Field(default_factory=dict, description="{env: NAME} or {file: PATH} per secret")
    mapping: dict[str, Any]
    options: SyncOptions = Field(default_factory=SyncOptions)
    catalogs: dict[str, list[str] | dict[str, str]] | None = Field(
        default=None, description="catalog values given here instead of read from the destination"
    )

    @field_validator("secrets")
    @classmethod
    def _wrap_literals(cls, secrets: dict[str, Any]) -> dict[str, Any]:
        """A secret given as its value (from Python) is held as a Secret from the start, so no repr or dump of
        the config shows it; references stay as they are. (In a config file a value is refused later.)"""
        return {k: Secret(v) if isinstance(v, str) else v for k, v in secrets.items()}

    @field_serializer("secrets", when_used="json")
    def _secrets_as_json(self, secrets: dict[str, Any]) -> dict[str, Any]:
        return {k: "***" if isinstance(v, Secret) else v for k, v in secrets.items()}

    # where it came from, for error messages (not part of the config)
    _doc: LocatedYaml | None = PrivateAttr(default=None)
    _source_file: str | None = PrivateAttr(default=None)
    _deferred: list[Issue] = PrivateAttr(default_factory=list)

    @property
    def source_file(self) -> str | None:
        return self._source_file

    @property
    def from_file(self) -> bool:
        """Configs read from a file may hold only secret references, never values."""
        return self._doc is not None

    def line_of(self, key: str) -> int | None:
        if self._doc is None:
            return None
        return self._doc.line_of([int(p) if p.isdigit() else p for p in key.split(".")])

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source_file: str | None = None, doc: LocatedYaml | None = None,
                  defer_option_issues: bool = False) -> SyncConfig:
        if not isinstance(data, dict):
            raise ConfigError([Issue("(root)", "a sync config must be a mapping with destination, action, settings, secrets and mapping.", "", source_file, 1)])
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            issues = []
            for err in exc.errors():
                loc = list(err["loc"])
                key = ".".join(str(p) for p in loc) or "(root)"
                msg, fix = validation_message(err)
                issues.append(Issue(key, msg, fix, source_file, doc.line_of(loc) if doc else None))
            provisional = cls._without_options(data, issues) if defer_option_issues else None
            if provisional is None:
                raise ConfigError(issues) from None
            config = provisional
        config._source_file = source_file
        config._doc = doc
        return config

    @classmethod
    def _without_options(cls, data: dict[str, Any], issues: list[Issue]) -> SyncConfig | None:
        """When only `options:` is wrong: the config with default options, carrying those issues, so the
        settings, secrets and mapping are checked too and every problem is listed in one pass."""
        if not all(issue.key == "options" or issue.key.startswith("options.") for issue in issues):
            return None
        try:
            config = cls.model_validate({**data, "options": {}})
        except ValidationError:
            return None
        config._deferred = issues
        return config

    @property
    def deferred_issues(self) -> list[Issue]:
        """The `options:` problems of a config loaded with `defer_option_issues`: it must still be refused."""
        return list(self._deferred)

    @classmethod
    def load(cls, path: str | Path, *, defer_option_issues: bool = False) -> SyncConfig:
        """Read a YAML (or JSON) config file; errors carry the file and line."""
        p = Path(path)
        try:
            doc = LocatedYaml(_read_config(p).decode("utf-8"), str(p))
        except YamlLimitError as exc:
            raise ConfigError([Issue("(yaml)", f"{exc.problem}.", exc.fix, str(p), yaml_error_line(exc))]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([Issue("(yaml)", f"not valid YAML: {describe(exc)}.",
                                     "fix the YAML syntax on this line:" + excerpt(_text_of(p), exc),
                                     str(p), error_line(exc))]) from None
        except UnicodeDecodeError:
            raise ConfigError([Issue("(file)", f"{p} is not UTF-8 text.", "save it as UTF-8.")]) from None
        return cls.from_dict(doc.data, source_file=str(p), doc=doc, defer_option_issues=defer_option_issues)
