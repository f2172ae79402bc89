"""The run lock: one recorded run at a time per state store, config and input.

Two processes syncing the same input with the same config into the same state store would both
send every record, and a resume planned by one would race the other's outcomes. So a recorded
run holds an exclusive OS lock (`flock`) on a small file beside the state store, named for the
config and input (`<state>.<key>.lock`); runs of other configs or inputs do not wait on it. The
kernel drops the lock when its process ends, however it ends (a SIGKILL included), so a crashed
run never holds the next one back. The file says who holds it (pid, run id), to name them.

Within one process the lock is re-entrant: the CLI takes it before planning, and the run it
starts (which takes it too, for embedders) finds it already held.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import orjson

from destkit.runtime.engine.files import open_private
from destkit.runtime.engine.state import StateStore, StateStoreError, input_source
from destkit.runtime.errors import UsageError


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run lock, as its lock file says (pid 0 and run id "": not said yet)."""

    pid: int = 0
    run_id: str = ""
    since: float = 0.0

    def __str__(self) -> str:
        run = f"run {self.run_id}" if self.run_id else "a run that has not started yet"
        return f"{run} (pid {self.pid})" if self.pid else run


class RunLocked(UsageError):
    """Another process is running this config over this input with this state store."""

    def __init__(self, holder: LockHolder, state_path: Path) -> None:
        super().__init__(f"another destkit process is running this config over this input with the state store "
                         f"{state_path}: {holder}.", key="state",
                         fix="wait for it to finish, or use another state store.")
        self.holder = holder


# lock file path -> [descriptor, how many times this process holds it]
_HELD: dict[str, list[int]] = {}


class RunLock:
    """The exclusive lock of one (state store, config, input); a context manager."""

    def __init__(self, path: Path, state_path: Path) -> None:
        self.path = path
        self.state_path = state_path
        self._taken = False

    @classmethod
    def of(cls, state: StateStore, config_hash: str, input_ref: str) -> RunLock | None:
        """The lock of runs of `config_hash` over `input_ref`'s input in `state` (None for an in-memory store)."""
        if state.in_memory:
            return None
        key = hashlib.sha256(f"{config_hash}\0{input_source(input_ref)}".encode()).hexdigest()[:16]
        return cls(Path(f"{state.path}.{key}.lock"), state.path)

    def acquire(self, *, wait: bool = False, on_wait: Callable[[LockHolder], None] | None = None) -> None:
        """Take the lock; held elsewhere, raise `RunLocked` or, with `wait`, block until it is free."""
        held = _HELD.get(str(self.path))
        if held is not None:
            held[1] += 1
        else:
            _HELD[str(self.path)] = [self._lock_file(wait, on_wait), 1]
        self._taken = True

    def _lock_file(self, wait: bool, on_wait: Callable[[LockHolder], None] | None) -> int:
        try:
            fd = open_private(self.path, truncate=False, read=True)
        except OSError as exc:
            raise StateStoreError(self.state_path, exc, "lock") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(self.path)
            if not wait:
                os.close(fd)
                raise RunLocked(holder, self.state_path) from None
            if on_wait is not None:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        write_holder(fd, LockHolder(os.getpid(), "", time.time()))
        return fd

    def note_run(self, run_id: str) -> None:
        """Say in the lock file which run holds it, for whoever is refused or waits."""
        held = _HELD.get(str(self.path))
        if held is not None:
            write_holder(held[0], LockHolder(os.getpid(), run_id, time.time()))

    def release(self) -> None:
        if not self._taken:
            return
        self._taken = False
        held = _HELD[str(self.path)]
        held[1] -= 1
        if held[1] == 0:
            del _HELD[str(self.path)]
            with contextlib.suppress(OSError):
                os.ftruncate(held[0], 0)
            os.close(held[0])  # closing the descriptor drops the lock; the file stays (deleting it would race)

    def __enter__(self) -> RunLock:
        if not self._taken:
            self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def write_holder(fd: int, holder: LockHolder) -> None:
    with contextlib.suppress(OSError):  # who holds the lock is a courtesy; a full disk must not fail the run here
        data = orjson.dumps({"pid": holder.pid, "run_id": holder.run_id, "since": holder.since})
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


def read_holder(path: Path) -> LockHolder:
    try:
        data = orjson.loads(path.read_bytes() or b"{}")
        return LockHolder(int(data.get("pid", 0)), str(data.get("run_id", "")), float(data.get("since", 0.0)))
    except (OSError, ValueError, TypeError, AttributeError):
        return LockHolder()


__all__ = ["LockHolder", "RunLock", "RunLocked"]
