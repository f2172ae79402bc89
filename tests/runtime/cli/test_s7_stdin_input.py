"""`--input -` is not taken as standard input (a resume or a retry reads the input again, which a pipe cannot
give twice): the command says so and how to give the records instead, where it said that no file `-` exists."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runs import offline_dry_run


def test_input_dash_says_standard_input_is_not_read_and_what_to_do(tmp_path: Path) -> None:
    done = offline_dry_run(tmp_path, Path("-"), "{external_reference_id: user_id}")
    assert done.returncode == 2
    assert ("--input - (standard input) is not read: a run must be able to read its input again, to resume or retry. "
            "Write it to a file (... > audience.jsonl) and give that, or query it with --input-sql.") in " ".join(done.stderr.split())
