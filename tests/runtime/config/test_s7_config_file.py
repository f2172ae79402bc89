"""A sync config file as a hostile user writes it: a directory, a FIFO, a huge file, a key written twice.

Each is a ConfigError naming the file (and the line for a key), read without hanging and without
reading more than the limit; never an internal error, and never a silent choice between two values.
"""

from __future__ import annotations

import os
import textwrap
import threading
from pathlib import Path

import pytest

from destkit.runtime import ConfigError, Issue
from destkit.runtime.config.model import MAX_CONFIG_BYTES, SyncConfig

CONFIG = textwrap.dedent("""\
    destination: hello_charles
    action: send_contacts
    settings:
      subdomain: acme
    secrets:
      api_key: {env: HC_KEY}
    mapping:
      external_reference_id: id
    """)


def load_issue(path: Path) -> Issue:
    with pytest.raises(ConfigError) as info:
        SyncConfig.load(path)
    [issue] = info.value.issues
    return issue


def test_a_directory_is_no_config_file(tmp_path: Path) -> None:
    issue = load_issue(tmp_path)
    assert (issue.key, issue.message) == ("(file)", f"config file {tmp_path} is not a regular file (it is a directory).")
    assert issue.fix.startswith("give the path of a .yaml sync config of at most 1 MiB")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "sync.yaml"
    os.mkfifo(fifo)
    issues: list[Issue] = []
    reader = threading.Thread(target=lambda: issues.append(load_issue(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=30)  # a bound so the test never hangs, not a timing assertion
    assert not reader.is_alive(), "opening the FIFO blocked"
    assert issues[0].message == f"config file {fifo} is not a regular file (it is a FIFO)."


def test_a_config_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "sync.yaml"
    path.write_text(CONFIG + "# padding\n" * (MAX_CONFIG_BYTES // 10), encoding="utf-8")
    issue = load_issue(path)
    assert issue.message == f"config file {path} is {path.stat().st_size:,} bytes, over the limit of {MAX_CONFIG_BYTES:,} for a sync config."
    assert "catalogs" in issue.fix


def test_a_setting_written_twice_is_refused_on_its_second_line(tmp_path: Path) -> None:
    path = tmp_path / "sync.yaml"
    path.write_text(CONFIG.replace("  subdomain: acme\n", "  subdomain: acme\n  subdomain: evil\n"), encoding="utf-8")
    issue = load_issue(path)
    assert (issue.key, issue.line, issue.file) == ("(yaml)", 5, str(path))
    assert issue.message == "the key 'subdomain' is written twice in this mapping (first on line 4)."
    assert issue.fix == "keep one of the two lines."


def test_a_mapped_field_written_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sync.yaml"
    path.write_text(CONFIG + "  external_reference_id: phone\n", encoding="utf-8")
    issue = load_issue(path)
    assert (issue.line, issue.message) == (9, "the key 'external_reference_id' is written twice in this mapping (first on line 8).")


def test_the_same_key_in_two_mappings_is_no_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "sync.yaml"
    path.write_text(CONFIG + "  data: {id: x}\n  other: {id: y}\n", encoding="utf-8")
    assert SyncConfig.load(path).mapping == {"external_reference_id": "id", "data": {"id": "x"}, "other": {"id": "y"}}


def test_a_section_that_is_no_mapping_says_what_it_is_and_how_to_write_it(tmp_path: Path) -> None:
    path = tmp_path / "sync.yaml"
    path.write_text(CONFIG.replace("settings:\n  subdomain: acme\n", "settings: [acme]\n"), encoding="utf-8")
    issue = load_issue(path)
    assert (issue.key, issue.line) == ("settings", 3)
    assert issue.message == "`settings` must be a mapping of key: value lines, not a list."
    assert issue.fix == "write each entry on its own line under `settings:`, indented, as `key: value`."
