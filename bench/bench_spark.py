"""Spark local[2] against the CLI with --workers 2: records/s of one sync of the W1 audience to the lean sink.

    python bench/bench_spark.py                                  # 1,000,000 rows, 2 rounds each side
    python bench/bench_spark.py --rows 200000 --rounds 3
    python bench/bench_spark.py --cli-python /path/to/python     # the CLI of another environment

Both sides read the same JSON Lines file (written once from workload.py) and send to the same lean
sink (`bench/emulator_server.py --lean 0`, its own process). The sides run interleaved (CLI, Spark,
CLI, Spark, ...): the machine's noise falls on both alike. The CLI is timed from process start to
exit (`destkit sync --no-state --workers N`); Spark from `spark.read.json` to the checkpointed outcomes
of `sync_dataframe` (the session, started once beforehand with its Python workers, is not counted; its start time is printed).
Neither side sets `options.primary_key` (the CLI of an environment without it must read the same config).
The mapping leaves out `custom_properties`: Spark's JSON reader gives the workload's mixed-type
`attributes` object a fixed schema, which the CLI's reader does not, so the two would send different bodies.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

import orjson
import yaml

from bench._workload import DEFAULT_WORKLOAD, REPO, load_workload

KEY_ENV = "DESTKIT_BENCH_KEY"
SCHEMA = "user_id string, fname string, lname string, mobile string, email_address string, segments array<string>"

SPARK_CHILD = """
import json, os, sys, time
os.environ["PYSPARK_PYTHON"] = sys.executable
t0 = time.perf_counter()
from pyspark.sql import SparkSession
from destkit.spark import summary_of, sync_dataframe
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "2")
         .config("spark.executorEnv.{key_env}", "bench-key").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")

def warm(batches):  # the Python workers start and import destkit once, before any timed round
    import destkit.spark.partition
    yield from batches

spark.range(4).repartition(2).mapInArrow(warm, "id long").count()
print(json.dumps({{"session_s": time.perf_counter() - t0}}), flush=True)
config, data, url = sys.argv[1], sys.argv[2], sys.argv[3]
# one partition per core: the file is split in two whatever its size
spark.conf.set("spark.sql.files.maxPartitionBytes", str(os.path.getsize(data) // 2 + 1))
for line in sys.stdin:
    t = time.perf_counter()
    df = spark.read.schema("{schema}").json(data)
    outcomes = sync_dataframe(df, config, base_url=url, allow_http=True)
    elapsed = time.perf_counter() - t
    counts = dict(summary_of(outcomes).counts)
    print(json.dumps({{"elapsed": elapsed, "counts": counts, "partitions": df.rdd.getNumPartitions()}}), flush=True)
"""


def start_sink() -> tuple[str, subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.emulator_server", "--port", "0", "--lean", "0"],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening "):
        proc.kill()
        raise RuntimeError(f"sink did not start: {line!r}")
    return line.split(" ", 1)[1], proc


def write_inputs(folder: Path, workload: Any, rows: int) -> tuple[Path, Path]:
    data = folder / "audience.jsonl"
    with data.open("wb") as fh:
        for profile in workload.generate(rows):
            fh.write(orjson.dumps(profile) + b"\n")
    config = dict(workload.SYNC_CONFIG)
    config["mapping"] = {k: v for k, v in config["mapping"].items() if k != "custom_properties"}
    config["secrets"] = {"api_key": {"env": KEY_ENV}}
    path = folder / "sync.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path, data


def run_cli(python: str, config: Path, data: Path, url: str, workers: int) -> dict[str, Any]:
    cmd = [python, "-m", "destkit.runtime.cli.app", "sync", str(config), "--input", str(data), "--base-url", url,
           "--allow-http", "--no-state", "--quiet", "--report", str(config.parent / "report.jsonl")]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, KEY_ENV: "bench-key"}, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"the CLI failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return {"elapsed": elapsed}


class SparkSide:
    """A Spark driver process that stays up between rounds (its session start is not timed)."""

    def __init__(self, config: Path, data: Path, url: str) -> None:
        code = SPARK_CHILD.format(key_env=KEY_ENV, schema=SCHEMA)
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(config), str(data), url], cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.session_s = self._read()["session_s"]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the Spark driver process ended")
        result: dict[str, Any] = json.loads(line)
        return result

    def run(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="the CLI's --workers (1: without the option)")
    parser.add_argument("--cli-python", default=sys.executable, help="the interpreter whose destkit CLI is timed")
    parser.add_argument("--workload", default=str(DEFAULT_WORKLOAD))
    args = parser.parse_args(argv)
    workload = load_workload(args.workload)
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        config, data = write_inputs(Path(tmp), workload, args.rows)
        url, sink = start_sink()
        spark = None
        try:
            spark = SparkSide(config, data, url)
            print(f"{args.rows:,} rows; Spark session start {spark.session_s:.1f} s (not counted)")
            ratios = []
            for i in range(args.rounds):
                cli = run_cli(args.cli_python, config, data, url, args.workers)
                sparked = spark.run()
                cli_rate, spark_rate = args.rows / cli["elapsed"], args.rows / sparked["elapsed"]
                ratios.append(spark_rate / cli_rate)
                print(f"round {i + 1}: CLI --workers {args.workers} {cli_rate:,.0f} rec/s ({cli['elapsed']:.1f} s) | "
                      f"Spark local[2] {spark_rate:,.0f} rec/s ({sparked['elapsed']:.1f} s, "
                      f"{sparked['partitions']} partitions, {sparked['counts']}) | ratio {ratios[-1]:.2f}")
            print(f"Spark / CLI: {min(ratios):.2f} - {max(ratios):.2f} (target >= 0.7)")
        finally:
            if spark is not None:
                spark.close()
            sink.terminate()
            sink.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
