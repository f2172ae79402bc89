"""Shared fixtures: a Hello Charles emulator (in-process or on a port) and sync configs for it."""

from __future__ import annotations

import compileall
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from destkit.destinations.hello_charles.emulator import EmulatorState, create_app
from destkit.runtime import Sync, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine.state import StateStore


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile destkit's modules once: hundreds of tests run the CLI (and Spark its Python workers) as new
    processes, and where PYTHONDONTWRITEBYTECODE is set (this CI's machine) an editable install, which pip does
    not compile, would have each of them compile every module from source (~0.35 s of CPU a start, measured)."""
    import destkit.runtime

    compileall.compile_dir(Path(str(destkit.runtime.__file__)).parents[1], quiet=1)


API_KEY = "test-key"
TAGS = ["vip", "newsletter", "summer_sale", "984"]
PROPERTIES = [("loyalty_tier", "Loyalty Tier"), ("zeotap_audience_name", "Zeotap Audience Name"), ("plan", "Plan")]


def hc_config(**overrides: Any) -> dict[str, Any]:
    """A Send Contacts config with the W1-style mapping used throughout the tests."""
    config: dict[str, Any] = {
        "destination": "hello_charles",
        "action": "send_contacts",
        "settings": {"subdomain": "acme"},
        "secrets": {"api_key": API_KEY},
        "mapping": {
            "external_reference_id": "user_id",
            "first_name": "first_name",
            "last_name": "last_name",
            "phone_number": "phone",
            "email_address": "email",
            "tags": "segments",
            "custom_properties": "attributes",
        },
    }
    config.update(overrides)
    return config


@pytest.fixture
def app() -> Starlette:
    return create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES, keep_bodies=True)


def emulator_state(app: Starlette) -> EmulatorState:
    state: EmulatorState = app.state.emulator
    return state


def in_process_sync(app: Starlette, config: dict[str, Any] | None = None, **kwargs: Any) -> Sync:
    return build_sync(config or hc_config(), base_url="http://acme.hello-charles.test",
                      transport=httpx.ASGITransport(app=app), allow_http=True, **kwargs)


@pytest.fixture
def served(app: Starlette) -> Iterator[str]:
    """The emulator on a real port on 127.0.0.1; yields its base URL."""
    with running_server(app) as url:
        yield url


@pytest.fixture
def fed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every record `Pipeline.feed` (the record-by-record path) is given from the moment the fixture is asked for."""
    from destkit.runtime.engine.pipeline import Pipeline

    seen: list[Any] = []
    feed = Pipeline.feed

    def spy(self: Pipeline, record: Any) -> Any:
        seen.append(record)
        return feed(self, record)

    monkeypatch.setattr(Pipeline, "feed", spy)
    return seen


class Crash(Exception):
    """The process "dies" while reading its input (`crashing`)."""


def crashing(records: list[dict[str, Any]], after: int) -> Iterator[dict[str, Any]]:
    """The records, until the process "dies" before record `after` + 1."""
    for i, record in enumerate(records):
        if i == after:
            raise Crash
        yield record


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    """A state store in the test's folder, closed after it."""
    state = StateStore(tmp_path / "state.sqlite")
    yield state
    state.close()


def store_with_run(path: Path) -> tuple[StateStore, str]:
    """A state store at `path` with one run of Hello Charles's send_contacts started in it, and that run's id."""
    store = StateStore(path)
    return store, store.start_run("hello_charles", "send_contacts", "hash", "ref")
