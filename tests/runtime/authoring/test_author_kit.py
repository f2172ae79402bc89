"""The connector author's kit: `destkit spec check`, `destkit spec schema` and `destkit init`.

The CLI runs as a subprocess, as an author would run it; the spec checker's findings are also
checked in-process where that is clearer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from destkit.runtime import bundled_spec_names
from destkit.runtime.authoring.check import check_spec, check_spec_text, known_keys
from destkit.runtime.authoring.scaffold import render_spec, write_skeleton

ROOT = Path(__file__).resolve().parents[3]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "destkit.runtime.cli.app", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        cwd=cwd,
        timeout=120,
        check=False,
    )


# --- spec check over the bundled specs ------------------------------------------------------------


@pytest.mark.parametrize("name", bundled_spec_names())
def test_spec_check_passes_on_every_bundled_spec(name: str) -> None:
    done = cli("spec", "check", name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok: {name} (" in done.stdout
    assert "FAILED" not in done.stdout


def test_spec_check_all_checks_every_bundled_spec_in_one_run() -> None:
    done = cli("spec", "check", "--all")
    assert done.returncode == 0, done.stdout + done.stderr
    names = bundled_spec_names()
    for name in names:
        assert f"ok: {name} (" in done.stdout
    assert f"checked {len(names)} specs: {len(names)} ok, 0 with errors" in done.stdout


@pytest.mark.parametrize("name", bundled_spec_names())
def test_bundled_specs_have_no_errors_in_process(name: str) -> None:
    result = check_spec(name)
    assert result.ok, "\n".join(map(str, result.errors))
    assert result.spec is not None and result.spec.id == name


# --- spec check on broken specs -------------------------------------------------------------------

GOOD = """\
spec_version: 1
id: demo
name: Demo
settings:
  region: {type: string, enum: [eu, us], default: eu}
secrets:
  token: {title: Token}
base_url: "https://{{ settings.region }}.api.example.com"
auth: {kind: bearer, token: "{{ secrets.token }}"}
catalogs:
  segments:
    request: {method: GET, path: /v1/segments}
    items: "data[].id"
actions:
  upsert:
    title: Upsert
    fields:
      id: {type: string, required: true}
      email: {type: string, format: email}
      segments: {type: array, items: {type: string}, catalog: segments}
    batch: {max_records: 100}
    request:
      path: /v1/contacts
      headers: {X-Region: "{{ settings.region }}"}
      body: {items: $records}
      record: {id: $id, email: $email, segments: $segments}
    response:
      results: data
      ok: {field: status, in: [ok]}
      error: {code: error.code, message: error.message}
"""


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """The 1-based line that is `needle` (stripped), else the first that contains it."""
    lines = text.splitlines()
    exact = [i for i, line in enumerate(lines, 1) if line.strip() == needle]
    return exact[0] if exact else next(i for i, line in enumerate(lines, 1) if needle in line)


def test_the_good_spec_of_these_tests_passes(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    done = cli("spec", "check", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "ok: demo (1 action)"


# (name, old, new, the line's text after the change, key, part of the message)
BROKEN = [
    (
        "unknown key",
        "max_records: 100",
        "max_record: 100",
        "max_record: 100",
        "actions.upsert.batch.max_record",
        "'max_record' is not a key the spec language knows. Fix: did you mean 'max_records'?",
    ),
    (
        "unknown field",
        "email: $email",
        "email: $emial",
        "record:",
        "actions.upsert.request.record",
        "$emial is not a field of this action. Fix: use one of $id, $email, $segments.",
    ),
    (
        "undeclared catalog",
        "catalog: segments}",
        "catalog: lists}",
        "catalog: lists}",
        "actions.upsert.fields.segments.catalog",
        "the catalog 'lists' is not declared under catalogs. Fix: declare it",
    ),
    (
        "template syntax error in a path",
        "path: /v1/contacts",
        'path: "/v1/{{ settings.region"',
        'path: "/v1/{{',
        "actions.upsert.request.path",
        "template does not compile",
    ),
    (
        "template syntax error in a header",
        '{X-Region: "{{ settings.region }}"}',
        '{X-Region: "{{ settings.region }"}',
        "X-Region",
        "actions.upsert.request.headers.X-Region",
        "template does not compile",
    ),
    (
        "path parameter with batches",
        "path: /v1/contacts",
        'path: "/v1/contacts/{id}"',
        "max_records: 100",
        "actions.upsert.batch.max_records",
        "a path with {field} parameters sends one record per request, so max_records must be 1.",
    ),
    (
        "undeclared setting in the base URL",
        "{{ settings.region }}.api",
        "{{ settings.regoin }}.api",
        "base_url:",
        "base_url",
        "settings.regoin is not a setting of this spec. Fix: declare it under settings, or use one of: region.",
    ),
    (
        "undeclared secret in auth",
        '"{{ secrets.token }}"',
        '"{{ secrets.api_key }}"',
        "auth:",
        "auth.token",
        "secrets.api_key is not a secret of this spec.",
    ),
    (
        "secret outside auth",
        '{X-Region: "{{ settings.region }}"}',
        '{X-Key: "{{ secrets.token }}"}',
        "X-Key",
        "actions.upsert.request.headers.X-Key",
        "secrets are only available to auth templates",
    ),
    (
        "bad JMESPath",
        "results: data",
        "results: 'data[?'",
        "results:",
        "actions.upsert.response.results",
        "'data[?' is not a valid JMESPath expression",
    ),
    (
        "bad catalog JMESPath",
        'items: "data[].id"',
        'items: "data[].id)"',
        "items:",
        "catalogs.segments.items",
        "is not a valid JMESPath expression",
    ),
    (
        "body without a record template",
        "      record: {id: $id, email: $email, segments: $segments}\n",
        "",
        "request:",
        "actions.upsert.request.record",
        "every record would be sent as null",
    ),
    (
        "a default outside its own enum",
        "default: eu}",
        "default: de}",
        "region:",
        "settings.region.default",
        "the default does not satisfy the setting's own schema",
    ),
    (
        "no required field",
        "id: {type: string, required: true}",
        "id: {type: string}",
        "fields:",
        "actions.upsert.fields",
        "no field is required",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "at", "key", "message"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_spec_check_fails_with_a_line_numbered_keyed_message(
    tmp_path: Path, old: str, new: str, at: str, key: str, message: str
) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    path = write(tmp_path, text)
    done = cli("spec", "check", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    prefix = f"{path}:{line_of(text, at)}: {key}: "
    lines = [line for line in done.stdout.splitlines() if line.startswith(prefix)]
    assert lines, f"no line starts with {prefix!r}:\n{done.stdout}"
    assert any(message in line for line in lines), done.stdout
    assert f"FAILED: {path} (" in done.stdout
    assert "Traceback" not in done.stderr


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    text = GOOD.replace("max_records: 100", "max_records: 50000, max_bytes: 80000000").replace(
        "record: {id: $id, email: $email, segments: $segments}", "record: {id: $id, segments: $segments}"
    )
    path = write(tmp_path, text)
    done = cli("spec", "check", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert (
        f"{path}:{line_of(text, 'email: {type')}: warning: actions.upsert.fields.email: 'email' is not used"
        in out
    )
    assert (
        f"{path}:{line_of(text, 'max_records')}: warning: actions.upsert.batch.max_records: max_records is 50,000"
        in out
    )
    assert "warning: actions.upsert.batch.max_bytes: max_bytes is 80,000,000 (80 MB)" in out
    assert "ok: demo (1 action), 3 warnings" in out
    strict = cli("spec", "check", "--strict", str(path))
    assert strict.returncode == 1


def test_an_emulator_that_does_not_import_is_a_warning(tmp_path: Path) -> None:
    text = GOOD.replace("name: Demo\n", "name: Demo\nemulator: destkit_no_such_module.emulator:create_app\n"
                        "python_package: destkit_no_such_module\n")
    done = cli("spec", "check", str(write(tmp_path, text)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "warning: emulator: the emulator destkit_no_such_module.emulator:create_app does not load"
        in done.stdout
    )


def test_an_auth_hook_that_does_not_import_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace(
        'auth: {kind: bearer, token: "{{ secrets.token }}"}',
        "auth: {kind: hook, hook: 'destkit_no_such_module.auth:sign'}\npython_package: destkit_no_such_module",
    )
    done = cli("spec", "check", str(write(tmp_path, text)))
    assert done.returncode == 1
    assert ": auth.hook: the auth hook destkit_no_such_module.auth:sign does not load" in done.stdout


def test_several_files_one_broken_exits_1_and_says_which(tmp_path: Path) -> None:
    good = write(tmp_path, GOOD, "good.yaml")
    bad = write(tmp_path, GOOD.replace("max_records: 100", "max_record: 100"), "bad.yaml")
    done = cli("spec", "check", str(good), str(bad), "hello_charles")
    assert done.returncode == 1
    assert "ok: demo (1 action)" in done.stdout and "ok: hello_charles (" in done.stdout
    assert f"FAILED: {bad} (1 error)" in done.stdout
    assert "checked 3 specs: 2 ok, 1 with errors." in done.stdout


def test_a_missing_file_or_unknown_id_is_an_error(tmp_path: Path) -> None:
    done = cli("spec", "check", str(tmp_path / "nope.yaml"), "no_such_destination")
    assert done.returncode == 1
    assert "does not exist" in done.stdout and "is not a bundled destination" in done.stdout


def test_no_spec_given_is_a_usage_error() -> None:
    done = cli("spec", "check")
    assert done.returncode == 2
    assert "give one or more spec files" in done.stderr


def test_not_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    done = cli("spec", "check", str(write(tmp_path, "spec_version: 1\nid: [demo\n")))
    assert done.returncode == 1
    # the line of the mistake: the `[` never closed (PyYAML notices it at the end of the text, line 3)
    assert f"{tmp_path / 'demo.yaml'}:2: (yaml): not valid YAML" in done.stdout
    assert "    2 | id: [demo\n      |     ^" in done.stdout


def test_a_variant_shadowed_by_an_earlier_one_is_a_warning() -> None:
    text = (
        GOOD
        + """\
    variants:
      - when: {setting: region, equals: us}
        batch: {max_records: 1}
      - when: {setting: region, equals: us}
        batch: {max_records: 2}
      - when: {setting: region, equals: mars}
        batch: {max_records: 3}
"""
    )
    result = check_spec_text(text, "demo.yaml")
    assert result.ok
    messages = [str(f) for f in result.warnings]
    assert any("actions.upsert.variants.1.when: variants[0] has the same `when`" in m for m in messages)
    assert any(
        "actions.upsert.variants.2.when.equals: 'mars' is not a valid value of the setting 'region'" in m
        for m in messages
    )


def test_a_secret_an_action_is_not_given_is_an_error() -> None:
    text = GOOD.replace("  token: {title: Token}", "  token: {title: Token, actions: [other]}")
    result = check_spec_text(text, "demo.yaml")
    keys = {f.issue.key for f in result.errors}
    assert keys == {"secrets.token.actions", "auth.token"}


def test_an_unknown_key_in_a_jwt_auth_block_is_named_without_the_union_tag() -> None:
    text = GOOD.replace(
        'auth: {kind: bearer, token: "{{ secrets.token }}"}',
        'auth: {kind: jwt, secret: "{{ secrets.token }}", ttl: 60}',
    )
    [finding] = check_spec_text(text, "demo.yaml").findings
    assert str(finding) == (
        f"demo.yaml:{line_of(text, 'auth:')}: auth.ttl: 'ttl' is not a key the spec language knows. "
        "Fix: did you mean 'ttl_seconds'?"
    )


def test_known_keys_follow_the_models() -> None:
    assert known_keys(["actions", "x", "batch"]) == ["max_records", "max_bytes", "key"]
    assert "in" in known_keys(["auth"]) and "token" in known_keys(["auth"])
    assert "record" in known_keys(["actions", "x", "variants", "0", "request"])


# --- spec schema ----------------------------------------------------------------------------------


def test_spec_schema_prints_the_checked_in_json_schema() -> None:
    done = cli("spec", "schema")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "specs" / "destination-spec.schema.json").read_text(encoding="utf-8")


# --- init -----------------------------------------------------------------------------------------


def test_init_writes_a_spec_and_a_test_that_pass(tmp_path: Path) -> None:
    done = cli("init", "acme_crm", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    spec, test = tmp_path / "specs" / "acme_crm.yaml", tmp_path / "tests" / "test_acme_crm_spec.py"
    assert spec.is_file() and test.is_file()
    assert f"wrote {spec}" in done.stdout and f"wrote {test}" in done.stdout
    checked = cli("spec", "check", "--strict", str(spec))
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.strip() == "ok: acme_crm (1 action)"
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "3 passed" in ran.stdout


def test_init_defaults_to_the_current_folder(tmp_path: Path) -> None:
    done = cli("init", "my_dest", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "specs" / "my_dest.yaml").is_file() and (
        tmp_path / "tests" / "test_my_dest_spec.py"
    ).is_file()


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    assert cli("init", "acme_crm", "--dir", str(tmp_path)).returncode == 0
    spec = tmp_path / "specs" / "acme_crm.yaml"
    spec.write_text("# mine\n", encoding="utf-8")
    done = cli("init", "acme_crm", "--dir", str(tmp_path))
    assert done.returncode == 2
    assert "already exist" in done.stderr and "never overwrites" in done.stderr
    assert spec.read_text(encoding="utf-8") == "# mine\n"


def test_init_writes_nothing_when_only_the_test_file_exists(tmp_path: Path) -> None:
    test = tmp_path / "tests" / "test_acme_crm_spec.py"
    test.parent.mkdir()
    test.write_text("# mine\n", encoding="utf-8")
    done = cli("init", "acme_crm", "--dir", str(tmp_path))
    assert done.returncode == 2
    assert str(test) in done.stderr
    assert not (tmp_path / "specs" / "acme_crm.yaml").exists()
    assert test.read_text(encoding="utf-8") == "# mine\n"


@pytest.mark.parametrize("name", ["AcmeCRM", "acme-crm", "1acme", "_acme", "acme crm", "acme/../x", ""])
def test_init_rejects_bad_names(tmp_path: Path, name: str) -> None:
    done = cli("init", name, "--dir", str(tmp_path))
    assert done.returncode == 2
    assert "is not a valid destination id" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_skeleton_passes_for_any_valid_name(tmp_path: Path) -> None:
    for name in ("a", "x9", "my_shop_2"):
        result = check_spec_text(render_spec(name), f"{name}.yaml")
        assert result.ok and result.findings == [], [str(f) for f in result.findings]
        assert result.spec is not None and result.spec.id == name
    spec, test = write_skeleton("zed", tmp_path)
    assert (spec.name, test.name) == ("zed.yaml", "test_zed_spec.py")
