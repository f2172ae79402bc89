"""`build_sync`: a sync config checked as a whole and compiled, in named steps.

Every step adds to one list of issues instead of raising, so a user sees every problem of a
config at once; only a missing spec or action stops early, since nothing else can be checked
without them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from destkit.mapping import (
    CompiledMapping,
    FieldShape,
    MappingConfigError,
    Template,
    TemplateError,
    compile_mapping,
)
from destkit.runtime.config.model import SyncConfig
from destkit.runtime.config.secrets import Secret, redact, redact_live, resolve_secret
from destkit.runtime.config.settings import check_settings, derive_settings
from destkit.runtime.config.urls import check_base_url
from destkit.runtime.delivery.auth import build_auth
from destkit.runtime.delivery.catalogs import catalog_from_config, check_constants
from destkit.runtime.delivery.oauth2 import TokenEndpoint, token_endpoint
from destkit.runtime.delivery.pinning import PinnedTransport
from destkit.runtime.delivery.retry import RetryPolicy
from destkit.runtime.engine.mirror import no_remove_request
from destkit.runtime.engine.sync import Sync
from destkit.runtime.errors import ConfigError, Issue, SpecError
from destkit.runtime.ops.logs import scrub_loggers
from destkit.runtime.spec.loader import load_spec
from destkit.runtime.spec.models import ActionSpec, DestinationSpec
from destkit.runtime.spec.oauth2_model import OAuth2Auth
from destkit.runtime.spec.vocabulary import path_parameters, settings_used


def build_sync(
    config: SyncConfig | Mapping[str, Any] | str | Path,
    *,
    spec: DestinationSpec | None = None,
    base_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    allow_http: bool = False,
    retry: RetryPolicy | None = None,
    needs_secrets: bool = True,
    trust_spec: bool = False,
) -> Sync:
    """Check a sync config (a SyncConfig, a dict, or a YAML file path) and compile it.

    Raises ConfigError listing every problem, each with its key, line (for files) and a fix.
    `needs_secrets=False` (an offline preview: nothing will be sent) lets secrets be absent, and looks
    no host name up in DNS (a run that sends resolves and checks it).
    `trust_spec=True` lets the config name a spec file by path (a spec's hooks run as code);
    a bundled destination id, or a `spec` given here, needs no trust.
    """
    config = load_config(config)
    spec = spec or spec_of(config, trust_spec)
    action = action_of(spec, config)
    settings, issues = check_settings(spec, config)
    issues[:0] = config.deferred_issues  # a wrong `options:` is listed with the problems found after it
    secrets = resolve_secrets(spec, config, needs_secrets, issues)
    derived = derive_settings(spec, config, secrets, settings, needs_secrets)  # e.g. a data center from an API key
    settings_ok = not issues and not derived
    issues += derived
    if settings_ok:
        action = action.resolve(settings)
    check_catalog_names(spec, config, issues)
    check_mirror(action, config, issues)
    mapping = compile_user_mapping(config, action, issues)
    url = base_url_of(spec, config, settings, base_url, settings_ok, allow_http, issues, resolve=needs_secrets)
    endpoint = token_endpoint_of(spec, action, config, settings, base_url, allow_http, issues) if settings_ok else None
    if not issues and needs_secrets:
        check_credentials(spec, action, config, secrets, settings, issues, endpoint)
    if issues:  # refused anyway: what `Sync.prepare` would find with the config's own catalogs is listed too
        check_given_catalogs(spec, action, config, mapping, issues)
        raise ConfigError(redact_issues(issues, secrets))
    assert mapping is not None and url is not None
    scrub_loggers(redact_live)  # httpx logs each request's URL, a query-string API key included
    sync = assemble(config, spec, action, settings, secrets, mapping, url, base_url, transport, retry)
    sync.token_endpoint = endpoint
    if spec.user_url and transport is None:
        sync.transport = pinned_transport(sync, allow_http)
    return sync


def load_config(config: SyncConfig | Mapping[str, Any] | str | Path) -> SyncConfig:
    """A config from a YAML file path, a dict or an existing SyncConfig."""
    if isinstance(config, str | Path):
        return SyncConfig.load(config, defer_option_issues=True)
    if isinstance(config, SyncConfig):
        return config
    return SyncConfig.from_dict(dict(config), defer_option_issues=True)


def spec_of(config: SyncConfig, trust_spec: bool = False) -> DestinationSpec:
    """The spec the config names (a bundled id, or a YAML path relative to the config file, if trusted)."""
    file = config.source_file
    destination = config.destination
    if file and not Path(destination).is_absolute() and destination.endswith((".yaml", ".yml")):
        destination = str(Path(file).parent / destination)
    try:
        return load_spec(destination, trust_spec=trust_spec)
    except SpecError as exc:
        if exc.issues and exc.issues[0].key == "destination":
            first = exc.issues[0]
            raise ConfigError([Issue("destination", first.message, first.fix, file, config.line_of("destination"))]) from None
        raise


def action_of(spec: DestinationSpec, config: SyncConfig) -> ActionSpec:
    action = spec.actions.get(config.action)
    if action is None:
        raise ConfigError([Issue("action", f"'{config.action}' is not an action of {spec.name}.",
                                 f"use one of: {', '.join(spec.actions)}.", config.source_file, config.line_of("action"))])
    return action


def resolve_secrets(spec: DestinationSpec, config: SyncConfig, needs_secrets: bool, issues: list[Issue]) -> dict[str, Secret]:
    """Every secret the action uses, resolved from its reference; unknown or missing ones are issues."""
    file = config.source_file
    base_dir = Path(file).parent if file else None
    usable = [n for n, s in spec.secrets.items() if s.actions is None or config.action in s.actions]
    secrets: dict[str, Secret] = {}
    for name in usable:
        s = spec.secrets[name]
        if name not in config.secrets:
            if s.required and needs_secrets:
                issues.append(Issue(f"secrets.{name}", f"the secret '{name}' ({s.title or name}) is not given.",
                                    f"add `secrets: {{{name}: {{env: {name.upper()}}}}}`.", file, config.line_of("secrets")))
            continue
        secret, issue = resolve_secret(name, config.secrets[name], allow_literal=not config.from_file, base_dir=base_dir)
        if issue is not None:
            if needs_secrets:
                issues.append(Issue(issue.key, issue.message, issue.fix, file, config.line_of(issue.key)))
        elif secret is not None:
            secrets[name] = secret
    for name in config.secrets:
        if name not in usable:
            issues.append(Issue(f"secrets.{name}", f"'{name}' is not a secret of {spec.name}'s {config.action} action.",
                                f"use one of: {', '.join(usable) or '(none)'}.", file, config.line_of(f"secrets.{name}")))
    return secrets


def check_catalog_names(spec: DestinationSpec, config: SyncConfig, issues: list[Issue]) -> None:
    for name in config.catalogs or {}:
        if name not in spec.catalogs:
            issues.append(Issue(f"catalogs.{name}", f"'{name}' is not a catalog of {spec.name}.",
                                f"use one of: {', '.join(spec.catalogs) or '(none)'}.", config.source_file,
                                config.line_of(f"catalogs.{name}")))


def check_mirror(action: ActionSpec, config: SyncConfig, issues: list[Issue]) -> None:
    """`options.mirror` removes members, so the action must say how (`remove:` in its spec)."""
    if config.options.mirror and action.removal() is None:
        issues.append(no_remove_request(config.action, config.source_file, config.line_of("options.mirror")))


def check_given_catalogs(spec: DestinationSpec, action: ActionSpec, config: SyncConfig, mapping: CompiledMapping | None,
                         issues: list[Issue]) -> None:
    """Constant tags and custom-property keys checked against the catalogs the config gives (normally done
    when the sync is prepared), so a config refused for another reason lists these problems in the same pass."""
    given = config.catalogs or {}
    catalogs = {name: catalog_from_config(name, spec.catalogs[name], values)
                for name, values in given.items() if name in spec.catalogs}
    fields = {}
    for name, f in action.fields.items():
        refs = [r for r in (f.catalog, f.keys_catalog, f.items.catalog if f.items else None) if r is not None]
        if name in config.mapping and refs and all(r in catalogs for r in refs):
            fields[name] = f
    if not fields:
        return
    if mapping is None:  # the whole mapping did not compile: each catalog field alone may
        mapping = CompiledMapping(apply=dict, fields=())
        for name, f in fields.items():
            try:
                one = compile_mapping({name: config.mapping[name]}, {name: FieldShape(f.types)})
            except MappingConfigError:
                continue  # already an issue
            mapping.constants.update(one.constants)
            mapping.object_keys.update(one.object_keys)
    found = check_constants(catalogs, fields, mapping.constants, mapping.object_keys)
    issues += [Issue(i.key, i.message, i.fix, config.source_file, config.line_of(i.key)) for i in found]


def field_shapes(action: ActionSpec) -> dict[str, FieldShape]:
    # a field the runtime can resolve (e.g. an id from the state store) need not be mapped
    return {name: FieldShape(f.types, f.required and f.resolve is None) for name, f in action.fields.items()}


def compile_user_mapping(config: SyncConfig, action: ActionSpec, issues: list[Issue]) -> CompiledMapping | None:
    try:
        return compile_mapping(config.mapping, field_shapes(action))
    except MappingConfigError as exc:
        issues += [Issue(i.key, i.message, i.fix, config.source_file, config.line_of(i.key)) for i in exc.issues]
        return None


def base_url_of(spec: DestinationSpec, config: SyncConfig, settings: Mapping[str, Any], override: str | None,
                settings_ok: bool, allow_http: bool, issues: list[Issue], *, resolve: bool = True) -> str | None:
    """The base URL (the override, or the spec's template rendered with settings), passed by the URL guard."""
    if not settings_ok:
        return override
    file = config.source_file
    url = override
    if url is None:
        try:
            url = Template(spec.base_url).render({"settings": settings})
        except TemplateError as exc:
            issues.append(Issue("base_url", f"{exc}.", "check the settings the spec's base_url uses.", file))
            return None
    # a user's URL is resolved and checked even with a transport given: the transport may send it anywhere
    problem = check_base_url(url, override=override is not None, allow_http=allow_http, user_url=spec.user_url,
                             resolve=resolve)
    if problem:
        issues.append(Issue("base_url" if override else "settings", problem + ".",
                            "use the https URL of the destination." if override else
                            "fix the settings the base URL is built from.", file))
    return url


def pinned_transport(sync: Sync, allow_http: bool) -> PinnedTransport:
    """The transport of a sync to the user's own URL: it connects only to addresses the URL guard passes,
    resolved and checked again each run (a name that changes its answer after the check is not followed)."""
    # the pool limits Sync gives httpx's own transport
    limits = httpx.Limits(max_connections=sync.concurrency * 2, max_keepalive_connections=sync.concurrency * 2)
    return PinnedTransport(allow_loopback=allow_http, limits=limits)


def token_endpoint_of(spec: DestinationSpec, action: ActionSpec, config: SyncConfig, settings: Mapping[str, Any],
                      override: str | None, allow_http: bool, issues: list[Issue]) -> TokenEndpoint | None:
    """An oauth2 block's token URL, rendered and passed by the URL guard (it follows a base URL override to an
    emulator when it is on the spec's API host); None for the other auth kinds."""
    auth = action.auth or spec.auth
    if not isinstance(auth, OAuth2Auth):
        return None
    try:
        spec_base_url = Template(spec.base_url).render({"settings": dict(settings)})
        return token_endpoint(auth, settings, spec_base_url=spec_base_url, override=override, allow_http=allow_http)
    except (ValueError, TemplateError) as exc:
        key = "settings" if settings_used(auth.token_url) else "base_url" if override else "auth.token_url"
        issues.append(Issue(key, f"{exc}.", "point the token URL at the destination's HTTPS token endpoint.",
                            config.source_file, config.line_of(key) if key == "settings" else None))
        return None


def check_credentials(spec: DestinationSpec, action: ActionSpec, config: SyncConfig, secrets: Mapping[str, Secret],
                      settings: Mapping[str, Any], issues: list[Issue], endpoint: TokenEndpoint | None = None) -> None:
    """Credentials are rendered and decoded once now, so a malformed one is a config error, not 1,000 failures."""
    auth = action.auth or spec.auth
    try:
        build_auth(auth, dict(secrets), dict(settings), endpoint)
    except (ValueError, TemplateError) as exc:
        used = sorted(set(re.findall(r"secrets\.([A-Za-z_]\w*)", auth.model_dump_json())))
        key = f"secrets.{used[0]}" if len(used) == 1 else "secrets"
        issues.append(Issue(key, f"the credentials cannot be used: {redact(str(exc), secrets.values())}.",
                            "check the secret's value and format.", config.source_file, config.line_of(key)))


def redact_issues(issues: list[Issue], secrets: Mapping[str, Secret]) -> list[Issue]:
    """A secret pasted into a setting or the mapping must not come back in the error."""
    if not secrets:
        return issues
    return [Issue(i.key, redact(i.message, secrets.values()), redact(i.fix, secrets.values()), i.file, i.line)
            for i in issues]


def assemble(config: SyncConfig, spec: DestinationSpec, action: ActionSpec, settings: dict[str, Any],
             secrets: dict[str, Secret], mapping: CompiledMapping, url: str, override: str | None,
             transport: httpx.AsyncBaseTransport | None, retry: RetryPolicy | None) -> Sync:
    if not (spec.user_url and override is None):
        return Sync(config, spec, action, settings, secrets, mapping, url.rstrip("/"), transport=transport, retry=retry)
    # the user's URL is used exactly as given (httpx would add a slash to a base URL's path)
    parsed = httpx.URL(url)
    origin = str(parsed.copy_with(raw_path=b"/", query=None, fragment=None)).rstrip("/")
    sync = Sync(config, spec, action, settings, secrets, mapping, origin, transport=transport, retry=retry)
    user_path = parsed.raw_path.decode("ascii")
    sync.path = user_path + sync.path if sync.path else user_path
    sync.path_params = path_parameters(sync.path)
    return sync


__all__ = ["build_sync"]
