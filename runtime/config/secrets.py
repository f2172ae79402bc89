"""Secrets: resolved from references, held in a wrapper that never prints its value, and scrubbed
(`redact`) in every form a destination could echo them in from anything that leaves the process."""

from __future__ import annotations

import base64
import json
import os
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from destkit.runtime.config.secret_files import FileProblem, read_secret_file
from destkit.runtime.errors import Issue

# a secret of a few characters would turn ordinary words into *** and protect nothing
MIN_REDACTED = 4
_MIN_CORE = 8  # a base64 core shorter than this could match unrelated text
_ENV_NAME = re.compile(r"[^\s=\x00]+")  # what an environment can hold (Kubernetes allows . and -)


class Secret:
    """A secret value; `repr`, `str` and f-strings show `***`. Use `reveal()` where it is sent."""

    __slots__ = ("__weakref__", "_forms", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._forms: SecretForms | None = None
        _LIVE[id(self)] = self

    def reveal(self) -> str:
        return self._value

    def forms(self) -> SecretForms | None:
        """The forms `redact` looks for, computed once; None for a secret too short to redact."""
        if self._forms is None and len(self._value) >= MIN_REDACTED:
            self._forms = SecretForms.of(self._value)
        return self._forms

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

    def __copy__(self) -> Secret:
        return self  # immutable: a copied config shares it (copying must not go through pickling's __reduce__)

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


# every Secret alive, for scrubbing what other libraries log (`redact_live`); an entry goes with its secret
_LIVE: weakref.WeakValueDictionary[int, Secret] = weakref.WeakValueDictionary()


@dataclass(frozen=True, slots=True)
class SecretForms:
    """How one secret can appear in a destination's answer, lower-cased for a case-blind search.

    The value raw and in its JSON escapes, URL-encoded (quote with and without `/` safe, quote_plus),
    base64 (standard and URL-safe, padded or not, and the part of it that shows inside any longer
    encoded text, such as a Basic credential `user:secret`) and hex. Matched regardless of case, so
    an upper- or lower-cased echo is found too.
    """

    needles: tuple[str, ...]  # lower-cased, none containing another: the quick test
    pattern: re.Pattern[str]  # every form, longest first, case-insensitive: the replacement

    @classmethod
    def of(cls, value: str) -> SecretForms:
        found = {f.lower() for f in _forms(value) if len(f) >= MIN_REDACTED}
        needles = tuple(sorted(f for f in found if not any(o != f and o in f for o in found)))
        pattern = re.compile("|".join(re.escape(f) for f in sorted(found, key=len, reverse=True)), re.IGNORECASE)
        return cls(needles, pattern)

    def found_in(self, lowered: str) -> bool:
        # a plain loop, not any(<generator>): half the cost, and this runs on strings a destination sends
        for needle in self.needles:  # noqa: SIM110
            if needle in lowered:
                return True
        return False


def _forms(value: str) -> set[str]:
    raw = value.encode()
    found = {value, json.dumps(value)[1:-1], value.replace("/", "\\/"), quote(value), quote(value, safe=""),
             quote_plus(value), raw.hex()}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode()
        found |= {whole, whole.rstrip("=")}
        for shift in (1, 2):  # the secret after 1 or 2 bytes of other text: the characters only it decides
            shifted = encode(b"\0" * shift + raw).decode().rstrip("=")
            core = shifted[(8 * shift + 5) // 6:(8 * (shift + len(raw))) // 6]
            if len(core) >= _MIN_CORE:
                found.add(core)
    return found


def _literal(key: str, secret: Secret, allow_literal: bool) -> tuple[Secret | None, Issue | None]:
    """A secret given as its value: from Python (unless empty), never from a config file."""
    where = f"secrets.{key}"
    if not allow_literal:
        return None, Issue(where, "a secret value is written into the config file.",
                           f"store it in an environment variable and write `{key}: {{env: {key.upper()}}}`.")
    if not secret.reveal().strip():
        return None, Issue(where, "the secret is empty.", "give its value (or a reference such as {env: NAME}).")
    return secret, None


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
    if isinstance(ref, str | Secret):  # SyncConfig holds a literal wrapped; a plain dict may hold it bare
        return _literal(key, ref if isinstance(ref, Secret) else Secret(ref), allow_literal)
    if isinstance(ref, dict) and len(ref) == 1:
        kind, target = next(iter(ref.items()))
        if kind == "env" and isinstance(target, str):
            if _ENV_NAME.fullmatch(target) is None:  # '' or 'A=B': no variable can have it, and `export` would mislead
                return None, Issue(where, f"{target!r} is not an environment variable name.",
                                   f"name the variable, without spaces or '=', e.g. `{key}: {{env: {key.upper()}}}`.")
            value = os.environ.get(target)
            if not value:
                return None, Issue(where, f"environment variable {target} is not set or empty.", f"export {target}=<value> before running.")
            return Secret(value), None
        if kind == "file" and isinstance(target, str):
            if not target.strip():  # Path('') is the config's own folder
                return None, Issue(where, "the secret file path is empty.", "give the path of the file that holds the secret.")
            return _file_secret(where, target, base_dir)
    return None, Issue(where, "a secret must be a reference: {env: NAME} or {file: PATH}.", f"write `{key}: {{env: {key.upper()}}}`.")


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """Replace every form of every secret in `text` by ***; used on anything that leaves the process.

    Cheap when `text` holds none (a few substring tests): it runs on every string a destination sends.
    """
    lowered: str | None = None
    for secret in secrets:
        forms = secret.forms()
        if forms is None:
            continue
        if lowered is None:
            lowered = text.lower()
        if forms.found_in(lowered):
            text = forms.pattern.sub("***", text)
            lowered = text.lower()
    return text


def may_mention(content: bytes, secrets: Iterable[Secret]) -> bool:
    """Whether a raw answer may hold a secret in some form: False means no string read from it can.

    One pass over the bytes per answer, so the strings read from a clean answer need no scrubbing. An
    answer with a backslash may hide a form behind a JSON escape, so it is never called clean.
    """
    if b"\\" in content:
        return any(s.forms() is not None for s in secrets)
    lowered = content.lower()
    for secret in secrets:
        forms = secret.forms()
        if forms is not None and any(n.encode() in lowered or not n.isascii() for n in forms.needles):
            return True
    return False


def redact_live(text: str) -> str:
    """`redact` with every secret this process holds: for log lines of libraries that know no sync."""
    return redact(text, list(_LIVE.values()))
