"""Delivery throughput against the emulator on a port with added latency, at several concurrencies.

    python bench/bench_concurrency.py                       # 100,000 contacts, 20 ms, concurrency 1 4 16
    python bench/bench_concurrency.py --concurrency 16 --repeat 3 --state   # with a fresh state store per run

For each concurrency it prints records/s, requests, the fraction of the ideal
`concurrency x 1000 / round-trip`, where the round-trip is the median batch latency measured at
concurrency 1 (the emulator's added latency plus its own processing of 1,000 contacts), and the
CPU the sync process spent per record (user + system, `resource.getrusage` around the run). The
emulator runs in its own process (`bench/emulator_server.py`), so its CPU is not ours. `--state`
records every run in a fresh state store (what `destkit sync` does by default); `--repeat` runs each
concurrency that many times (the machine's noise shows in the spread).

Each sync run is framed by two runs of the reference loop (`workload.reference_run`, the hand-written
map/check/serialize loop of `../shared/bench/workload.py`) over the same W1 rows in the same process, one
just before and one just after it, CPU by `time.process_time`; the line then shows the sync's CPU µs/record
÷ the mean of the two reference runs' (the machine's speed drifts: the mean is its speed around the run).
This VM is 2-3x slower than the issue's machine and swings ±30%, so that ratio is the figure to quote:
the issue's goal, 6 µs/record where the reference loop took 2.7, is a ratio of at most 6 ÷ 2.7 = 2.2
(`GOAL_RATIO`).

    python bench/bench_concurrency.py --compare /tmp/old-venv/bin/python --rounds 5 --repeat 2

times this checkout against another destkit install (a venv with an older commit installed, e.g. `pip
install -e` of a `git worktree` of it, strict editable mode), in rounds that alternate which side runs
first: each side is a fresh process (`--side URL`) that generates the audience, makes one warm-up run
(first imports, the TLS context) and then `--repeat` timed runs at the first `--concurrency`, against
the same lean sink. It prints each side's CPU per record and, per round, new ÷ old of the medians; each
side also frames each of its runs by the reference loop and reports its ratio to it.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench._workload import DEFAULT_WORKLOAD, REPO, load_workload
from destkit.runtime import build_sync
from destkit.runtime.engine.state import StateStore

# The goal: the sender at most 6 µs CPU/record where the reference loop took 2.7.
GOAL_RATIO = 6 / 2.7


def start_emulator(latency_ms: float, workload: str, full: bool) -> tuple[str, subprocess.Popen[str]]:
    cmd = [sys.executable, "-m", "bench.emulator_server", "--port", "0", "--forget-contacts", "--workload", workload]
    cmd += ["--faults", f"latency={latency_ms}"] if full else ["--lean", str(latency_ms)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening "):
        proc.kill()
        raise RuntimeError(f"emulator did not start: {line!r}")
    return line.split(" ", 1)[1], proc


def run_once(url: str, records: list[dict[str, Any]], concurrency: int, workload: Any,
             state: Path | None = None) -> dict[str, Any]:
    config = dict(workload.SYNC_CONFIG)
    config["options"] = {"concurrency": concurrency}
    sync = build_sync(config, base_url=url, allow_http=True)
    store = StateStore(state) if state is not None else None
    before, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    cpu0 = time.process_time()
    result = sync.run(records) if store is None else sync.run(records, state=store, input_ref=str(state))
    cpu = time.process_time() - cpu0
    elapsed, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    summary = result.summary
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {"elapsed": elapsed, "delivered": summary.delivered, "received": summary.received,
            "cpu_us": (user + system) / len(records) * 1e6, "sys_us": system / len(records) * 1e6,
            "process_us": cpu / len(records) * 1e6,
            "requests": summary.requests, "retries": summary.retries, "rps": summary.received / elapsed,
            "latency_median": statistics.median(result.latencies) if result.latencies else float("nan")}


def reference_us(workload: Any, records: list[dict[str, Any]]) -> float:
    """CPU µs/record of one run of the reference loop over `records` (`time.process_time`, this process)."""
    cpu = time.process_time()
    workload.reference_run(records)
    return (time.process_time() - cpu) / len(records) * 1e6


def paired_run(url: str, records: list[dict[str, Any]], concurrency: int, workload: Any,
               state: Path | None = None) -> dict[str, Any]:
    """One sync run between two reference loop runs: the sync's figures plus `ref_us` (the two reference
    runs' mean CPU µs/record) and `ratio` (sync ÷ reference, both by process_time)."""
    before = reference_us(workload, records)
    r = run_once(url, records, concurrency, workload, state)
    ref = (before + reference_us(workload, records)) / 2
    return {**r, "ref_us": ref, "ratio": r["process_us"] / ref}


def side(url: str, rows: int, concurrency: int, repeat: int, workload_path: str) -> list[dict[str, float]]:
    """One side of `--compare`, in its own process: after a warm-up run, `repeat` runs, each paired with
    the reference loop: CPU us/record (getrusage), the reference's us/record and the ratio to it."""
    workload = load_workload(workload_path)
    records = list(workload.generate(rows))
    gc.collect()
    gc.freeze()
    run_once(url, records, concurrency, workload)
    runs = [paired_run(url, records, concurrency, workload) for _ in range(repeat)]
    return [{"cpu_us": r["cpu_us"], "ref_us": r["ref_us"], "ratio": r["ratio"]} for r in runs]


def spread(values: list[float], digits: int = 2) -> str:
    """`median (min-max)` of `values`."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def compare(args: argparse.Namespace) -> int:
    """This checkout ("new") against the destkit that `args.compare` (a Python) imports ("old"), alternating."""
    url, proc = start_emulator(args.latency_ms, args.workload, args.full_emulator)
    sides = {"new": sys.executable, "old": args.compare}
    cpu: dict[str, list[float]] = {"new": [], "old": []}
    to_ref: dict[str, list[float]] = {"new": [], "old": []}
    ratios = []
    try:
        for r in range(args.rounds):
            got = {}
            for name in (["old", "new"] if r % 2 == 0 else ["new", "old"]):
                cmd = [sides[name], __file__, "--side", url, "--rows", str(args.rows), "--workload", args.workload,
                       "--concurrency", str(args.concurrency[0]), "--repeat", str(args.repeat)]
                runs = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                got[name] = [run["cpu_us"] for run in runs]
                cpu[name] += got[name]
                to_ref[name] += [run["ratio"] for run in runs]
                print(f"  {name}: " + ", ".join(f"{run['cpu_us']:.2f} us/record (reference {run['ref_us']:.2f},"
                                                 f" x{run['ratio']:.2f})" for run in runs), flush=True)
            ratios.append(statistics.median(got["new"]) / statistics.median(got["old"]))
            print(f"round {r}: new/old {ratios[-1]:.3f}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for name, values in cpu.items():
        print(f"{name}: median {spread(values)} us/record; ÷ reference loop {spread(to_ref[name])}"
              f" (goal <= {GOAL_RATIO:.1f}, the issue's 6 us where the reference took 2.7)")
    print(f"new/old per round: median {spread(ratios, 3)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--workload", default=str(DEFAULT_WORKLOAD))
    parser.add_argument("--full-emulator", action="store_true",
                        help="use the full validating emulator (its CPU then bounds the result on 2 cores)")
    parser.add_argument("--state", action="store_true", help="record each run in a fresh state store")
    parser.add_argument("--repeat", type=int, default=1, help="runs per concurrency")
    parser.add_argument("--compare", metavar="PYTHON", help="time this checkout against the destkit this Python imports")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of --compare")
    parser.add_argument("--side", metavar="URL", help=argparse.SUPPRESS)  # one side of --compare, against URL
    args = parser.parse_args(argv)
    if args.side:
        print(json.dumps(side(args.side, args.rows, args.concurrency[0], args.repeat, args.workload)))
        return 0
    if args.compare:
        return compare(args)
    folder = Path(tempfile.mkdtemp(prefix="destkit-bench-concurrency-")) if args.state else None
    runs = iter(range(1_000_000))
    workload = load_workload(args.workload)
    url, proc = start_emulator(args.latency_ms, args.workload, args.full_emulator)
    try:
        kind = "full emulator" if args.full_emulator else "lean sink"
        store = ", each run recorded in a fresh state store" if args.state else ""
        print(f"{args.rows:,} contacts (W1) to the {kind} at {url}, +{args.latency_ms:g} ms per request{store}")
        records = list(workload.generate(args.rows))  # generated up front: the audience is not what we time
        gc.collect()
        gc.freeze()  # as workload.py does for the reference: 100k held records would make every GC pass slow
        # a warm-up run, untimed: first imports, the TLS context
        run_once(url, records[:2000], args.concurrency[0], workload)
        rtt: float | None = None
        ratios: dict[int, list[float]] = {}
        for c in [c for c in args.concurrency for _ in range(args.repeat)]:
            state = None if folder is None else folder / f"run{next(runs)}.sqlite"
            r = paired_run(url, records, c, workload, state=state)
            ratios.setdefault(c, []).append(r["ratio"])
            if rtt is None:
                rtt = r["latency_median"]
                print(f"round-trip (median batch latency at concurrency {c}): {rtt * 1000:.1f} ms")
            ideal = c * 1000 / rtt
            print(f"  concurrency {c:>2}: {r['rps']:>9,.0f} records/s  {r['requests']:>4} requests "
                  f"({r['retries']} retries)  {r['elapsed']:6.2f} s  ideal {ideal:>9,.0f}/s  "
                  f"fraction {r['rps'] / ideal:.2f}  CPU {r['cpu_us']:.2f} us/record ({r['sys_us']:.2f} system)  "
                  f"median latency {r['latency_median'] * 1000:.1f} ms "
                  f"(delivered {r['delivered']:,} of {r['received']:,})")
            print(f"      reference loop {r['ref_us']:.2f} us/record; sync {r['process_us']:.2f} us/record "
                  f"(process_time) = x{r['ratio']:.2f} the reference loop (goal <= {GOAL_RATIO:.1f})", flush=True)
        for c, values in ratios.items():
            print(f"concurrency {c}: sync ÷ reference loop {spread(values)} "
                  f"(the issue's goal, 6 us where the reference took 2.7 us: <= {GOAL_RATIO:.1f}x)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
