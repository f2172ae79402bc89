"""`{file: PATH}` secrets are read from regular files only, and never more than 64 KiB of one.

A secret reference names a file the operator controls, but the path is config text: it can be
a device (`/dev/zero` never ends), a FIFO (opening it waits for a writer forever), a directory,
something huge, or not a path at all (a NUL byte). Each is a config error naming the path and
what is wrong, never a hang, a MemoryError, a traceback or a quote of the file's contents.
Symbolic links to regular files are followed: mounted secrets (Kubernetes, Docker) are links.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from destkit.runtime.config.secret_files import MAX_SECRET_FILE_BYTES
from destkit.runtime.config.secrets import Secret, resolve_secret
from destkit.runtime.errors import ConfigError
from tests.conftest import hc_config


def resolve(path: str | Path) -> tuple[Secret | None, Any]:
    return resolve_secret("api_key", {"file": str(path)}, allow_literal=False)


def test_a_regular_file_is_read_and_stripped(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("  s3cret-value\n", encoding="utf-8")
    secret, issue = resolve(tmp_path / "key")
    assert issue is None and secret == Secret("s3cret-value")


def test_a_symbolic_link_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "key").write_text("s3cret-value\n", encoding="utf-8")
    (tmp_path / "key").symlink_to(tmp_path / "data" / "key")
    secret, issue = resolve(tmp_path / "key")
    assert issue is None and secret == Secret("s3cret-value")


def test_a_device_is_refused_without_reading_it() -> None:
    secret, issue = resolve("/dev/zero")
    assert secret is None
    assert (issue.key, issue.message) == ("secrets.api_key", "secret file /dev/zero is not a regular file (it is a character device).")
    assert issue.fix == "point {file: ...} at a regular file that holds only the secret."


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "key"
    os.mkfifo(fifo)
    result: list[tuple[Secret | None, Any]] = []
    reader = threading.Thread(target=lambda: result.append(resolve(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=30)  # a bound so the test never hangs, not a timing assertion
    assert not reader.is_alive(), "opening the FIFO blocked"
    [(secret, issue)] = result
    assert secret is None and issue.message == f"secret file {fifo} is not a regular file (it is a FIFO)."


def test_a_directory_is_refused(tmp_path: Path) -> None:
    secret, issue = resolve(tmp_path)
    assert secret is None and issue.message == f"secret file {tmp_path} is not a regular file (it is a directory)."


def test_a_path_with_a_nul_byte_is_a_config_error_not_a_traceback() -> None:
    secret, issue = resolve("/tmp/a\0b")
    assert secret is None
    assert issue.message == "the secret file path '/tmp/a\\x00b' has a NUL character."


def test_a_file_over_the_size_limit_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("LEAK" * 20_000, encoding="utf-8")
    secret, issue = resolve(path)
    assert secret is None
    assert issue.message == f"secret file {path} is 80,000 bytes, over the limit of {MAX_SECRET_FILE_BYTES:,} for a secret."
    assert "LEAK" not in issue.message + issue.fix


def test_the_size_limit_is_64_kib() -> None:
    assert MAX_SECRET_FILE_BYTES == 65_536


def test_a_file_that_is_not_utf8_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b"\xffLEAK\xfe")
    secret, issue = resolve(path)
    assert secret is None
    assert issue.message == f"secret file {path} is not UTF-8 text."
    assert "LEAK" not in issue.message and "0xff" not in issue.message


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    secret, issue = resolve(tmp_path / "nope")
    assert secret is None and issue.message == f"cannot read secret file {tmp_path / 'nope'}: No such file or directory."


def test_build_sync_reports_a_device_secret_as_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        from destkit.runtime import build_sync

        build_sync(hc_config(secrets={"api_key": {"file": "/dev/zero"}}))
    assert [(i.key, i.message) for i in info.value.issues] == [
        ("secrets.api_key", "secret file /dev/zero is not a regular file (it is a character device).")]
