"""A resumed run over a list skips the rows finished before it inside the fused batch loop: no dict record
goes through `Pipeline.feed`, and its outcomes are those of the same resume over a stream (which takes
`feed`, record by record), row for row. Each run sends to its own in-process Hello Charles emulator and
records into its own SQLite state store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Outcome
from destkit.runtime.engine import StateStore
from tests.conftest import API_KEY, PROPERTIES, TAGS, Crash, crashing, hc_config, in_process_sync
from tests.runtime.engine.test_send_contacts import audience


async def streamed(records: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for record in records:
        yield record


def resumed_outcomes(tmp_path: Path, name: str, as_stream: bool) -> tuple[set[int], list[dict[str, Any]]]:
    """Crash a keyed run after 1,700 rows, resume it (over a list or a stream): the rows finished before the
    resume, and the resumed run's outcomes."""
    sync = in_process_sync(create_app(api_key=API_KEY, tags=TAGS, custom_properties=PROPERTIES),
                           hc_config(options={"primary_key": "user_id"}))
    records = audience(2500)
    with closing(StateStore(tmp_path / f"{name}.sqlite")) as store:
        with pytest.raises(Crash):
            sync.run(crashing(records, after=1700), state=store, input_ref="audience-v1")
        unfinished = store.last_run("hello_charles", "send_contacts", unfinished=True)
        assert unfinished is not None
        finished_before = {o.row for o in store.outcomes(unfinished.run_id)}
        seen: list[Outcome] = []
        source: Any = streamed(records) if as_stream else records
        sync.run(source, state=store, input_ref="audience-v1", mode="resume", on_outcome=seen.append)
    # the emulator makes up a random id for each contact it stores: everything else must match
    return finished_before, [{k: v for k, v in o.to_dict().items() if k != "destination_id"}
                             for o in sorted(seen, key=lambda o: o.row)]


def test_a_resume_over_a_list_feeds_no_record_one_by_one(tmp_path: Path, fed: list[Any]) -> None:
    finished_before, outcomes = resumed_outcomes(tmp_path, "list", as_stream=False)
    assert fed == []
    assert 0 < len(finished_before) < 2500
    assert [o["row"] for o in outcomes] == sorted(set(range(1, 2501)) - finished_before)


def test_a_resume_over_a_list_gets_the_outcomes_of_a_resume_over_a_stream(tmp_path: Path) -> None:
    listed = resumed_outcomes(tmp_path, "list", as_stream=False)
    assert listed == resumed_outcomes(tmp_path, "stream", as_stream=True)
    assert listed[1][0]["primary_key"] == listed[1][0]["key"]  # the input's key, carried on a resume too
