#!/usr/bin/env python3
"""The command line from files: CSV/JSONL(/Parquet) dry runs against the in-memory pipeline, the CSV
reader against `csv.DictReader`, and a real sync with the state store against one without.

Every CLI figure runs the real `destkit` command as a subprocess (`python -m destkit.runtime.cli.app`)
on files written from the W1 workload, and is timed around the whole command (wall clock), so it
includes the interpreter's start-up and imports, reading the config, and writing the report. That
fixed cost is measured on its own (the same command on a one-record file) and the rate net of it is
printed beside the whole-command rate. The in-memory pipeline is `sync.dry_run(records,
keep_requests=False)` over the same W1 records as dicts, timed in a child process around that call.
Compared sides run interleaved (A B A B), and each side's best round is quoted, with the range.

    python bench/bench_cli.py                      # 200,000 rows, 3 rounds
    python bench/bench_cli.py --rows 1000000       # the quoted figures
    python bench/bench_cli.py --formats csv,jsonl,parquet --skip-state
    python bench/bench_cli.py --formats jsonl,parquet --skip-reader --skip-state
    python bench/bench_cli.py --formats jsonl --cells json   # JSON Lines with the CSV's JSON text cells
"""

from __future__ import annotations

import argparse
import csv
import functools
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or with -m
import orjson

from bench._workload import DEFAULT_WORKLOAD, REPO, load_workload
from destkit.runtime.engine.sources import format_of, read_csv

CSV_FIELDS = ["user_id", "fname", "lname", "mobile", "email_address", "segments", "attributes", "created_at", "country"]
SECRET_ENV = "DESTKIT_BENCH_API_KEY"
CLI = [sys.executable, "-m", "destkit.runtime.cli.app"]

# the in-memory pipeline, in a child process so neither side's heap weighs on the other
IN_MEMORY = """
import gc, sys, time
sys.path.insert(0, {repo!r})
from bench._workload import load_workload
from destkit.runtime.engine import build_sync
workload = load_workload({workload!r})
sync = build_sync(workload.SYNC_CONFIG)
records = list(workload.generate({rows}))
gc.collect(); gc.freeze()
start, cpu = time.perf_counter(), time.process_time()
sync.dry_run(records, keep_requests=False)
print(time.perf_counter() - start, time.process_time() - cpu)
"""


# --- the input files -----------------------------------------------------------------------------------

def flat_rows(workload: ModuleType, rows: int) -> Iterator[dict[str, Any]]:
    """W1 as the CSV export has it (workload.py --csv): segments and attributes as JSON cells."""
    for profile in workload.generate(rows):
        yield {**profile, "segments": json.dumps(profile["segments"]), "attributes": json.dumps(profile["attributes"])}


def nested_rows(workload: ModuleType, rows: int) -> Iterator[dict[str, Any]]:
    """W1 as a JSON export or a warehouse table has it: segments a list, attributes an object (`--cells native`)."""
    yield from workload.generate(rows)


def write_csv(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("wb") as out:
        for row in rows:
            out.write(orjson.dumps(row) + b"\n")


def write_parquet(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    """The CSV's columns, in row groups of 100,000: JSON cells as strings, or (`--cells native`) segments a
    list<string> and attributes a struct."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = iter(rows)
    first = next(rows)
    rows = itertools.chain([first], rows)
    if isinstance(first["segments"], str):
        schema = pa.schema([(name, pa.string()) for name in CSV_FIELDS])
    else:
        attributes = pa.struct([("plan", pa.string()), ("ltv", pa.float64()), ("score", pa.int64()),
                                ("Loyalty Tier", pa.string())])
        schema = pa.schema([(name, pa.list_(pa.string()) if name == "segments" else attributes
                             if name == "attributes" else pa.string()) for name in CSV_FIELDS])
    with pq.ParquetWriter(path, schema) as writer:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == 100_000:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                chunk = []
        if chunk:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))


WRITERS: dict[str, Callable[[Path, Iterator[dict[str, Any]]], None]] = {
    "csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}


def write_inputs(folder: Path, workload: ModuleType, rows: int, formats: list[str],
                 cells: str = "json") -> dict[str, tuple[Path, Path]]:
    """Per format: the W1 file of `rows` rows and a one-record file (for the fixed cost of a command). With
    `cells` "native", JSON Lines and Parquet hold segments and attributes as a list and an object (CSV cannot)."""
    files = {}
    for fmt in formats:
        big, small = folder / f"w1.{fmt}", folder / f"one.{fmt}"
        source = nested_rows if cells == "native" and fmt != "csv" else flat_rows
        WRITERS[fmt](big, source(workload, rows))
        WRITERS[fmt](small, source(workload, 1))
        files[fmt] = (big, small)
    return files


def write_config(folder: Path, workload: ModuleType) -> Path:
    """W1's sync config, its API key read from the environment (a config may not hold a secret)."""
    config = {**workload.SYNC_CONFIG, "secrets": {"api_key": {"env": SECRET_ENV}}}
    path = folder / "sync.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


# --- timing ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Timing:
    """One round of one side: wall seconds, and CPU seconds (user + system) of the process that ran it.

    On a shared machine the CPU seconds are the steadier figure: waiting for a core is not counted.
    """

    wall: float
    cpu: float


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(args: list[str], cwd: Path) -> Timing:
    """One `destkit ...` command; exit 0 and 1 (some records invalid) are both a run."""
    env = {**os.environ, SECRET_ENV: "bench-key"}
    start, cpu = time.perf_counter(), children_cpu()
    proc = subprocess.run([*CLI, *args, "--quiet"], cwd=cwd, env=env, capture_output=True, text=True)
    timing = Timing(time.perf_counter() - start, children_cpu() - cpu)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"destkit {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return timing


def in_memory(workload_path: str, rows: int) -> Timing:
    """`sync.dry_run` over W1 dicts in a child process, timed around that call only."""
    code = IN_MEMORY.format(repo=str(REPO), workload=workload_path, rows=rows)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall, cpu = proc.stdout.strip().splitlines()[-1].split()
    return Timing(float(wall), float(cpu))


def interleaved(sides: dict[str, Callable[[], Timing]], rounds: int) -> dict[str, list[Timing]]:
    """Each side's rounds, the order of the sides turning each round."""
    times: dict[str, list[Timing]] = {name: [] for name in sides}
    names = list(sides)
    for i in range(rounds):
        for name in names[i % len(names):] + names[:i % len(names)]:
            times[name].append(sides[name]())
    return times


def best(timings: list[Timing], fixed: Timing = Timing(0.0, 0.0)) -> Timing:
    """The best round of a side, less a fixed cost (the start-up of a command)."""
    return Timing(min(t.wall for t in timings) - fixed.wall, min(t.cpu for t in timings) - fixed.cpu)


def rate_line(label: str, rows: int, timings: list[Timing], fixed: Timing = Timing(0.0, 0.0)) -> Timing:
    """Print the rates (best round; the wall range) and return them as records/s (wall, cpu)."""
    top = best(timings, fixed)
    walls = [t.wall - fixed.wall for t in timings]
    rates = Timing(rows / max(top.wall, 1e-9), rows / max(top.cpu, 1e-9))
    print(f"  {label:<40}{rates.cpu:>10,.0f} rec/s per CPU-second  {rates.wall:>10,.0f} rec/s wall "
          f"(wall range {rows / max(walls):,.0f}-{rates.wall:,.0f})")
    return rates


def ratio_text(a: Timing, b: Timing) -> str:
    return f"{a.cpu / b.cpu:.2f} by CPU time, {a.wall / b.wall:.2f} by wall clock"


# --- the figures -----------------------------------------------------------------------------------

def reader_figure(path: Path, rounds: int) -> None:
    """CSV reader alone, in this process: `read_csv` against `csv.DictReader` over the same file."""
    def dict_reader() -> Timing:
        start, cpu = time.perf_counter(), time.process_time()
        with path.open(newline="", encoding="utf-8") as fh:
            for _ in csv.DictReader(fh):
                pass
        return Timing(time.perf_counter() - start, time.process_time() - cpu)

    def destkit_reader() -> Timing:
        start, cpu = time.perf_counter(), time.process_time()
        for _ in read_csv(path):
            pass
        return Timing(time.perf_counter() - start, time.process_time() - cpu)

    rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
    times = interleaved({"csv.DictReader": dict_reader, "destkit read_csv": destkit_reader}, rounds)
    print(f"\nCSV reader alone, {rows:,} rows, best of {rounds}")
    dict_rate = rate_line("csv.DictReader", rows, times["csv.DictReader"])
    destkit_rate = rate_line("destkit read_csv", rows, times["destkit read_csv"])
    print(f"    destkit's time / DictReader's: {dict_rate.cpu / destkit_rate.cpu:.2f}x by CPU time, "
          f"{dict_rate.wall / destkit_rate.wall:.2f}x by wall clock (goal <= 1.5x)")


def timed(read: Callable[[], None]) -> Timing:
    start, cpu = time.perf_counter(), time.process_time()
    read()
    return Timing(time.perf_counter() - start, time.process_time() - cpu)


def csv_floor(path: Path) -> Timing:
    """The least a Python reading of the CSV costs: `csv.DictReader`, and orjson over each row's JSON cells (no
    check of any kind), timed in this process."""
    def read() -> None:
        loads = orjson.loads
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                loads(row["segments"])
                loads(row["attributes"])
    return timed(read)


def jsonl_floor(path: Path) -> Timing:
    """The least a Python reading of JSON Lines costs: the file's lines, each parsed by orjson into its dict (no
    check, no row numbers, no malformed-line handling), timed in this process."""
    def read() -> None:
        loads = orjson.loads
        with path.open("rb") as fh:
            for line in fh:
                loads(line)
    return timed(read)


def parquet_floor(path: Path) -> Timing:
    """The least a Python reading of Parquet costs: the cheaper of pyarrow's own `RecordBatch.to_pylist` and
    destkit's reader alone (whose conversion builds the dicts with C loops), no pipeline after it."""
    import pyarrow.parquet as pq

    from destkit.runtime.engine.arrow_records import read_parquet

    def pyarrow_dicts() -> None:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536):
            batch.to_pylist()

    def destkit_dicts() -> None:
        for _ in read_parquet(path):
            pass
    return min(timed(pyarrow_dicts), timed(destkit_dicts), key=lambda t: t.cpu)


FLOORS: dict[str, tuple[str, Callable[[Path], Timing]]] = {
    "csv": ("DictReader + orjson cells", csv_floor),
    "jsonl": ("orjson per line", jsonl_floor),
    "parquet": ("Arrow to dicts", parquet_floor),
}


def dry_run_figures(config: Path, files: dict[str, tuple[Path, Path]], workload_path: str, rows: int,
                    rounds: int, folder: Path) -> None:
    """`destkit dry-run` per format, interleaved with the in-memory pipeline and with the format's floor (reading
    alone, no check): the most a run from that format can reach is in-memory ÷ (in-memory + floor)."""
    def cli(path: Path) -> Callable[[], Timing]:
        return lambda: run_cli(["dry-run", str(config), "--input", str(path), "--offline",
                                "--report", str(folder / "dry.report.jsonl")], folder)

    fixed = {fmt: best([cli(small)() for _ in range(2)]) for fmt, (_, small) in files.items()}
    sides: dict[str, Callable[[], Timing]] = {"in-memory pipeline": lambda: in_memory(workload_path, rows)}
    sides.update({f"CLI dry-run {fmt}": cli(big) for fmt, (big, _) in files.items()})
    for fmt, (big, _) in files.items():
        sides[f"{fmt} floor"] = functools.partial(FLOORS[fmt][1], big)
    times = interleaved(sides, rounds)
    print(f"\nDry run, {rows:,} rows, best of {rounds}")
    memory = rate_line("in-memory pipeline (the call only)", rows, times["in-memory pipeline"])
    for fmt in files:
        whole = rate_line(f"CLI dry-run {fmt}, whole command", rows, times[f"CLI dry-run {fmt}"])
        net = rate_line(f"CLI dry-run {fmt}, net of start-up", rows, times[f"CLI dry-run {fmt}"], fixed[fmt])
        goal = 0.7 if fmt == "csv" else 0.8
        print(f"    start-up (a one-record run): {fixed[fmt].cpu:.2f} CPU s, {fixed[fmt].wall:.2f} s wall")
        print(f"    ratio to in-memory, whole command: {ratio_text(whole, memory)}")
        print(f"    ratio to in-memory, net of start-up: {ratio_text(net, memory)}  (goal >= {goal})")
        label, _ = FLOORS[fmt]
        floor = rate_line(f"{fmt} floor: {label}", rows, times[f"{fmt} floor"])
        print(f"    the most a {fmt} run can reach, in-memory ÷ (in-memory + floor): "
              f"{1 / (1 + memory.cpu / floor.cpu):.2f} by CPU time")


@contextmanager
def lean_sink(workload_path: str) -> Iterator[str]:
    """`bench/emulator_server.py --lean 0` in its own process: answers every batch, validates nothing."""
    cmd = [sys.executable, "-m", "bench.emulator_server", "--port", "0", "--lean", "0", "--workload", workload_path]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("listening "):
            raise RuntimeError(f"the lean sink did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        proc.terminate()
        proc.wait(10)


def state_figure(config: Path, jsonl: Path, workload_path: str, rows: int, rounds: int, folder: Path) -> None:
    """`destkit sync` of the JSONL file to the lean sink, with a fresh state store against `--no-state`."""
    with lean_sink(workload_path) as url:
        base = ["sync", str(config), "--input", str(jsonl), "--base-url", url, "--allow-http",
                "--report", str(folder / "sync.report.jsonl")]
        counter = iter(range(1_000_000))

        def with_state() -> Timing:
            return run_cli([*base, "--state", str(folder / f"state{next(counter)}" / "state.sqlite")], folder)

        times = interleaved({"state": with_state, "no state": lambda: run_cli([*base, "--no-state"], folder)}, rounds)
    print(f"\nCLI sync to the lean sink (JSONL), {rows:,} rows, best of {rounds} (the sync process's CPU only)")
    on = rate_line("with the state store", rows, times["state"])
    off = rate_line("--no-state", rows, times["no state"])
    print(f"    state store cost: {1 - on.cpu / off.cpu:.0%} by CPU time, {1 - on.wall / off.wall:.0%} by wall clock "
          "(goal <= 15%)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="audience size (default 200,000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each side's best is quoted")
    parser.add_argument("--formats", default="csv,jsonl", help="dry-run inputs: csv, jsonl, parquet (comma-separated)")
    parser.add_argument("--workload", default=str(DEFAULT_WORKLOAD), help="path to workload.py")
    parser.add_argument("--cells", choices=["json", "native"], default="native",
                        help="segments/attributes in JSON Lines and Parquet: a list and an object, as workload.py "
                             "--jsonl writes them and a warehouse holds them (default), or JSON text cells, as the "
                             "CSV has them (CSV always has JSON text cells)")
    parser.add_argument("--skip-reader", action="store_true")
    parser.add_argument("--skip-dry-run", action="store_true")
    parser.add_argument("--skip-state", action="store_true")
    args = parser.parse_args(argv)

    workload = load_workload(args.workload)
    formats = [f for f in args.formats.split(",") if f]
    for fmt in formats:
        if format_of(Path(f"x.{fmt}")) != fmt:
            raise SystemExit(f"this destkit does not read .{fmt} input")
    wanted = sorted(set(formats) | ({"csv"} if not args.skip_reader else set()) | ({"jsonl"} if not args.skip_state else set()))
    print(f"W1, {args.rows:,} rows, {args.cells} cells, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="destkit-bench-cli-") as tmp:
        folder = Path(tmp)
        files = write_inputs(folder, workload, args.rows, wanted, args.cells)
        config = write_config(folder, workload)
        if not args.skip_reader:
            reader_figure(files["csv"][0], args.rounds)
        if not args.skip_dry_run:
            dry_run_figures(config, {f: files[f] for f in formats}, args.workload, args.rows, args.rounds, folder)
        if not args.skip_state:
            state_figure(config, files["jsonl"][0], args.workload, args.rows, args.rounds, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
