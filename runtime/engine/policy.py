"""The run policy: which rows a run reads, continues or sends again, decided from the state store.

Three modes, the same for the CLI and for a platform that embeds destkit:

- ``sync``: a new run over every record.
- ``resume`` (``destkit sync --resume``): continue the last sync run of the same config and input
  if it did not finish (crashed, stopped by a signal, a full disk or an auth failure), skipping
  every row that already has an outcome. With none it starts a new run; if that run read another
  version of the input it refuses (`InputChanged`), because its row numbers would name other records.
- ``retry`` (``destkit retry``): send again, with their current data from the input, the records
  of this config and input whose latest outcome over all runs is rejected or dead-lettered
  (``dead_lettered/unknown_delivery`` only with ``include_unknown``); when there are none, nothing
  is read. A retry that did not finish is continued by the next retry over the same input version,
  so each row is in its report once. Outcomes keep the input's row numbers.

An embedder gives the run a mode and the input's version (``input_ref``), and the run plans itself::

    store = StateStore("state.sqlite")
    result = sync.run(records, state=store, input_ref="audience-2024-06-01", mode="resume")
    result.plan.resume            # the RunInfo that was continued, or None for a new run

or plans first, to show the user what will happen, and hands the plan to the run::

    plan = plan_run(sync, store, mode="retry", input_ref="audience-2024-06-01")
    if not plan.nothing_to_do:
        sync.run(records, state=store, plan=plan)

``input_ref`` identifies the input's version: `destkit.runtime.engine.input_ref(path)` for a file
(path, size, modification time), any stable string (a snapshot id) for a stream. Runs over two
versions of one file are runs of the same input, runs over two files are not; any other refs are
versions of the config's one input (`state.input_source`). A config is "the same" when its
destination, action, settings and mapping are (`state.config_hash`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from destkit.runtime.engine.state import RunInfo, StateStore, config_hash, same_input
from destkit.runtime.errors import UsageError

if TYPE_CHECKING:  # the run calls the policy, so the policy may not import the run at run time
    from destkit.runtime.engine.sync import Sync


class RunMode(StrEnum):
    """What a run does with the state of earlier runs."""

    SYNC = "sync"
    RESUME = "resume"
    RETRY = "retry"


class InputChanged(UsageError):
    """`resume` found an unfinished run that read a different version of the input."""

    def __init__(self, run: RunInfo, input_ref: str) -> None:
        super().__init__(
            f"the unfinished run {run.run_id} read a different version of the input (it changed since).",
            key="input_ref",
            fix="run without resume to start over.",
        )
        self.run = run
        self.input_ref = input_ref


@dataclass(frozen=True)
class RunPlan:
    """What a run will do: a new run, the continuation of `resume`, or a retry of failed records.

    `only_keys` (retry) limits the run to records with those keys; an empty set means there is
    nothing to retry, and the run reads nothing. `retry_of` is the last run over the input (the
    one a retry follows); a retry continues `resume` when that was an unfinished retry.
    """

    mode: RunMode = RunMode.SYNC
    input_ref: str = ""
    resume: RunInfo | None = None
    retry_of: RunInfo | None = None
    only_keys: frozenset[str] | None = None
    unknown_keys: frozenset[str] = frozenset()  # retry: left out, dead-lettered as unknown_delivery

    @property
    def kind(self) -> str:
        """The kind of run the state store records: a retry, or a sync (a resumed run keeps its own)."""
        return "retry" if self.mode is RunMode.RETRY else "sync"

    @property
    def nothing_to_do(self) -> bool:
        """A retry with no record to send again."""
        return self.only_keys is not None and not self.only_keys


def plan_run(sync: Sync, state: StateStore | None, *, mode: RunMode | str = RunMode.SYNC, input_ref: str = "",
             include_unknown: bool = False) -> RunPlan:
    """Decide what a run of `sync` over the input `input_ref` does, from the runs `state` holds.

    `include_unknown` (retry): also send again records dead-lettered with `unknown_delivery`.
    Raises `InputChanged` when `resume` finds an unfinished run of this config over another
    version of the input, and `UsageError` for an unknown mode, or for `resume` or `retry`
    without a state store.
    """
    if state is None:
        return stateless_plan(mode, input_ref)
    run_mode = _mode(mode)
    if run_mode is RunMode.RESUME:
        return RunPlan(mode=RunMode.RESUME, input_ref=input_ref, resume=unfinished_run(sync, state, input_ref))
    if run_mode is RunMode.RETRY:
        return retry_plan(sync, state, input_ref, include_unknown=include_unknown)
    return RunPlan(mode=RunMode.SYNC, input_ref=input_ref)


def unfinished_run(sync: Sync, state: StateStore, input_ref: str) -> RunInfo | None:
    """The last sync run of this config over this input, if it did not finish (None: nothing to resume).

    Runs over other inputs are not considered, so a later run of another file does not hide it.
    """
    runs = [r for r in state.runs(sync.spec.id, sync.action_id, config_hash=sync_hash(sync), kind="sync", newest_first=True)
            if same_input(r.input_ref, input_ref)]
    last = runs[0] if runs else None
    if last is None or last.status == "finished":
        return None
    if last.input_ref != input_ref:
        raise InputChanged(last, input_ref)
    return last


def retry_plan(sync: Sync, state: StateStore, input_ref: str, *, include_unknown: bool = False) -> RunPlan:
    """Send again every record of this config and input whose latest outcome (over all runs) is a failure."""
    runs = runs_of_input(sync, state, input_ref)
    run_ids = [r.run_id for r in runs]
    keys = frozenset(state.failed_keys(run_ids, include_unknown=include_unknown))
    unknown = frozenset() if include_unknown else frozenset(state.failed_keys(run_ids, include_unknown=True)) - keys
    last = runs[-1] if runs else None
    unfinished_retry = last is not None and last.kind == "retry" and last.status != "finished" and last.input_ref == input_ref
    return RunPlan(mode=RunMode.RETRY, input_ref=input_ref, retry_of=last, only_keys=keys, unknown_keys=unknown,
                   resume=last if unfinished_retry else None)


def runs_of_input(sync: Sync, state: StateStore, input_ref: str) -> list[RunInfo]:
    """Every run of this config over any version of this input, oldest first."""
    return [r for r in state.runs(sync.spec.id, sync.action_id, config_hash=sync_hash(sync))
            if same_input(r.input_ref, input_ref)]


def last_run(sync: Sync, state: StateStore) -> RunInfo | None:
    """The last run of this config, finished or not, over any input."""
    return state.last_run(sync.spec.id, sync.action_id, config_hash=sync_hash(sync))


def sync_hash(sync: Sync) -> str:
    """The state store's identity of "the same sync" (destination, action, settings, mapping)."""
    return config_hash(sync.config.model_dump())


def _mode(mode: RunMode | str) -> RunMode:
    try:
        return RunMode(mode)
    except ValueError:
        raise UsageError(f"unknown run mode {mode!r}", key="mode", fix="use one of: sync, resume, retry.") from None


def plan_of_keywords(input_ref: str, resume: RunInfo | None, only_keys: Iterable[str] | None,
                     kind: str | None) -> RunPlan | None:
    """The plan the lower-level keywords of `Sync.arun` ask for (a given `resume` run, `only_keys`, `kind`), if any."""
    if resume is None and only_keys is None and kind is None:
        return None
    mode = RunMode.RETRY if kind == "retry" else RunMode.RESUME if resume is not None else RunMode.SYNC
    keys = None if only_keys is None else frozenset(only_keys)
    return RunPlan(mode=mode, input_ref=input_ref, resume=resume, only_keys=keys)


def stateless_plan(mode: RunMode | str, input_ref: str = "") -> RunPlan:
    """The plan of a run without a state store: only a plain sync can run without one."""
    if _mode(mode) is not RunMode.SYNC:
        raise UsageError(f"a {mode} run needs a state store (state=StateStore(path)) to know the earlier runs.",
                         key="state", fix="pass the state store of the earlier runs.")
    return RunPlan(mode=RunMode.SYNC, input_ref=input_ref)


__all__ = ["InputChanged", "RunMode", "RunPlan", "last_run", "plan_of_keywords", "plan_run", "retry_plan",
           "runs_of_input", "stateless_plan", "sync_hash", "unfinished_run"]
