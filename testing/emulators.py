"""A destination's emulator, ready to sync against: in process or on a real port.

A spec names its emulator by import path (`emulator: package.module:create_app`); the module may
also expose `testing_profile(action) -> TestingProfile` saying how to test each action against it
(the contract: `destkit.runtime.spec.testing_profile`; only `app_options`, `settings` and
`secrets` are needed). Without one, `default_profile` makes one from the spec. Nothing here
imports hypothesis.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx

from destkit.runtime.engine import Sync, build_sync
from destkit.runtime.spec.hooks import load_hook
from destkit.runtime.spec.loader import load_spec
from destkit.runtime.spec.models import DestinationSpec, SettingSchema
from destkit.runtime.spec.testing_profile import TestingProfile
from destkit.runtime.spec.vocabulary import settings_used

__all__ = [
    "IN_PROCESS_URL",
    "LOOPBACK_URL",
    "Emulator",
    "default_profile",
    "example_settings",
    "load_emulator",
    "point_user_url",
    "profile_for",
    "sync_config",
]

IN_PROCESS_URL = "http://emulator.test"
LOOPBACK_URL = "http://127.0.0.1"  # a user URL must be public or loopback; an IP needs no DNS
_TEXT_CANDIDATES = ("acme", "example", "destkit", "a", "1", "a1", "A")


def _spec(spec: str | Path | DestinationSpec) -> DestinationSpec:
    # the QA kit is the author's own tool on their own spec, so a spec file is trusted
    return spec if isinstance(spec, DestinationSpec) else load_spec(spec, trust_spec=True)


def load_emulator(spec: DestinationSpec) -> tuple[Callable[..., Any], Any]:
    """(create_app, its module) from the spec's `emulator:` import path."""
    if not spec.emulator:
        raise LookupError(
            f"the {spec.name} spec names no emulator (add `emulator: package.module:create_app`)"
        )
    create_app = load_hook(spec.emulator)
    module = importlib.import_module(spec.emulator.partition(":")[0])
    return create_app, module


def _url_settings(spec: DestinationSpec) -> set[str]:
    """The settings a user-URL spec's base URL is made of (none for a fixed base URL)."""
    return settings_used(spec.base_url) if spec.user_url else set()


def _text_default(s: SettingSchema) -> str:
    """The first of a few plain words that the setting's pattern allows."""
    return next((c for c in _TEXT_CANDIDATES if not s.pattern or re.fullmatch(s.pattern, c)), "acme")


def _default_value(s: SettingSchema) -> Any:
    """A value a required setting accepts: the spec's first example, its first enum value, else one of its type."""
    if s.examples:
        return s.examples[0]
    if s.enum:
        return s.enum[0]
    if s.type == "boolean":
        return False
    if s.type in ("number", "integer"):
        return s.minimum if s.minimum is not None else 1
    return _text_default(s)


def _default_settings(spec: DestinationSpec) -> dict[str, Any]:
    """Every required setting filled in, and the URL settings aimed at the loopback address."""
    url_settings = _url_settings(spec)
    settings: dict[str, Any] = {}
    for name, s in spec.settings.items():
        if name in url_settings:
            settings[name] = LOOPBACK_URL + "/destkit-conformance"
        elif s.is_required:
            settings[name] = _default_value(s)
    return settings


def example_settings(spec: DestinationSpec) -> dict[str, Any]:
    """The first example of each required setting that has `examples:`."""
    return {name: s.examples[0] for name, s in spec.settings.items() if s.is_required and s.examples}


def default_profile(spec: DestinationSpec, action: str) -> TestingProfile:
    """A profile for a destination whose emulator has no `testing_profile`: settings from the spec."""
    secrets = {
        name: s.examples[0] if s.examples else "destkit-conformance-secret"
        for name, s in spec.secrets.items()
        if s.actions is None or action in s.actions
    }
    return {"app_options": {}, "settings": _default_settings(spec), "secrets": secrets}


def profile_for(spec: DestinationSpec, action: str, module: Any = None) -> tuple[TestingProfile, bool]:
    """(the action's testing profile, whether the emulator module gave it)."""
    if module is None and spec.emulator:
        _, module = load_emulator(spec)
    hook = getattr(module, "testing_profile", None) if module is not None else None
    profile = hook(action) if hook is not None else None
    if profile is None:
        return default_profile(spec, action), False
    return cast(TestingProfile, dict(profile)), True


def point_user_url(spec: DestinationSpec, settings: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """For a spec whose base URL is the user's own: the URL setting aimed at `origin`, path kept."""
    out = dict(settings)
    for name in sorted(_url_settings(spec)):
        value = out.get(name)
        if value is None:
            default = spec.settings[name].default if name in spec.settings else None
            value = default if isinstance(default, str) else None
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            url = httpx.URL(value)
            rest = url.raw_path.decode("ascii") if url.raw_path not in (b"", b"/") else ""
            out[name] = origin.rstrip("/") + rest
    return out


def _usable_secrets(spec: DestinationSpec, action: str, secrets: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in secrets.items()
        if name not in spec.secrets
        or action in (spec.secrets[name].actions or [action])
    }


def _merge_overrides(config: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`settings`, `secrets` and `options` mappings merge into the config's; None removes a key;
    anything else replaces."""
    for key, value in overrides.items():
        if key in ("settings", "secrets", "options") and isinstance(value, Mapping):
            config[key] = {**config.get(key, {}), **value}
        elif value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config


def sync_config(
    spec: DestinationSpec,
    action: str,
    profile: TestingProfile,
    *,
    mapping: Mapping[str, Any] | None = None,
    destination: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A sync config dict for `action` from a testing profile; `settings`, `secrets` and `options`
    overrides merge into the profile's, other keys replace."""
    if mapping is None:
        mapping = {**{name: name for name in spec.actions[action].fields}, **(profile.get("mapping") or {})}
    config: dict[str, Any] = {
        "destination": destination or spec.id,
        "action": action,
        # a required setting the profile leaves out takes the spec's example, so the config still builds
        "settings": {**example_settings(spec), **(profile.get("settings") or {})},
        "secrets": _usable_secrets(spec, action, profile.get("secrets") or {}),
        "mapping": dict(mapping),
    }
    options = profile.get("options")
    if options:
        config["options"] = dict(options)
    return _merge_overrides(config, overrides)


class Emulator:
    """One running emulator app with what a test needs to sync against it.

    `app` is the ASGI app, `state` what it stores (`app.state.emulator` where the emulator keeps
    one), `transport` the in-process `httpx.ASGITransport` (None when served on a port), `base_url`
    where it answers, `profile(action)` the emulator's testing profile and `sync(action, ...)` a
    `Sync` wired to it. Without `app_options`, the app gets every action's profile `app_options`
    merged, so the profiles' settings and secrets work with it as they are.
    """

    def __init__(
        self,
        spec: DestinationSpec,
        app: Any,
        module: Any,
        *,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.spec = spec
        self.app = app
        self.module = module
        self.base_url = base_url
        self.transport = transport

    def __repr__(self) -> str:
        where = "in process" if self.transport is not None else "served"
        return f"Emulator({self.spec.id!r}, {where}, base_url={self.base_url!r})"

    # --- building -------------------------------------------------------------------------------

    @staticmethod
    def app_options(spec: DestinationSpec, module: Any) -> dict[str, Any]:
        """Every action's profile `app_options`, merged (the first action's win on conflicts)."""
        hook = getattr(module, "testing_profile", None)
        merged: dict[str, Any] = {}
        if hook is None:
            return merged
        for action in spec.actions:
            profile: TestingProfile | None = hook(action)
            options = profile.get("app_options") if profile else None
            for key, value in (options or {}).items():
                merged.setdefault(key, value)
        return merged

    @classmethod
    def _make_app(
        cls, spec: str | Path | DestinationSpec, app_options: dict[str, Any]
    ) -> tuple[DestinationSpec, Any, Any]:
        loaded = _spec(spec)
        create_app, module = load_emulator(loaded)
        options = app_options if app_options else cls.app_options(loaded, module)
        return loaded, create_app(**options), module

    @classmethod
    def in_process(cls, spec: str | Path | DestinationSpec, **app_options: Any) -> Emulator:
        """The emulator app, reached in process through httpx.ASGITransport."""
        loaded, app, module = cls._make_app(spec, app_options)
        base = LOOPBACK_URL if loaded.user_url else IN_PROCESS_URL
        return cls(loaded, app, module, base_url=base, transport=httpx.ASGITransport(app=app))

    @classmethod
    @contextmanager
    def served(cls, spec: str | Path | DestinationSpec, **app_options: Any) -> Iterator[Emulator]:
        """The emulator app served by uvicorn on a free local port for the `with` block."""
        from destkit.runtime.cli.server import running_server

        loaded, app, module = cls._make_app(spec, app_options)
        with running_server(app) as url:
            yield cls(loaded, app, module, base_url=url, transport=None)

    # --- using ---------------------------------------------------------------------------------

    @property
    def state(self) -> Any:
        app_state = getattr(self.app, "state", None)
        return getattr(app_state, "emulator", app_state)

    def profile(self, action: str) -> TestingProfile:
        """The emulator module's `testing_profile(action)` (a default one when it has none)."""
        self._check_action(action)
        return profile_for(self.spec, action, self.module)[0]

    def config(
        self, action: str, mapping: Mapping[str, Any] | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """The sync config `sync()` uses: profile settings and secrets, the identity mapping
        (or `mapping`), catalogs read from the emulator unless `catalogs=` is given."""
        self._check_action(action)
        config = sync_config(self.spec, action, self.profile(action), mapping=mapping, **overrides)
        config["settings"] = point_user_url(self.spec, config["settings"], self.base_url)
        return config

    def sync(self, action: str, mapping: Mapping[str, Any] | None = None, **config_overrides: Any) -> Sync:
        """A `Sync` of `action` wired to this emulator (build_sync's checks all apply)."""
        config = self.config(action, mapping, **config_overrides)
        return build_sync(
            config,
            spec=self.spec,
            base_url=None if self.spec.user_url else self.base_url,
            transport=self.transport,
            allow_http=True,
        )

    def _check_action(self, action: str) -> None:
        if action not in self.spec.actions:
            raise KeyError(
                f"'{action}' is not an action of {self.spec.name}; use one of {', '.join(self.spec.actions)}"
            )
