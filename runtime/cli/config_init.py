"""`destkit config init`: a starter sync config for one action of a destination.

Every field of the action is a line of the mapping, with its title, type, required mark and
description as a comment; a field whose source column could be guessed from the input's column
names (exactly, ignoring case and `_`/`-`/spaces, a close match, or a name CDP exports use for it: `fname`,
`mobile`, `segments`) is mapped, the others are commented out. Settings get their default or example, secrets an `{env: NAME}` reference.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from destkit.runtime.cli.display import fail, say
from destkit.runtime.cli.loading import InputCheck, InputDbOpt, check_input_given, input_columns
from destkit.runtime.errors import ConfigError
from destkit.runtime.spec.models import ActionSpec, DestinationSpec, FieldSchema
from destkit.runtime.spec.settings_models import SettingSchema

config_app = typer.Typer(
    name="config",
    help="Write a starter sync config for a destination's action.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

CLOSE_MATCH = 0.75  # difflib ratio of normalised names: `firstname` ~ `first_name` (`fname` is a usual name)
PLACEHOLDER = "change-me"  # lower case: it fits the usual id/subdomain patterns until it is filled in
_SEPARATORS = re.compile(r"[\s_\-.]+")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class Guess:
    """The source column a field is mapped from, and how it was found (exact, normalised, close)."""

    column: str
    how: str


def normalised(name: str) -> str:
    return _SEPARATORS.sub("", name).lower()


def guess_mapping(fields: list[str], columns: list[str], titles: dict[str, str]) -> dict[str, Guess]:
    """Each field's source column: exact names first, then names equal but for case and separators (the
    field's title too), then close matches, then the field's first word; a column is used once."""
    guesses: dict[str, Guess] = {}
    free = list(columns)
    for how, match in (("exact", exact_match), ("same name", normalised_match), ("close match", close_match),
                       ("usual name", usual_name_match), ("first word", first_word_match)):
        for name in fields:
            if name in guesses:
                continue
            found = match([name, titles.get(name, name)], free)
            if found is not None:
                guesses[name] = Guess(found, how)
                free.remove(found)
    return guesses


def exact_match(names: list[str], columns: list[str]) -> str | None:
    return names[0] if names[0] in columns else None


def normalised_match(names: list[str], columns: list[str]) -> str | None:
    wanted = {normalised(n) for n in names}
    return next((c for c in columns if normalised(c) in wanted), None)


def close_match(names: list[str], columns: list[str]) -> str | None:
    by_norm = {normalised(c): c for c in columns}
    for name in names:
        close = difflib.get_close_matches(normalised(name), list(by_norm), n=1, cutoff=CLOSE_MATCH)
        if close:
            return by_norm[close[0]]
    return None


# The names CDP exports give the columns of a field's concept (normalised: lower case, no separators), tried in
# order; a field is of a concept when its own normalised name starts with one of the concept's words.
USUAL_NAMES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("firstname", "givenname"), ("fname", "firstname", "givenname", "forename")),
    (("lastname", "familyname", "surname"), ("lname", "lastname", "surname", "familyname")),
    (("phone", "mobile", "msisdn"), ("phone", "phonenumber", "mobile", "mobilenumber", "mobilephone", "msisdn",
                                     "cellphone", "telephone")),
    (("email",), ("email", "emailaddress", "mail")),
    (("externalreferenceid", "externalid", "userid", "customerid"), ("userid", "customerid", "externalid", "uid")),
    (("tags", "segments", "audiences"), ("segments", "tags", "audiences")),
    (("customproperties", "customattributes", "attributes", "traits"), ("attributes", "traits", "properties",
                                                                        "customattributes", "customproperties")),
)


def usual_name_match(names: list[str], columns: list[str]) -> str | None:
    """A column under a name CDP exports use for the field's concept (`fname` for `first_name`, `mobile` for
    `phone_number`, `segments` for `tags`, `attributes` for `custom_properties`)."""
    field = normalised(names[0])
    usual = next((usual for words, usual in USUAL_NAMES if field.startswith(words)), ())
    by_norm = {normalised(c): c for c in columns}
    return next((by_norm[name] for name in usual if name in by_norm), None)


def first_word_match(names: list[str], columns: list[str]) -> str | None:
    """A column named as the field's first word (`phone` for `phone_number`), if that word is not a short one."""
    word = _SEPARATORS.split(names[0])[0].lower()
    return next((c for c in columns if normalised(c) == word), None) if len(word) >= 4 else None


# --- writing the config --------------------------------------------------------------------------------


def scalar(value: Any) -> str:
    """A YAML scalar: plain when it reads back as the same string, JSON-quoted otherwise."""
    if isinstance(value, str) and _PLAIN.match(value) and value.lower() not in ("true", "false", "null", "yes", "no"):
        return value
    return orjson.dumps(value).decode()


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def field_comment(name: str, schema: FieldSchema) -> str:
    kind = schema.type if isinstance(schema.type, str) else " | ".join(schema.type)
    if kind == "array" and schema.items is not None:
        kind = f"array of {schema.items.type if isinstance(schema.items.type, str) else ' | '.join(schema.items.type)}"
    parts = [schema.title or name, kind, "required" if schema.required else "optional"]
    if schema.format:
        parts.append(f"format {schema.format}")
    if schema.catalog or schema.keys_catalog:
        parts.append(f"catalog {schema.catalog or schema.keys_catalog}")
    text = " · ".join(parts)
    return f"{text} — {one_line(schema.description)}" if schema.description else text


def mapping_lines(action: ActionSpec, guesses: dict[str, Guess]) -> list[str]:
    lines = ["mapping:   # destination field: source column (or path); fields not guessed are commented out"]
    for name, schema in action.fields.items():
        comment = field_comment(name, schema)
        guess = guesses.get(name)
        if guess is not None:
            lines.append(f"  {name}: {scalar(guess.column)}   # {comment} ({guess.how})")
        else:
            todo = "TODO: required, map it" if schema.required else "not guessed"
            lines.append(f"  # {name}: {PLACEHOLDER}   # {comment} ({todo})")
    return lines


def setting_value(schema: SettingSchema) -> Any:
    if schema.default is not None:
        return schema.default
    if schema.examples:
        return schema.examples[0]
    return {"boolean": False, "integer": 0, "number": 0}.get(schema.type, PLACEHOLDER)


def settings_lines(spec: DestinationSpec) -> list[str]:
    lines = ["settings:"]
    for name, schema in spec.settings.items():
        if schema.derive is not None:
            continue  # read from a secret, never given
        comment = " · ".join([schema.title or name, schema.type, "required" if schema.is_required else "optional"])
        if schema.description:
            comment += f" — {one_line(schema.description)}"
        value = setting_value(schema)
        line = f"{name}: {scalar(value)}   # {comment}"
        lines.append(f"  {line}" if schema.is_required else f"  # {line} (default)")
    return lines if len(lines) > 1 else ["settings: {}"]


def env_name(spec: DestinationSpec, secret: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", f"{spec.id}_{secret}".upper())


def secrets_lines(spec: DestinationSpec, action_id: str) -> list[str]:
    lines = ["secrets:   # never the value: {env: NAME} reads an environment variable, {file: PATH} a file"]
    for name, schema in spec.secrets.items():
        if schema.actions is not None and action_id not in schema.actions:
            continue
        comment = schema.title or name
        if schema.description:
            comment += f" — {one_line(schema.description)}"
        line = f"{name}: {{env: {env_name(spec, name)}}}   # {comment}"
        lines.append(f"  {line}" if schema.required else f"  # {line} (optional)")
    return lines if len(lines) > 1 else ["secrets: {}"]


def action_guesses(action: ActionSpec, columns: list[str] | None) -> dict[str, Guess]:
    """The action's fields guessed from the columns (none without an input)."""
    titles = {name: schema.title or name for name, schema in action.fields.items()}
    return guess_mapping(list(action.fields), columns, titles) if columns else {}


def starter_config(spec: DestinationSpec, action_id: str, guesses: dict[str, Guess]) -> str:
    """The starter config's text: a header, destination and action, settings, secrets, the mapping."""
    action = spec.actions[action_id]
    header = [f"# A starter sync config: {spec.name} · {action.title} (written by `destkit config init`).",
              "# Check each line, then try it: destkit preview THIS_FILE --input FILE"]
    lines = [*header, f"destination: {spec.id}", f"action: {action_id}",
             *settings_lines(spec), *secrets_lines(spec, action_id), *mapping_lines(action, guesses)]
    return "\n".join(lines) + "\n"


def input_column_names(path: Path | None, sql: str | None = None, db: Path | None = None) -> list[str]:
    """The column names of `--input` or of an `--input-sql` query (CSV header order; JSON, Parquet and query
    columns as sorted field paths, a struct's fields dotted)."""
    check_input_given(path, sql, db)
    if path is not None and not path.exists():
        fail(f"input {path} does not exist; check the --input path.")
    where = str(path) if path is not None else "the --input-sql query"
    try:
        columns = input_columns(InputCheck(path, sql=sql, db=db))
    except (OSError, ValueError) as exc:
        reason = str(exc).rstrip(".")  # a failed query's message names the query already
        fail(f"{reason}." if reason.startswith("the --input-sql") else f"cannot read the columns of {where}: {reason}.")
    if columns is None:
        fail(f"cannot read the columns of {where}: give a .csv, .tsv, .jsonl or .parquet file (or a Parquet or "
             "Delta folder) with a header or records, or a query that runs (try it in duckdb).")
    header = columns.header.split(columns.delimiter) if columns.delimiter else None
    return header or sorted(columns.paths)


def load_action(destination: str, action: str, trust_spec: bool) -> DestinationSpec:
    from destkit.runtime.spec.loader import load_spec

    try:
        spec = load_spec(destination, trust_spec=trust_spec)
    except ConfigError as exc:
        fail(exc.render())
    if action not in spec.actions:
        close = difflib.get_close_matches(action, list(spec.actions), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(spec.actions)}."
        fail(f"{spec.id} has no action '{action}'. Fix: {hint}")
    return spec


@config_app.command("init")
def config_init(
    destination: Annotated[str, typer.Argument(help="A bundled destination id (see `destkit specs`) or a spec path.")],
    action: Annotated[str, typer.Argument(help="One of the destination's actions.")],
    input_path: Annotated[Path | None, typer.Option(
        "--input", "-i", help="A sample of the records (.csv, .tsv, .jsonl, .parquet, a Parquet or Delta folder): "
        "the mapping is guessed from its columns.")] = None,
    input_sql: Annotated[str | None, typer.Option(
        "--input-sql", help="Guess the mapping from the columns of this DuckDB query instead of --input "
        "(needs the extra destkit[arrow]).")] = None,
    input_db: InputDbOpt = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the config.")] = Path("sync.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")] = False,
    trust_spec: Annotated[bool, typer.Option(
        "--trust-spec", help="Allow a spec file by path: its hooks run as code (bundled ids need no flag).")] = False,
) -> None:
    """Write a starter sync config: every field of the action as a commented line, the mapping guessed from
    the input's column names, settings and secret references to fill in."""
    spec = load_action(destination, action, trust_spec)
    given = input_path is not None or input_sql is not None or input_db is not None
    columns = input_column_names(input_path, input_sql, input_db) if given else None
    if output.exists() and not force:
        fail(f"{output} exists; choose another --output or pass --force to replace it.")
    guesses = action_guesses(spec.actions[action], columns)
    text = starter_config(spec, action, guesses)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}.")
    say(f"Wrote {output}: {len(guesses)} of {len(spec.actions[action].fields)} fields mapped from the input's columns.")
    source = "--input-sql QUERY" if input_sql is not None else "--input FILE"
    say(f"Next: fill in what it marks, then: destkit preview {output} {source}")


__all__ = ["action_guesses", "config_app", "config_init", "guess_mapping", "starter_config"]
