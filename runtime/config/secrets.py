"""Secrets: resolved from references, held in a wrapper that never prints its value."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from destkit.runtime.config.secret_files import FileProblem, read_secret_file
from destkit.runtime.errors import Issue


class Secret:
    """A secret value; `repr`, `str` and f-strings show `***`. Use `reveal()` where it is sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self) -> Any:
        raise TypeError("secrets cannot be pickled")


def _file_secret(where: str, target: str, base_dir: Path | None) -> tuple[Secret | None, Issue | None]:
    """`{file: PATH}`: the secret in a regular file (see `secret_files`), relative to the config's folder."""
    path = Path(target).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    content = read_secret_file(path)
    if isinstance(content, FileProblem):
        return None, Issue(where, content.message, content.fix)
    if not content:
        return None, Issue(where, f"secret file {path} is empty.", "write the secret into it.")
    return Secret(content), None


def resolve_secret(key: str, ref: Any, *, allow_literal: bool, base_dir: Path | None = None) -> tuple[Secret | None, Issue | None]:
    """`{env: NAME}`, `{file: PATH}` or (from Python only) a literal string → Secret."""
    where = f"secrets.{key}"
    if isinstance(ref, Secret):
        return ref, None
    if isinstance(ref, str):
        if allow_literal:
            if not ref.strip():
                return None, Issue(where, "the secret is empty.", "give its value (or a reference such as {env: NAME}).")
            return Secret(ref), None
        return None, Issue(where, "a secret value is written into the config file.",
                           f"store it in an environment variable and write `{key}: {{env: {key.upper()}}}`.")
    if isinstance(ref, dict) and len(ref) == 1:
        kind, target = next(iter(ref.items()))
        if kind == "env" and isinstance(target, str):
            value = os.environ.get(target)
            if not value:
                return None, Issue(where, f"environment variable {target} is not set or empty.", f"export {target}=<value> before running.")
            return Secret(value), None
        if kind == "file" and isinstance(target, str):
            return _file_secret(where, target, base_dir)
    return None, Issue(where, "a secret must be a reference: {env: NAME} or {file: PATH}.", f"write `{key}: {{env: {key.upper()}}}`.")


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """Replace every secret value in `text` by ***; used on anything that leaves the process."""
    for s in secrets:
        v = s.reveal()
        # a secret of a few characters would turn ordinary words into *** and protect nothing
        if len(v) >= 4 and v in text:
            text = text.replace(v, "***")
    return text
