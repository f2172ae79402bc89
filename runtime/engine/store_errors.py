"""The state store's errors, and reading an outcome back from its row without trusting the row.

A row another program (or a hand) changed, with a status or reason no destkit writes or JSON that does
not parse, is a `StateStoreError` naming the row, not an internal error in the middle of a resume.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from destkit.runtime.errors import DestkitError
from destkit.runtime.outcomes import Outcome, Reason, Status


class StateStoreError(DestkitError):
    """The state store cannot be opened or written (disk full, read-only, I/O error); the run stops there.

    What the store held before stays consistent (a failed write is rolled back whole), so once the
    cause is fixed a resumed run continues from it.
    """

    def __init__(self, path: Path, cause: BaseException, doing: str = "use") -> None:
        self.path = path
        self.cause = str(cause) or type(cause).__name__
        super().__init__(f"cannot {doing} the state store {path}: {self.cause}")


class NotAStateStore(StateStoreError):
    """The path is a directory, or a file no destkit wrote; nothing was written to it. `fix` says what to pass."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(path, ValueError(f"it is not a destkit state store ({why})"))
        self.fix = "pass the --state a destkit sync wrote, or a path where a new store may be created"


class UnreadableRow(StateStoreError):
    """A row holds what no destkit writes: the store was changed outside destkit. `fix` says what to do."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(path, ValueError(f"{what}, which destkit never writes (the file was changed by another "
                                          "program or by hand)"), "read")
        self.fix = "pass a new --state: what this store says was sent cannot be trusted"


_STATUSES = {s.value: s for s in Status}
_REASONS = {r.value: r for r in Reason}


def stored_outcome(path: Path, r: tuple[Any, ...]) -> Outcome:
    """An outcome from its row of the store's outcome query (members by dict lookups: `Status(text)` costs ~1 µs)."""
    try:
        return Outcome(row=r[0], status=_STATUSES[r[2]], key=r[1], reason=_REASONS[r[3]] if r[3] else None,
                       field=r[4], message=r[5], destination_status=r[6], destination_code=r[7],
                       destination_message=r[8], destination_id=r[9],
                       warnings=json.loads(r[10]) if r[10] else None, attempts=r[11],
                       value=None if r[12] is None else json.loads(r[12]), primary_key=r[13])
    except (KeyError, ValueError, TypeError) as exc:
        raise UnreadableRow(path, f"the outcome of row {r[0]} holds {_unreadable(r, exc)}") from None


def _unreadable(r: tuple[Any, ...], exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"the status {r[2]!r}" if r[2] not in _STATUSES else f"the reason {r[3]!r}"
    return f"a value that does not read ({type(exc).__name__})"


__all__ = ["NotAStateStore", "StateStoreError", "UnreadableRow", "stored_outcome"]
