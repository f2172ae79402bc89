"""What makes a file run safe to stop, repeat and leave behind: `destkit sync` and `destkit retry` use it.

- outputs: the report and its summary hold personal data; they may not be the input, the config
  or the state store (compared as resolved files), nor a symlink.
- the state store: one that cannot be opened (a read-only directory, a full disk) is an error
  naming the file, exit 2.
- the run lock: a second run of the same config and input on the same state store is refused,
  naming the running one (exit 2), or waits for it with `--wait-for-lock`.
- signals: SIGTERM and SIGINT (Ctrl-C) stop the run cleanly (`StopRequest`); the exit code is
  128 + the signal's number (130, 143), and the command that finishes the run is printed.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from destkit.runtime.cli.display import EXIT_ERROR, err, fail, out, say
from destkit.runtime.engine import (
    LockHolder,
    NotAStateStore,
    RunLock,
    RunLocked,
    StateStore,
    StateStoreError,
    StopRequest,
    Sync,
)
from destkit.runtime.engine.policy import sync_hash
from destkit.runtime.engine.report import summary_path_of

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def check_outputs(report: Path, *, input_path: Path, config: Path, state: Path | None,
                  option: str = "--report") -> None:
    """Refuse a report or summary path (or another output, named by its `option`) that is an input of the run,
    or a symlink (before anything is written)."""
    protected = [("the input", input_path), ("the sync config", config)]
    if state is not None:
        protected.append(("the state store", state))
    # the report's summary is written beside it, so it must not clash either
    paths = [("report", report), ("summary", summary_path_of(report))] if option == "--report" else [(option, report)]
    for label, path in paths:
        for what, other in protected:
            if same_file(path, other):
                fail(f"the {label} path {path} is {what}; writing it would destroy it. Choose another {option}.")
        if path.is_symlink():
            fail(f"the {label} path {path} is a symlink, and destkit does not write through symlinks; "
                 f"remove it or choose another {option}.")


def check_output_files(outputs: dict[str, Path | None], *, input_path: Path, config: Path,
                       state: Path | None) -> None:
    """`check_outputs` for each output named (by its option: --report, --html-report, --outcomes), and no two
    of them (or the report's summary) one file: each would overwrite the other's rows."""
    named = [(option, path) for option, path in outputs.items() if path is not None]
    taken: list[tuple[str, Path]] = []
    for option, path in named:
        check_outputs(path, input_path=input_path, config=config, state=state, option=option)
        mine = [(option, path)] + ([("the summary of --report", summary_path_of(path))] if option == "--report" else [])
        for other_option, other in taken:
            if any(same_file(p, other) for _, p in mine):
                fail(f"{option} {path} and {other_option} {other} are one file; give each its own path.")
        taken += mine


def same_file(path: Path, other: Path) -> bool:
    """Whether two paths name one file: the same once resolved, or hard links of one file."""
    if path.resolve() == other.resolve():
        return True
    try:
        return os.path.samefile(path, other)
    except OSError:  # one of them does not exist yet
        return False


def open_state(path: Path) -> StateStore:
    try:
        return StateStore(path)
    except NotAStateStore as exc:
        fail(f"{exc}. Fix: {exc.fix}.")
    except StateStoreError as exc:
        fail(f"{exc}. Check that the directory exists, is writable and has free space, or pass another --state.")


@contextmanager
def run_lock(store: StateStore, sync: Sync, input_ref: str, *, wait: bool) -> Iterator[None]:
    """Hold the run lock of this config and input for the whole command (planning included)."""
    lock = RunLock.of(store, sync_hash(sync), input_ref)
    if lock is None:
        yield
        return
    try:
        lock.acquire(wait=wait, on_wait=tell_waiting)
    except RunLocked as exc:
        fail(f"another destkit process is running this config over this input with the state store {store.path}: "
             f"{exc.holder}. Wait for it to finish, or pass --wait-for-lock to start when it has.")
    except StateStoreError as exc:
        fail(f"{exc}.")
    try:
        yield
    finally:
        lock.release()


def tell_waiting(holder: LockHolder) -> None:
    say(f"Waiting for {holder} to finish (--wait-for-lock)...")
    out.file.flush()


@contextmanager
def stopping_on_signals(stop: StopRequest) -> Iterator[None]:
    """Inside a running event loop: SIGINT and SIGTERM request `stop` (a second one: at once)."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if not stop.requested:
            err.print(f"{sig.name}: stopping; the batches in flight have {stop.grace_s:g} s to finish "
                      "(send it again to stop at once).", markup=False, highlight=False)
        stop.request(sig.name)

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def stop_exit_code(reason: str) -> int:
    """128 + the signal's number, as a shell reports a process a signal ended (SIGINT 130, SIGTERM 143)."""
    try:
        return 128 + signal.Signals[reason].value
    except KeyError:
        return EXIT_ERROR


__all__ = ["check_output_files", "check_outputs", "open_state", "run_lock", "same_file", "stop_exit_code", "stopping_on_signals"]
