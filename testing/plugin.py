"""destkit's pytest plugin (loaded through the `pytest11` entry point wherever destkit is installed).

Fixtures
    emulator         a factory: `emulator("hello_charles", **app_options)` → a
                     `destkit.testing.Emulator` reached in process (httpx.ASGITransport), with
                     `.app`, `.state`, `.transport`, `.base_url`, `.profile(action)` and
                     `.sync(action, mapping=None, **config_overrides)`
    emulator_server  the same factory, but each app is served by uvicorn on a free local port
                     until the test ends (`.transport` is None, `.base_url` is the real URL)

Marker
    @pytest.mark.destkit_conformance("hello_charles")   # or a spec path, relative to the test file
    def test_conformance(): ...
        runs the conformance suite for the spec after the test body; the test fails with the
        report when a check fails. Keywords: examples=50, seed=0, actions=None, exclude=().

This module imports only pytest at load time: every pytest run on a machine with destkit loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from destkit.runtime.spec.models import DestinationSpec
    from destkit.testing.emulators import Emulator

MARKER = "destkit_conformance"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(spec, examples=50, seed=0, actions=None, exclude=()): run destkit's conformance suite "
        "for a destination spec (a bundled id, or a spec file path relative to the test file) after the test body",
    )


EmulatorFactory = Callable[..., "Emulator"]


@pytest.fixture
def emulator() -> EmulatorFactory:
    """`emulator(spec, **app_options)`: a destination's emulator app, reached in process."""
    from destkit.testing.emulators import Emulator

    def make(spec: str | Path | DestinationSpec, **app_options: Any) -> Emulator:
        return Emulator.in_process(spec, **app_options)

    return make


@pytest.fixture
def emulator_server() -> Iterator[EmulatorFactory]:
    """`emulator_server(spec, **app_options)`: the emulator served on a real local port."""
    from contextlib import ExitStack

    from destkit.testing.emulators import Emulator

    with ExitStack() as stack:

        def make(spec: str | Path | DestinationSpec, **app_options: Any) -> Emulator:
            return stack.enter_context(Emulator.served(spec, **app_options))

        yield make


def _spec_argument(item: pytest.Item, spec: Any) -> Any:
    """A bundled id as it is; a path relative to the test file (or the rootdir) made absolute."""
    if not isinstance(spec, str | Path):
        return spec
    text = str(spec)
    if not (text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text):
        return text
    path = Path(text)
    if path.is_absolute():
        return path
    for base in (item.path.parent, item.config.rootpath):
        if (base / path).exists():
            return base / path
    return path


def _run_marker(item: pytest.Item, marker: pytest.Mark) -> None:
    from destkit.testing.conformance import run_conformance

    kwargs = dict(marker.kwargs)
    spec = marker.args[0] if marker.args else kwargs.pop("spec", None)
    if spec is None:
        raise pytest.UsageError(f"@pytest.mark.{MARKER} needs a spec: a bundled id or a path to a spec file")
    report = run_conformance(_spec_argument(item, spec), **kwargs)
    item.add_report_section("call", "destkit conformance", str(report))
    item.user_properties.append((MARKER, "ok" if report.ok else "failed"))
    if not report.ok:
        pytest.fail(str(report), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    result = yield
    marker = item.get_closest_marker(MARKER)
    if marker is not None:
        _run_marker(item, marker)
    return result
