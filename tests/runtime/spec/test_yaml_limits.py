"""Sync configs and specs are read with a bound on what YAML aliases may expand to.

YAML anchors (`&a`) and aliases (`*a`) let a few hundred bytes stand for billions of values
("billion laughs"): such a config took 30 s and 1.5 GB before any check ran. A document whose
aliases expand to more than `MAX_ALIAS_NODES` extra values, an alias that contains itself, and
nesting deeper than the parser can follow are refused when the file is read, with the line.
A few aliases, as the spec tutorial uses (`record: *contact`), still load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from destkit.runtime.config.model import SyncConfig
from destkit.runtime.errors import ConfigError, SpecError
from destkit.runtime.spec.loader import parse_spec
from destkit.runtime.spec.located_yaml import MAX_ALIAS_NODES, LocatedYaml, YamlLimitError

LAUGHS = """\
  - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
  - &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  - &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  - &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  - &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  - &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  - &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
"""
HEAD = ("destination: hello_charles\naction: send_contacts\nsettings: {subdomain: acme}\n"
        "secrets: {api_key: {env: HC_KEY}}\ncatalogs: {tags: [vip], custom_properties: [plan]}\n")


def bomb_config(folder: Path) -> Path:
    """A 600-byte sync config whose tags constant is 4.7 million strings once its aliases expand."""
    path = folder / "sync.yaml"
    path.write_text(HEAD + "mapping:\n  external_reference_id: id\n  tags:\n    const:\n" + LAUGHS.replace("  -", "      -"),
                    encoding="utf-8")
    return path


def test_the_limit_is_10000_values() -> None:
    assert MAX_ALIAS_NODES == 10_000


def test_a_config_whose_aliases_expand_to_millions_of_values_is_refused_with_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        SyncConfig.load(bomb_config(tmp_path))
    [issue] = info.value.issues
    assert (issue.key, issue.file, issue.line) == ("(yaml)", str(tmp_path / "sync.yaml"), 14)
    assert issue.message == (f"YAML aliases here expand to more than {MAX_ALIAS_NODES:,} values "
                             "(an alias bomb?).")
    assert issue.fix == "write the values out, or alias fewer of them."


def test_the_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    path = bomb_config(tmp_path)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError):
            SyncConfig.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_a_spec_whose_aliases_expand_to_millions_of_values_is_refused_with_the_line() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("spec_version: 1\nid: x\nexamples:\n" + LAUGHS, "bomb.yaml")
    [issue] = info.value.issues
    assert (issue.key, issue.file, issue.line) == ("(yaml)", "bomb.yaml", 8)
    assert "aliases here expand to more than" in issue.message


def test_an_alias_that_contains_itself_is_refused() -> None:
    with pytest.raises(YamlLimitError) as info:
        LocatedYaml("a: 1\nb: &r [1, *r]\n")
    assert info.value.problem == "this alias contains itself"
    assert info.value.problem_mark is not None and info.value.problem_mark.line + 1 == 2


def test_nesting_deeper_than_the_parser_follows_is_a_yaml_error_not_a_crash() -> None:
    with pytest.raises(YamlLimitError) as info:
        LocatedYaml("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert info.value.problem == "the document is nested too deeply"


def test_a_few_aliases_still_load() -> None:
    doc = LocatedYaml("base: &base {type: string, maxLength: 10}\nfirst: *base\nlast: *base\n")
    assert doc.data == {"base": {"type": "string", "maxLength": 10}, "first": doc.data["base"], "last": doc.data["base"]}
    assert doc.line_of(["last"]) == 3


def test_preview_of_an_alias_bomb_config_exits_2_with_the_line(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("id\nc1\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "destkit.runtime.cli.app", "preview", str(bomb_config(tmp_path)),
                           "--input", str(tmp_path / "in.csv"), "--offline"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 2, proc.stderr
    assert f"sync.yaml:14: (yaml): YAML aliases here expand to more than {MAX_ALIAS_NODES:,} values" in proc.stderr
    assert "Traceback" not in proc.stderr
