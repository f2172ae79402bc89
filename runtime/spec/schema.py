"""`specs/destination-spec.schema.json`: the JSON Schema of the spec language, for editors.

Generated from the pydantic models so it can never disagree with what the loader accepts; a test
fails when the checked-in copy is stale. Regenerate with `python -m destkit.runtime.spec.schema --write`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from destkit.runtime.spec.models import DestinationSpec

SCHEMA_ID = "https://destkit.dev/schemas/destination-spec.schema.json"


def spec_json_schema() -> dict[str, Any]:
    schema = DestinationSpec.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "destkit destination spec", **schema}


def render() -> str:
    return json.dumps(spec_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    target = Path(__file__).resolve().parents[2] / "specs" / "destination-spec.schema.json"
    if "--write" in argv:
        target.write_text(render(), encoding="utf-8")
        print(f"wrote {target}")
        return 0
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
