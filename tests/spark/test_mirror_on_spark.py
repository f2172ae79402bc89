"""Mirror mode on Spark: stage 1 adds and updates (unchanged members skipped), stage 2 removes the members of the
state table that no row of the DataFrame has, against the membership emulator served over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from cli_runs import run_cli
from mirror_kit import SPEC, TOKEN, Audience, create_app, emails, spec
from mirror_kit import config as mirror_config
from pyspark.errors import PythonException
from pyspark.sql import DataFrame, SparkSession
from spark_kit import MIRROR_TOKEN_ENV
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from destkit.runtime import RunSummary
from destkit.runtime.cli.server import running_server
from destkit.spark import summary_of, sync_dataframe

MEMBER_DDL = "user_id string, email string, name string"


@pytest.fixture
def audience() -> Audience:
    return Audience()


class RefusingAdds:
    """The membership emulator, refusing the credentials of every add while `refusing` (removals still pass)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.refusing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.refusing and scope["type"] == "http" and scope["method"] == "POST":
            await JSONResponse({"error": "unauthorized"}, status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@pytest.fixture
def emulator(audience: Audience) -> RefusingAdds:
    return RefusingAdds(create_app(audience))


@pytest.fixture
def url(emulator: RefusingAdds) -> Iterator[str]:
    with running_server(emulator) as base_url:
        yield base_url


def rows(numbers: range | list[int]) -> list[dict[str, str]]:
    return [{"user_id": f"u{n}", "email": f"User{n}@Example.com", "name": f"N{n % 7}"} for n in numbers]


def members(spark: SparkSession, numbers: range | list[int], partitions: int = 4) -> DataFrame:
    return spark.createDataFrame(rows(numbers), MEMBER_DDL).repartition(partitions)


def spark_mirror(df: DataFrame, url: str, state: Path) -> DataFrame:
    """A mirror sync of `df` on Spark, its token read from the executors' environment."""
    config = mirror_config(primary_key="user_id") | {"secrets": {"token": {"env": MIRROR_TOKEN_ENV}}}
    return sync_dataframe(df, config, state_table=str(state), spec=spec(), base_url=url, allow_http=True)


def counts(summary: RunSummary) -> dict[str, Any]:
    d = summary.to_dict()
    return {name: d[name] for name in ("received", "delivered", "skipped", "removed", "removals_failed")}


def test_2000_members_then_200_leave_and_100_join_over_4_partitions(spark: SparkSession, url: str,
                                                                    audience: Audience, tmp_path: Path) -> None:
    spark_mirror(members(spark, range(2_000)), url, tmp_path / "state")
    audience.added.clear()

    outcomes = spark_mirror(members(spark, range(200, 2_100)), url, tmp_path / "state")

    assert sorted(audience.added) == sorted(emails(range(2_000, 2_100)))
    assert sorted(audience.removed) == sorted(emails(range(200)))
    assert audience.members == emails(range(200, 2_100))
    assert counts(summary_of(outcomes)) == {"received": 1_900, "delivered": 100, "skipped": 1_800, "removed": 200,
                                            "removals_failed": 0}
    removals = outcomes.where("operation = 'remove'").select("key", "row", "outcome").collect()
    assert sorted(tuple(r) for r in removals) == sorted((e, 0, "delivered") for e in emails(range(200)))


def cli_mirror(numbers: range | list[int], url: str, folder: Path) -> set[tuple[str, str | None, str]]:
    """`destkit sync` of the same members with mirror on, a state store in `folder`: (key, operation, outcome) of
    each row of its `--outcomes` file."""
    (folder / "mirror_emulator.yaml").write_text(SPEC, encoding="utf-8")
    config = mirror_config(primary_key="user_id") | {"destination": "mirror_emulator.yaml",
                                                     "secrets": {"token": {"env": MIRROR_TOKEN_ENV}}}
    (folder / "sync.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    audience = folder / "members.jsonl"
    audience.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows(numbers)))
    outcomes = folder / "outcomes.jsonl"
    proc = run_cli(["sync", str(folder / "sync.yaml"), "--input", str(audience), "--state", str(folder / "state.db"),
                    "--base-url", url, "--allow-http", "--trust-spec", "--quiet", "--outcomes", str(outcomes)],
                   env={**os.environ, MIRROR_TOKEN_ENV: TOKEN})
    assert proc.returncode == 0, proc.stderr
    lines = [orjson.loads(line) for line in outcomes.read_bytes().splitlines()]
    return {(o["key"], o.get("operation"), o["outcome"]) for o in lines}


def test_the_outcomes_are_the_cli_mirror_runs(spark: SparkSession, url: str, tmp_path: Path) -> None:
    first, second = range(300), [*range(30, 300), *range(300, 320)]
    spark_mirror(members(spark, first), url, tmp_path / "state")
    on_spark = spark_mirror(members(spark, second), url, tmp_path / "state")
    with running_server(create_app(Audience())) as other:
        cli_mirror(first, other, tmp_path)
        from_cli = cli_mirror(second, other, tmp_path)

    assert {(r["key"], r["operation"], r["outcome"]) for r in on_spark.collect()} == from_cli
    assert len(from_cli) == 320  # 20 delivered, 270 skipped, 30 removed
    assert counts(summary_of(on_spark)) == {"received": 290, "delivered": 20, "skipped": 270, "removed": 30,
                                            "removals_failed": 0}


def test_a_refused_removal_is_reported_and_tried_again_by_the_next_run(spark: SparkSession, url: str,
                                                                       audience: Audience, tmp_path: Path) -> None:
    spark_mirror(members(spark, range(10)), url, tmp_path / "state")
    audience.refuse_removal = emails([7, 8])

    refused = spark_mirror(members(spark, range(5)), url, tmp_path / "state")

    failed = refused.where("operation = 'remove' AND outcome != 'delivered'").select("key", "reason", "destination_code")
    assert sorted(tuple(r) for r in failed.collect()) == [("user7@example.com", "destination_rejected", "LOCKED"),
                                                          ("user8@example.com", "destination_rejected", "LOCKED")]
    assert summary_of(refused).removal_reasons == {"destination_rejected": 2}

    audience.refuse_removal = set()
    audience.removed.clear()
    retried = summary_of(spark_mirror(members(spark, range(5)), url, tmp_path / "state"))

    assert sorted(audience.removed) == sorted(emails([7, 8]))
    assert audience.members == emails(range(5))
    assert (retried.removed, retried.removals_failed) == (2, 0)


def test_an_aborted_stage_1_removes_nobody(spark: SparkSession, url: str, emulator: RefusingAdds,
                                           audience: Audience, tmp_path: Path) -> None:
    spark_mirror(members(spark, range(10)), url, tmp_path / "state")
    emulator.refusing = True  # the add of member 99 aborts its partition; removals would still be accepted

    with pytest.raises(PythonException, match=r"was aborted: auth_failed.*\(the run was aborted before the end of its "
                                              r"input: no member was removed\)"):
        spark_mirror(members(spark, [*range(5), 99]), url, tmp_path / "state")

    assert audience.removed == []
    assert audience.members == emails(range(10))


def test_the_state_table_keeps_each_members_removal_record_and_no_secret(spark: SparkSession, url: str,
                                                                        tmp_path: Path) -> None:
    spark_mirror(members(spark, range(2), partitions=1), url, tmp_path / "state")

    table = spark.read.parquet(str(tmp_path / "state"))
    assert table.columns == ["primary_key", "key", "fingerprint", "audience", "removal", "removal_params"]
    assert sorted((r["primary_key"], r["key"], r["removal"], r["removal_params"])
                  for r in table.drop("fingerprint", "audience").collect()) == [
        ("u0", "user0@example.com", bytearray(b'{"email":"user0@example.com"}'), None),
        ("u1", "user1@example.com", bytearray(b'{"email":"user1@example.com"}'), None)]
    assert TOKEN not in str(table.collect())


def test_a_member_invalid_this_run_stays_and_is_removed_once_it_leaves(spark: SparkSession, url: str,
                                                                       audience: Audience, tmp_path: Path) -> None:
    spark_mirror(members(spark, range(3)), url, tmp_path / "state")
    # an invalid record's key is its email as given; its member is kept by the normalised one (user2@example.com)
    too_long = {"user_id": "u2", "email": " User2@Example.com", "name": "x" * 21}
    invalid = spark.createDataFrame([*rows(range(2)), too_long], MEMBER_DDL)

    kept = summary_of(spark_mirror(invalid, url, tmp_path / "state"))
    spark_mirror(members(spark, range(2)), url, tmp_path / "state")

    assert (kept.count("invalid"), kept.removed) == (1, 0)
    assert audience.removed == ["user2@example.com"]  # removed by the third run, with the record the first confirmed
