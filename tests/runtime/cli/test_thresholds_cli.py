"""`destkit sync --max-invalid-ratio`: a scheduler's run fails loudly when too much of an export is broken."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime.cli.server import running_server
from tests.cli_runs import run_cli, sync_args, write_audience, write_config
from tests.conftest import API_KEY, PROPERTIES, TAGS


@pytest.fixture
def url() -> Iterator[str]:
    with running_server(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES)) as served:
        yield served


def sync_with_bad_phones(url: str, tmp_path: Path, bad: int, *more: str) -> tuple[int, str]:
    audience = write_audience(tmp_path / "a.csv", 20, bad_phone_rows=frozenset(range(1, bad + 1)))
    result = run_cli(sync_args(write_config(tmp_path), audience, url, tmp_path / "state.sqlite", *more))
    return result.returncode, result.stderr


def test_more_invalid_records_than_max_invalid_ratio_exits_1_with_a_line_saying_so(url: str, tmp_path: Path) -> None:
    code, stderr = sync_with_bad_phones(url, tmp_path, 3, "--max-invalid-ratio", "0.1")
    assert code == 1
    assert stderr.splitlines()[-1] == ("error: the run failed: 3 of 20 records (15.0%) were invalid, more than "
                                       "--max-invalid-ratio 0.1 allows.")


def test_invalid_records_within_max_invalid_ratio_alone_exit_0(url: str, tmp_path: Path) -> None:
    code, stderr = sync_with_bad_phones(url, tmp_path, 1, "--max-invalid-ratio", "0.1")
    assert code == 0, stderr
    assert "error" not in stderr


def test_without_a_threshold_one_invalid_record_exits_1(url: str, tmp_path: Path) -> None:
    code, _ = sync_with_bad_phones(url, tmp_path, 1)
    assert code == 1


def test_a_ratio_above_1_is_a_usage_error(url: str, tmp_path: Path) -> None:
    code, stderr = sync_with_bad_phones(url, tmp_path, 1, "--max-rejected-ratio", "5")
    assert code == 2
    assert "--max-rejected-ratio" in stderr
