"""What the web mapping tester does, without HTTP: describe an action, read a pasted sample, preview each
sample record (its mapped body or its outcome), send the sample to an in-process emulator, write a config.

Secrets typed into the page live only in a `Vault` in this process: they are never put in an answer, a
file or a downloaded config (that one names `{env: ...}` references instead), and every text that leaves
comes through `redact` first.
"""

from __future__ import annotations

import inspect
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import yaml

from destkit.runtime.config.secrets import Secret, redact
from destkit.runtime.config.source_paths import Columns, unknown_source_paths
from destkit.runtime.engine import Sync, build_sync
from destkit.runtime.engine.sources import read_columns, read_records
from destkit.runtime.errors import ConfigError, DestkitError, Issue
from destkit.runtime.outcomes import Outcome
from destkit.runtime.spec.hooks import load_hook
from destkit.runtime.spec.loader import bundled_spec_names, load_spec
from destkit.runtime.spec.located_yaml import LocatedYaml
from destkit.runtime.spec.models import ActionSpec, DestinationSpec

EMULATOR_ORIGIN = "http://emulator.destkit.test"  # served in process through an ASGI transport, never resolved
USER_URL_ORIGIN = "http://127.0.0.1"  # a user's own URL (a webhook) is resolved and checked: an address needs no DNS
MAX_SAMPLE_RECORDS = 200
MAX_ANSWER_CHARS = 2000


# --- describing destinations and actions -------------------------------------------------------------


def destinations() -> list[dict[str, Any]]:
    """The bundled destinations with their actions, for the page's pickers."""
    found = []
    for name in bundled_spec_names():
        spec = load_spec(name)
        found.append({"id": spec.id, "name": spec.name, "actions": [
            {"id": action_id, "title": action.title} for action_id, action in spec.actions.items()]})
    return found


def field_rows(action: ActionSpec) -> list[dict[str, Any]]:
    """Each field of `action`: name, title, description, type, required mark and catalog."""
    return [{"name": name, "title": f.title or name, "description": f.description or "", "required": f.required,
             "type": f.type if isinstance(f.type, str) else " | ".join(f.type),
             "catalog": f.catalog or f.keys_catalog or (f.items.catalog if f.items else None)}
            for name, f in action.fields.items()]


def describe(destination: str, action_id: str) -> dict[str, Any]:
    """What the page shows of one action: its fields, the settings and secrets to fill in, a starter mapping."""
    spec = load_spec(destination)
    action = action_of(spec, action_id)
    profile = emulator_profile(spec, action_id)
    settings = dict(profile.get("settings", {})) if profile else {}
    return {
        "destination": spec.id, "name": spec.name, "action": action_id, "title": action.title,
        "description": action.description or "", "fields": field_rows(action),
        "settings": [{"name": n, "title": s.title or n, "description": s.description or "",
                      "value": settings.get(n, s.default)} for n, s in spec.settings.items() if s.derive is None],
        "secrets": [{"name": n, "title": spec.secrets[n].title or n} for n in action_secrets(spec, action_id)],
        "emulator": profile is not None,
        "mapping": starter_mapping(action),
    }


def action_of(spec: DestinationSpec, action_id: str) -> ActionSpec:
    if action_id not in spec.actions:
        raise ConfigError([Issue("action", f"{spec.id} has no action {action_id!r}.",
                                 f"use one of: {', '.join(spec.actions)}.")])
    return spec.actions[action_id]


def action_secrets(spec: DestinationSpec, action_id: str) -> list[str]:
    """The secrets the action uses (a secret may belong to some actions only)."""
    return [n for n, s in spec.secrets.items() if s.actions is None or action_id in s.actions]


def starter_mapping(action: ActionSpec) -> str:
    """A mapping that maps every required field from a column of the same name."""
    lines = [f"{name}: {name}" for name, f in action.fields.items() if f.required]
    return "\n".join(lines or [f"{next(iter(action.fields))}: {next(iter(action.fields))}"]) + "\n"


# --- the emulator ------------------------------------------------------------------------------------


def emulator_module(spec: DestinationSpec) -> tuple[Callable[..., Any], Any] | None:
    """(create_app, its module) named by the spec's `emulator:`, or None without one."""
    if not spec.emulator:
        return None
    create_app = load_hook(spec.emulator)
    return create_app, sys.modules.get(spec.emulator.partition(":")[0])


def emulator_profile(spec: DestinationSpec, action_id: str) -> dict[str, Any] | None:
    """The emulator's testing profile of the action (app options, settings, secrets), or None."""
    found = emulator_module(spec)
    if found is None:
        return None
    testing_profile = getattr(found[1], "testing_profile", None)
    profile = testing_profile(action_id) if callable(testing_profile) else None
    if profile is None:
        return None
    demo_profile = getattr(found[1], "demo_profile", None)
    if callable(demo_profile) and (demo := demo_profile())["action"] == action_id:
        # the demo workspace (its tags and properties) is the one the README shows
        return {**profile, "app_options": {**profile["app_options"], **demo["app_options"]}}
    return dict(profile)


def emulator_app(spec: DestinationSpec, profile: dict[str, Any], secrets: dict[str, str]) -> Any:
    """An emulator app that accepts `secrets` (given to its factory under their names when it takes them)."""
    found = emulator_module(spec)
    assert found is not None
    create_app = found[0]
    accepted = inspect.signature(create_app).parameters
    options = dict(profile["app_options"])
    options.update({name: value for name, value in secrets.items() if name in accepted})
    return create_app(**options)


def emulator_base_url(spec: DestinationSpec, settings: dict[str, Any]) -> str:
    """Where the sync addresses the in-process emulator: a made-up origin, or for a destination at the user's
    own URL (a webhook) a loopback address with that URL's path."""
    if not spec.user_url:
        return EMULATOR_ORIGIN
    return USER_URL_ORIGIN + urlsplit(str(settings.get("url", ""))).path


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to the emulator and keeps each answer (method, path, status, body) for the page."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges.append({"method": request.method, "path": request.url.path, "status": response.status_code,
                               "answer": body.decode("utf-8", "replace")[:MAX_ANSWER_CHARS]})
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)


# --- the secrets typed into the page --------------------------------------------------------------------


@dataclass
class Vault:
    """Secret values entered in the page, per destination; in memory only, never written or sent back."""

    values: dict[str, dict[str, Secret]] = field(default_factory=dict)

    def put(self, destination: str, name: str, value: str) -> None:
        if value:
            self.values.setdefault(destination, {})[name] = Secret(value)
        else:
            self.values.get(destination, {}).pop(name, None)

    def names(self, destination: str) -> list[str]:
        return sorted(self.values.get(destination, {}))

    def revealed(self, destination: str) -> dict[str, str]:
        return {name: s.reveal() for name, s in self.values.get(destination, {}).items()}

    def all(self) -> list[Secret]:
        return [s for by_name in self.values.values() for s in by_name.values()]


# --- a tester request -------------------------------------------------------------------------------------


class BadRequest(ConfigError):
    """A request the page would never send (a list where a mapping goes): answered 400 with the fix."""


def mapping_of(body: dict[str, Any], key: str, example: str) -> dict[str, Any]:
    """`body[key]` when it is a JSON object (absent or null: empty), else BadRequest naming it."""
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest([Issue(key, f"the {key} must be a mapping of name: value.", f"send {example}.")])
    return value


@dataclass
class Trial:
    """What the page sends: the destination, action, settings, mapping YAML, extra config YAML and sample."""

    destination: str
    action: str
    settings: dict[str, Any]
    mapping: str
    extra: str
    sample: str
    sample_format: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> Trial:
        return cls(str(body.get("destination", "")), str(body.get("action", "")),
                   mapping_of(body, "settings", '{"settings": {"subdomain": "..."}}'),
                   str(body.get("mapping", "")), str(body.get("extra", "")), str(body.get("sample", "")),
                   str(body.get("format", "csv")))


def yaml_block(text: str, key: str) -> dict[str, Any]:
    """A YAML mapping typed into the page; a ConfigError naming `key` and the line when it is not one."""
    try:
        value = LocatedYaml(text).data if text.strip() else {}  # refuses alias bombs and keys written twice
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ConfigError([Issue(key, f"this is not valid YAML{line}: {getattr(exc, 'problem', exc)}.",
                                 "write one `field: source` pair a line.")]) from None
    if not isinstance(value, dict):
        raise ConfigError([Issue(key, "must be a YAML mapping of `name: value` lines.", "write `field: column`.")])
    return value


def typed_setting(kind: str, value: Any) -> Any:
    """A setting typed into a text box as the type its schema asks for (a wrong one is left for the check)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(text) if kind == "integer" else float(text) if kind == "number" else value
    except ValueError:
        return value


def config_dict(trial: Trial, secrets: dict[str, Any]) -> dict[str, Any]:
    """The sync config the page describes, with `secrets` (values, or references for a download)."""
    extra = yaml_block(trial.extra, "options and catalogs")
    schemas = load_spec(trial.destination).settings
    settings = {k: typed_setting(schemas[k].type if k in schemas else "string", v)
                for k, v in trial.settings.items() if v not in (None, "")}
    config: dict[str, Any] = {"destination": trial.destination, "action": trial.action, "settings": settings}
    if secrets:
        config["secrets"] = secrets
    config["mapping"] = yaml_block(trial.mapping, "mapping")
    config.update({k: v for k, v in extra.items() if k in ("options", "catalogs")})
    return config


@dataclass
class Sample:
    """The records of a pasted or uploaded sample (at most MAX_SAMPLE_RECORDS) and its columns."""

    records: list[Any]
    columns: Columns | None


def read_sample(trial: Trial) -> Sample:
    """The sample, read by the same readers as `destkit sync` (from a private temporary folder, removed at
    once: the sample is the user's data, never a secret)."""
    fmt = "jsonl" if trial.sample_format == "jsonl" else "csv"
    with tempfile.TemporaryDirectory(prefix="destkit-ui-") as folder:
        path = Path(folder) / f"sample.{fmt}"
        path.write_text(trial.sample, encoding="utf-8")
        records = []
        for record in read_records(path, fmt):
            records.append(record)
            if len(records) >= MAX_SAMPLE_RECORDS:
                break
        columns = read_columns(path, fmt) if trial.sample.strip() else None
    return Sample(records, columns)


def check_source_paths(sync: Sync, sample: Sample) -> None:
    """Refuse a mapping that reads a column the sample lacks (as `destkit sync` does), with a did-you-mean;
    `options: {on_unknown_source_path: warn}` lets a sparse JSON sample through."""
    if sample.columns is None or not isinstance(sync.config.mapping, dict):
        return
    issues = unknown_source_paths(sync.config.mapping, sample.columns)
    if sync.config.options.on_unknown_source_path == "warn":
        issues = [i for i in issues if i.key == "(input)"]
    if issues:
        raise ConfigError(issues)


# --- previews and sends -----------------------------------------------------------------------------


@dataclass
class Prepared:
    """A compiled sync for a trial, and the emulator transport it talks to (None: offline)."""

    sync: Sync
    transport: RecordingTransport | None
    secrets: list[Secret]


def prepare(trial: Trial, vault: Vault) -> Prepared:
    """Compile the trial's config against the in-process emulator (or offline when there is none)."""
    spec = load_spec(trial.destination)
    action_of(spec, trial.action)
    profile = emulator_profile(spec, trial.action)
    usable = action_secrets(spec, trial.action)
    entered = {name: value for name, value in vault.revealed(spec.id).items() if name in usable}
    if profile is None:
        sync = build_sync(config_dict(trial, dict(entered)), needs_secrets=False)
        return Prepared(sync, None, vault.all())
    # the emulator accepts the secrets entered here, or its own test credentials where none were entered
    secrets = {**profile.get("secrets", {}), **entered}
    transport = RecordingTransport(httpx.ASGITransport(app=emulator_app(spec, profile, secrets)))
    config = config_dict(trial, secrets)
    sync = build_sync(config, base_url=emulator_base_url(spec, config["settings"]), transport=transport,
                      allow_http=True)
    return Prepared(sync, transport, [*vault.all(), *(Secret(v) for v in secrets.values())])


def outcome_row(outcome: Outcome, secrets: list[Secret]) -> dict[str, Any]:
    row = outcome.to_dict()
    return {k: redact(v, secrets) if isinstance(v, str) else v for k, v in row.items()}


def catalog_values(sync: Sync) -> dict[str, list[str]]:
    """The catalogs the sync read (from the emulator or `catalogs:`), for the page's catalog panel."""
    return {name: sorted(c.values) for name, c in (sync.catalogs or {}).items()}


def issue_rows(exc: DestkitError, secrets: list[Secret]) -> list[dict[str, str]]:
    """A refused config or run as rows of key, message and fix (secrets masked)."""
    issues = exc.issues if isinstance(exc, ConfigError) else [Issue("run", str(exc))]
    return [{"key": i.key, "message": redact(i.message, secrets), "fix": redact(i.fix, secrets)} for i in issues]


async def preview(trial: Trial, vault: Vault) -> dict[str, Any]:
    """Each sample record's mapped body or its outcome with the fix message; the catalogs read."""
    try:
        prepared = prepare(trial, vault)
        sample = read_sample(trial)
        check_source_paths(prepared.sync, sample)
        items = await prepared.sync.apreview(sample.records, MAX_SAMPLE_RECORDS, offline=prepared.transport is None)
    except DestkitError as exc:
        return {"issues": issue_rows(exc, vault.all()), "items": [], "catalogs": {}}
    rows = [{"row": item.row, "body": item.body, "warnings": item.warnings or []} if item.outcome is None
            else {"row": item.row, "outcome": outcome_row(item.outcome, prepared.secrets)} for item in items]
    return {"issues": [], "items": rows, "catalogs": catalog_values(prepared.sync)}


async def send(trial: Trial, vault: Vault) -> dict[str, Any]:
    """Sync the sample to the in-process emulator: each record's outcome and each of the emulator's answers."""
    outcomes: list[Outcome] = []
    try:
        prepared = prepare(trial, vault)
        if prepared.transport is None:
            raise ConfigError([Issue("destination", f"{trial.destination} has no emulator to send the sample to.")])
        sample = read_sample(trial)
        check_source_paths(prepared.sync, sample)
        result = await prepared.sync.arun(sample.records, on_outcome=outcomes.append)
    except DestkitError as exc:
        return {"issues": issue_rows(exc, vault.all()), "outcomes": [], "answers": []}
    answers = [{**x, "answer": redact(x["answer"], prepared.secrets)} for x in prepared.transport.exchanges]
    summary = result.summary
    return {"issues": [], "summary": {"received": summary.received, "delivered": summary.delivered,
                                      "not_delivered": summary.not_delivered},
            "outcomes": [outcome_row(o, prepared.secrets) for o in outcomes], "answers": answers}


def config_yaml(trial: Trial, vault: Vault) -> str:
    """The sync config to download: secrets as `{env: DESTKIT_<NAME>}` references, never their values."""
    spec = load_spec(trial.destination)
    references = {name: {"env": f"{spec.id.upper()}_{name.upper()}"} for name in action_secrets(spec, trial.action)}
    config = config_dict(trial, references)
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    return redact("# A destkit sync config, written by `destkit ui`.\n" + text, vault.all())


def json_bytes(value: Any) -> bytes:
    return orjson.dumps(value, default=str)


__all__ = ["Trial", "Vault", "config_yaml", "describe", "destinations", "preview", "send"]
