"""`destkit init NAME`: a new destination's starting point, a spec skeleton and the test that keeps it honest.

The skeleton is a minimal spec that passes `destkit spec check` as written: API-key auth, one
batched upsert action keyed by an id field, per-record results and the default error classes, with
a comment on every block and TODO on every line that is a guess about the destination's API. The
test file checks the spec and dry-runs three records into the one request they should become.
"""

from __future__ import annotations

import re
from pathlib import Path

from destkit.runtime.errors import UsageError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class ScaffoldError(UsageError):
    """The name is not valid, or a file would be overwritten; nothing was written."""


SPEC_TEMPLATE = """\
# {title}: a destkit destination spec, started by `destkit init {name}`.
# Every line marked TODO is a guess about the destination's API: replace it with what its docs say.
# Check it with `destkit spec check specs/{name}.yaml`; the spec language's JSON Schema
# (`destkit spec schema`, specs/destination-spec.schema.json) gives editors completion.
spec_version: 1
id: {name}
name: {title}                                   # TODO: the product's name, as users know it
description: Upsert contacts into {title}.      # TODO
docs: https://example.com/docs/api              # TODO: the API reference this spec follows

# Non-secret settings the user fills in (JSON-Schema keywords); templates read them as
# {{{{ settings.NAME }}}}, record bodies as $settings.NAME. For example:
#   region: {{type: string, title: Region, enum: [eu, us], default: eu}}
settings: {{}}

# Credentials: the user gives references ({{env: NAME}} or {{file: PATH}}), never values.
secrets:
  api_key:
    title: API Key
    description: Where the user finds it in {title}.   # TODO

base_url: "https://api.example.com"             # TODO: https only; may use {{{{ settings.NAME }}}}
auth: {{kind: api_key, in: header, name: x-api-key, value: "{{{{ secrets.api_key }}}}"}}   # TODO: header name

actions:
  upsert_contacts:
    title: Upsert Contacts
    description: Create or update contacts in batches, matched on their id.
    # The fields a user maps their data to; each is checked before it is sent.
    fields:
      id:
        type: string
        title: Id
        description: The contact's id in your system; {title} matches existing contacts on it.
        required: true
        maxLength: 255                          # TODO
      email: {{type: string, title: Email, format: email, maxLength: 254}}
      first_name: {{type: string, title: First Name, maxLength: 255}}
    # Records per request and bytes per request body; `key` keeps duplicates out of one batch.
    batch: {{max_records: 100, max_bytes: 1000000, key: id}}   # TODO: the API's limits
    request:
      method: POST
      path: /v1/contacts/batch                  # TODO
      body: {{contacts: $records}}                # the envelope; $records is the list of record bodies
      record:                                   # one record's body; an absent value is left out
        id: $id
        email: $email
        first_name: $first_name
    # How to read one result per record out of a 2xx answer (JMESPath).
    response:
      results: results                          # TODO: where the per-record list is
      match: index                              # results come back in request order
      ok: {{field: status, in: [ok]}}             # TODO
      error: {{code: error.code, message: error.message}}   # TODO

# What each HTTP status means (these are the defaults): rejected records are not retried,
# auth failures stop the run, retried statuses back off and honour Retry-After, and a whole
# batch refused with a split status is halved until the bad records stand alone.
errors:
  rejected: [400, 404, 409, 413, 422]
  auth: [401, 403]
  retry: [408, 423, 425, 429, 5xx]
  split: [400, 413, 422]
"""


TEST_TEMPLATE = '''\
"""The {name} destination spec: it passes `destkit spec check`, and records become the expected request.

Started by `destkit init {name}`; extend it as the spec grows (one test per behaviour).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from destkit.runtime import Status, build_sync

SPEC = Path(__file__).resolve().parent.parent / "specs" / "{name}.yaml"

CONFIG = {{
    "destination": str(SPEC),
    "action": "upsert_contacts",
    "settings": {{}},
    "secrets": {{"api_key": "test-key"}},  # literal secrets are allowed from Python, never in config files
    "mapping": {{"id": "user_id", "email": "email", "first_name": "first_name"}},
}}

RECORDS = [
    {{"user_id": "u1", "email": "ann@example.com", "first_name": "Ann"}},
    {{"user_id": "u2", "email": "ben@example.com"}},
    {{"user_id": "u3", "first_name": "Cy"}},
]


def test_the_spec_passes_destkit_spec_check() -> None:
    done = subprocess.run([sys.executable, "-m", "destkit.runtime.cli.app", "spec", "check", str(SPEC)],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: {name} (" in done.stdout


def test_three_records_become_one_request_with_the_expected_body() -> None:
    result = build_sync(CONFIG, trust_spec=True).dry_run(RECORDS, offline=True)  # your own spec file
    assert result.summary.count(Status.DELIVERED) == 3
    assert len(result.requests) == 1
    request = result.requests[0]
    assert (request.method, request.records) == ("POST", 3)
    assert request.url.endswith("/v1/contacts/batch")
    assert request.json() == {{
        "contacts": [
            {{"id": "u1", "email": "ann@example.com", "first_name": "Ann"}},
            {{"id": "u2", "email": "ben@example.com"}},  # an absent value is left out, never sent empty
            {{"id": "u3", "first_name": "Cy"}},
        ]
    }}


def test_a_record_without_its_id_is_invalid_and_never_sent() -> None:
    result = build_sync(CONFIG, trust_spec=True).dry_run([{{"email": "no-id@example.com"}}], offline=True)
    assert result.summary.count(Status.INVALID) == 1
    assert result.summary.reasons == {{"missing_required": 1}}
    assert result.requests == []
'''


def title_of(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split("_") if part)


def render_spec(name: str) -> str:
    return SPEC_TEMPLATE.format(name=name, title=title_of(name))


def render_test(name: str) -> str:
    return TEST_TEMPLATE.format(name=name)


def check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise ScaffoldError(
            f"'{name}' is not a valid destination id: use lower-case letters, digits and _, starting with a "
            f"letter (e.g. {re.sub(r'[^a-z0-9_]+', '_', name.lower()).strip('_') or 'acme_crm'})."
        )


def write_skeleton(name: str, directory: Path | str = ".") -> tuple[Path, Path]:
    """Write `specs/<name>.yaml` and `tests/test_<name>_spec.py` under `directory`; never overwrite."""
    check_name(name)
    root = Path(directory)
    spec_path = root / "specs" / f"{name}.yaml"
    test_path = root / "tests" / f"test_{name}_spec.py"
    existing = [p for p in (spec_path, test_path) if p.exists()]
    if existing:
        raise ScaffoldError(
            f"{' and '.join(map(str, existing))} already exist{'s' if len(existing) == 1 else ''}; "
            "destkit init never overwrites. Choose another name or --dir, or remove the file first."
        )
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    test_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(render_spec(name), encoding="utf-8")
    test_path.write_text(render_test(name), encoding="utf-8")
    return spec_path, test_path


__all__ = [
    "NAME_PATTERN",
    "ScaffoldError",
    "check_name",
    "render_spec",
    "render_test",
    "title_of",
    "write_skeleton",
]
