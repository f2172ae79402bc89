"""A destination's emulator, ready to sync against: in process or on a real port.

A spec names its emulator by import path (`emulator: package.module:create_app`); the module may
also expose `testing_profile(action) -> dict` saying how to test each action against it:

    app_options   keyword arguments for create_app (credentials, catalogs, limits)
    settings      sync settings            secrets   literal secret values
    catalogs      catalog values the records may use (a list, or value → display label)
    options       sync options             mapping   fields mapped otherwise than by name
    variants      settings overrides, each run as one more conformance pass (e.g. [{"batch_api": False}])
    skip          why the action is not conformance-tested at all
    skip_emulator why the action is only dry-run (its emulator phase is skipped)
    prepare       prepare(app, valid_records) -> records: create the state the records depend on
                  (e.g. the contacts a GDPR delete refers to); returns them, possibly rewritten
    verify        verify(app, delivered_records) -> list of problems with what the emulator holds
    fetch_catalogs  False: give the catalogs in the config instead of reading them from the emulator

Only `app_options`, `settings` and `secrets` are needed; everything else is optional. Nothing
here imports hypothesis.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from destkit.runtime.engine import Sync, build_sync
from destkit.runtime.spec.hooks import load_hook
from destkit.runtime.spec.loader import load_spec
from destkit.runtime.spec.models import DestinationSpec

__all__ = [
    "IN_PROCESS_URL",
    "Emulator",
    "default_profile",
    "load_emulator",
    "point_user_url",
    "profile_for",
    "sync_config",
]

IN_PROCESS_URL = "http://emulator.test"
_LOOPBACK = "http://127.0.0.1"  # a user URL must be public or loopback; an IP needs no DNS
_SETTING_REF = re.compile(r"settings\.([A-Za-z_][A-Za-z0-9_]*)")


def _spec(spec: str | Path | DestinationSpec) -> DestinationSpec:
    return spec if isinstance(spec, DestinationSpec) else load_spec(spec)


def load_emulator(spec: DestinationSpec) -> tuple[Callable[..., Any], Any]:
    """(create_app, its module) from the spec's `emulator:` import path."""
    if not spec.emulator:
        raise LookupError(
            f"the {spec.name} spec names no emulator (add `emulator: package.module:create_app`)"
        )
    create_app = load_hook(spec.emulator)
    module = importlib.import_module(spec.emulator.partition(":")[0])
    return create_app, module


def default_profile(spec: DestinationSpec, action: str) -> dict[str, Any]:
    """A profile for a destination whose emulator has no `testing_profile`: settings from the spec."""
    settings: dict[str, Any] = {}
    url_settings = set(_SETTING_REF.findall(spec.base_url)) if spec.user_url else set()
    for name, s in spec.settings.items():
        if name in url_settings:
            settings[name] = _LOOPBACK + "/destkit-conformance"
        elif not s.is_required:
            continue
        elif s.enum:
            settings[name] = s.enum[0]
        elif s.type == "boolean":
            settings[name] = False
        elif s.type in ("number", "integer"):
            settings[name] = s.minimum if s.minimum is not None else 1
        else:
            candidates = ["acme", "example", "destkit", "a", "1", "a1", "A"]
            settings[name] = next(
                (c for c in candidates if not s.pattern or re.fullmatch(s.pattern, c)), "acme"
            )
    secrets = {
        name: "destkit-conformance-secret"
        for name, s in spec.secrets.items()
        if s.actions is None or action in s.actions
    }
    return {"app_options": {}, "settings": settings, "secrets": secrets}


def profile_for(spec: DestinationSpec, action: str, module: Any = None) -> tuple[dict[str, Any], bool]:
    """(the action's testing profile, whether the emulator module gave it)."""
    if module is None and spec.emulator:
        _, module = load_emulator(spec)
    hook = getattr(module, "testing_profile", None) if module is not None else None
    if hook is None:
        return default_profile(spec, action), False
    profile = hook(action)
    if profile is None:
        return default_profile(spec, action), False
    return dict(profile), True


def point_user_url(spec: DestinationSpec, settings: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """For a spec whose base URL is the user's own: the URL setting aimed at `origin`, path kept."""
    out = dict(settings)
    if not spec.user_url:
        return out
    for name in dict.fromkeys(_SETTING_REF.findall(spec.base_url)):
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


def sync_config(
    spec: DestinationSpec,
    action: str,
    profile: Mapping[str, Any],
    *,
    mapping: Mapping[str, Any] | None = None,
    destination: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A sync config dict for `action` from a testing profile; `settings`, `secrets` and `options`
    overrides merge into the profile's, other keys replace."""
    config: dict[str, Any] = {
        "destination": destination or spec.id,
        "action": action,
        "settings": dict(profile.get("settings") or {}),
        "secrets": _usable_secrets(spec, action, profile.get("secrets") or {}),
        "mapping": dict(mapping)
        if mapping is not None
        else {**{name: name for name in spec.actions[action].fields}, **(profile.get("mapping") or {})},
    }
    if profile.get("options"):
        config["options"] = dict(profile["options"])
    for key, value in overrides.items():
        if key in ("settings", "secrets", "options") and isinstance(value, Mapping):
            config[key] = {**config.get(key, {}), **value}
        elif value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config


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
            profile = hook(action) or {}
            for key, value in (profile.get("app_options") or {}).items():
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
        base = _LOOPBACK if loaded.user_url else IN_PROCESS_URL
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

    def profile(self, action: str) -> dict[str, Any]:
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
