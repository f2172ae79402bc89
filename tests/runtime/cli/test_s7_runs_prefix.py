"""`destkit runs show RUN` given what no run id looks like: empty, 100,000 characters, LIKE's wildcards.

A 100,000-character prefix was an internal error (SQLite: 'LIKE or GLOB pattern too complex') and
an empty one answered ' is the start of 19 run ids'; each is now exit 2 with what to pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from destkit.runtime.engine.state import StateStore
from tests.cli_runs import run_cli, state_rows, sync_args, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(state store, run id) of one sync of 2 contacts."""
    folder = tmp_path_factory.mktemp("runs")
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as url:
        config, audience = write_config(folder), write_audience(folder / "a.csv", 2)
        assert run_cli(sync_args(config, audience, url, folder / "state.sqlite")).returncode == 0
    [(run_id,)] = state_rows(folder / "state.sqlite", "SELECT run_id FROM runs")
    yield folder / "state.sqlite", str(run_id)


def test_a_run_id_of_100_000_characters_is_no_run_and_is_shown_clipped(state: tuple[Path, str]) -> None:
    path, run_id = state
    shown = run_cli(["runs", "show", run_id + "a" * 100_000, "--state", str(path)])
    assert shown.returncode == 2
    assert shown.stderr.splitlines()[-1] == (f"error: no run {run_id}{'a' * 28}… in {path}; "
                                             f"`destkit runs --state {path}` lists them.")


def test_an_empty_run_id_asks_for_one(state: tuple[Path, str]) -> None:
    path, _ = state
    shown = run_cli(["runs", "show", "", "--state", str(path)])
    assert shown.returncode == 2
    assert shown.stderr.splitlines()[-1] == (f"error: give a run id (or its first characters); "
                                             f"`destkit runs --state {path}` lists them.")


@pytest.mark.parametrize("prefix", ["%", "_", "?", "*", "[0-9a-f]"])
def test_wildcards_match_no_run(state: tuple[Path, str], prefix: str) -> None:
    path, _ = state
    store = StateStore(path)
    try:
        assert store.find_run(prefix) == []
    finally:
        store.close()


def test_a_prefix_in_capitals_finds_the_run(state: tuple[Path, str]) -> None:
    path, run_id = state
    store = StateStore(path)
    try:
        assert [info.run_id for info in store.find_run(run_id[:5].upper())] == [run_id]
    finally:
        store.close()
