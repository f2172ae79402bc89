#!/usr/bin/env python3
"""Peak memory of a real sync streaming W1 to the Hello Charles emulator over HTTP.

The emulator runs in its own process (`python -m bench.emulator_server`, uvicorn on a local
port) so the contacts it stores are not counted against the sync. Each audience size is synced
by a fresh child process (`ru_maxrss` only ever grows, so sizes must not share a process), which
streams `workload.generate(rows)` -- never materialized -- through `Sync.run` and reports:

* baseline: peak RSS after imports and `build_sync`, before any record is read;
* peak:     peak RSS at the end of the run (`resource.getrusage(RUSAGE_SELF).ru_maxrss`);
* records/s end to end, emulator included, and the share of that wall time the sync process
  spent on a CPU (well under 100% means it was waiting on the emulator, a pure-Python
  Starlette app that validates and upserts every contact).

If the runtime streams, the peak is the same at 100k, 300k and 1M rows.

With `--format parquet` the audience is first written to a Parquet file (streamed with a
ParquetWriter, 65,536 rows per row group; `ltv` a decimal(10,2), `created_at` a UTC timestamp, as
a warehouse export has them) and each child syncs `engine.arrow_records.read_parquet(path)`.

    python bench/bench_memory.py                                 # 100k, 300k and 1M rows
    python bench/bench_memory.py --rows 10000 100000
    python bench/bench_memory.py --format parquet --rows 1000000 10000000 --forget-contacts
    python bench/bench_memory.py --url http://127.0.0.1:8000     # an emulator already running
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or with -m
from bench._workload import DEFAULT_WORKLOAD, REPO, load_workload

DEFAULT_ROWS = [100_000, 300_000, 1_000_000]
API_KEY = "bench-key"  # the key in workload.SYNC_CONFIG




def _rss_kb() -> int:
    """Current resident set size of this process, in KiB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


# --- the measured child ----------------------------------------------------------------------


def child(rows: int, url: str, workload_path: str, seed: int, parquet: str | None = None) -> int:
    """Sync `rows` streamed W1 records (or the rows of the `parquet` file) to `url`; print one JSON line of figures."""
    if parquet is not None:  # as the CLI does (runtime/cli/loading.py), before pyarrow is imported
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    from destkit.runtime.engine import build_sync
    from destkit.runtime.engine.arrow_records import read_parquet

    workload = load_workload(workload_path)
    sync = build_sync(workload.SYNC_CONFIG, base_url=url, allow_http=True)
    records = workload.generate(rows, seed) if parquet is None else read_parquet(parquet)
    baseline = _peak_kb()
    cpu0 = _cpu_s()
    start = time.perf_counter()
    result = sync.run(records)
    seconds = time.perf_counter() - start
    cpu = _cpu_s() - cpu0
    s = result.summary
    print(json.dumps({
        "rows": rows,
        "seconds": seconds,
        "records_per_s": rows / seconds,
        "cpu_s": cpu,
        "baseline_kb": baseline,
        "peak_kb": _peak_kb(),
        "end_rss_kb": _rss_kb(),
        "summary": s.to_dict(),
        "reconciles": s.reconciles(),
    }))
    return 0


# --- the audience as a Parquet file ------------------------------------------------------------

PARQUET_CHUNK = 65_536  # rows per write, so per row group: the writer holds no more than this


def parquet_schema() -> Any:
    import pyarrow as pa

    attributes = pa.struct([("plan", pa.string()), ("ltv", pa.decimal128(10, 2)), ("score", pa.int64()),
                            ("Loyalty Tier", pa.string())])
    return pa.schema([("user_id", pa.string()), ("fname", pa.string()), ("lname", pa.string()),
                      ("mobile", pa.string()), ("email_address", pa.string()), ("segments", pa.list_(pa.string())),
                      ("attributes", attributes), ("created_at", pa.timestamp("us", "UTC")), ("country", pa.string())])


def _as_warehouse_row(profile: dict[str, Any]) -> dict[str, Any]:
    """A W1 profile as a warehouse holds it: ltv an exact decimal, created_at a timestamp."""
    from datetime import datetime
    from decimal import Decimal

    attributes = dict(profile["attributes"])
    attributes["ltv"] = Decimal(repr(attributes["ltv"]))
    return {**profile, "attributes": attributes,
            "created_at": datetime.fromisoformat(profile["created_at"].replace("Z", "+00:00"))}


def write_parquet(workload: Any, rows: int, seed: int, path: Path) -> None:
    """`workload.generate(rows, seed)` into `path`, a chunk of `PARQUET_CHUNK` rows at a time."""
    import itertools

    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    profiles = workload.generate(rows, seed)
    with pq.ParquetWriter(path, schema) as writer:
        while chunk := [_as_warehouse_row(p) for p in itertools.islice(profiles, PARQUET_CHUNK)]:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))


# --- the orchestrator ------------------------------------------------------------------------


@contextlib.contextmanager
def emulator(workload_path: str, forget: bool, lean: float | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start `python -m bench.emulator_server` on a free port; yield its URL and process."""
    import httpx

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "bench.emulator_server", "--port", "0", "--api-key", API_KEY,
           "--workload", workload_path] + (["--forget-contacts"] if forget else []) + (
               ["--lean", str(lean)] if lean is not None else [])
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("listening "):
            raise SystemExit(f"the emulator did not start (said {line!r}, exit code {proc.poll()})")
        url = line.split(" ", 1)[1]
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/api/v0/tags", headers={"x-api-key": API_KEY}).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the emulator did not answer within 30 s")
            time.sleep(0.05)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _proc_status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_child(rows: int, url: str, workload_path: str, seed: int, parquet: Path | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--rows", str(rows), "--url", url,
           "--workload", workload_path, "--seed", str(seed)] + (["--parquet", str(parquet)] if parquet else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the sync child for {rows:,} rows failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def parquet_audience(folder: Path, rows: int, workload_path: str, seed: int) -> Path:
    """The W1 audience of `rows` as a Parquet file in `folder`, written now if it is not there yet."""
    parquet = folder / f"w1-{rows}-{seed}.parquet"
    if not parquet.exists():  # written by a child: the parent stays small, and a child's
        t0 = time.perf_counter()  # ru_maxrss starts from its parent's (it is inherited over fork)
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--write-parquet", str(parquet),
                        "--rows", str(rows), "--workload", workload_path, "--seed", str(seed)], check=True)
        print(f"  wrote {parquet} ({parquet.stat().st_size / 2**20:,.1f} MiB) in "
              f"{time.perf_counter() - t0:,.0f} s", flush=True)
    return parquet


def parquet_folder(given: str | None, stack: contextlib.ExitStack) -> Path:
    """Where the Parquet audiences go: `given`, or a temporary folder removed at the end."""
    folder = Path(given or stack.enter_context(tempfile.TemporaryDirectory(prefix="destkit-bench-")))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def reference_check(workload: Any, rows: int, seed: int, summary: dict[str, Any]) -> str:
    """Whether the run's delivered and invalid counts are the reference loop's."""
    expected, invalid, _ = workload.reference_run(workload.generate(rows, seed))
    same = summary["delivered"] == expected and summary["invalid"] == len(invalid)
    return "matches reference" if same else f"DIFFERS (reference {expected:,} delivered, {len(invalid):,} invalid)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", default=[str(r) for r in DEFAULT_ROWS],
                        help="audience sizes, space- or comma-separated (default 100000 300000 1000000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workload", default=str(DEFAULT_WORKLOAD),
                        help="path to workload.py (default <repo>/../shared/bench/workload.py)")
    parser.add_argument("--url", help="use an emulator already running at this URL instead of starting one")
    parser.add_argument("--forget-contacts", action="store_true",
                        help="start the emulator without contact storage (keeps the emulator process small)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip recomputing the expected delivered count with the reference loop")
    parser.add_argument("--format", choices=["generator", "parquet"], default="generator",
                        help="generator: stream workload.generate(); parquet: write the audience to a Parquet file "
                             "first, then sync read_parquet(file)")
    parser.add_argument("--parquet-dir", help="where --format parquet writes its files (default: a temporary folder)")
    parser.add_argument("--lean", type=float, metavar="LATENCY_MS",
                        help="send to the lean sink (answers every record created after LATENCY_MS, no validation): "
                             "the sync, not the emulator, sets the pace")
    parser.add_argument("--parquet", help=argparse.SUPPRESS)
    parser.add_argument("--write-parquet", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rows_list = [int(r.replace("_", "")) for part in args.rows for r in part.split(",") if r]
    workload_path = str(Path(args.workload).resolve())

    if args.write_parquet:
        write_parquet(load_workload(workload_path), rows_list[0], args.seed, Path(args.write_parquet))
        return 0
    if args.child:
        return child(rows_list[0], args.url, workload_path, args.seed, args.parquet)

    workload = load_workload(workload_path)
    with contextlib.ExitStack() as stack:
        folder = parquet_folder(args.parquet_dir, stack) if args.format == "parquet" else None
        if args.url:
            url, server = args.url.rstrip("/"), None
        else:
            url, server = stack.enter_context(emulator(workload_path, args.forget_contacts, args.lean))
        print(f"emulator at {url} ({'external' if server is None else f'pid {server.pid}'}"
              f"{', forgetting contacts' if args.forget_contacts else ''}); one fresh sync process per size")
        print(f"{'rows':>10} {'baseline MiB':>13} {'peak MiB':>9} {'peak-base':>10} {'end RSS':>8} "
              f"{'records/s':>10} {'sync CPU':>8} {'delivered':>10} {'invalid':>8} {'other':>6}  check")
        results = []
        for rows in rows_list:
            parquet = None if folder is None else parquet_audience(folder, rows, workload_path, args.seed)
            r = run_child(rows, url, workload_path, args.seed, parquet)
            s = r["summary"]
            other = s["rejected"] + s["dead_lettered"] + s["skipped"]
            check = "" if args.no_check else reference_check(workload, rows, args.seed, s)
            if not r["reconciles"]:
                check += " [does not reconcile]"
            print(f"{rows:>10,} {r['baseline_kb'] / 1024:>13.1f} {r['peak_kb'] / 1024:>9.1f} "
                  f"{(r['peak_kb'] - r['baseline_kb']) / 1024:>10.1f} {r['end_rss_kb'] / 1024:>8.1f} "
                  f"{r['records_per_s']:>10,.0f} {r['cpu_s'] / r['seconds']:>8.0%} {s['delivered']:>10,} {s['invalid']:>8,} {other:>6,}  {check}",
                  flush=True)
            results.append(r)
        if server is not None:
            hwm = _proc_status_kb(server.pid, "VmHWM")
            if hwm is not None:
                print(f"emulator process peak RSS (not the sync's): {hwm / 1024:,.1f} MiB")
    peaks = [r["peak_kb"] for r in results]
    if len(peaks) > 1:
        print(f"peak RSS spread across sizes: {(max(peaks) - min(peaks)) / 1024:.1f} MiB "
              f"({rows_list[0]:,} -> {rows_list[-1]:,} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
