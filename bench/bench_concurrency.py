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
"""

from __future__ import annotations

import argparse
import gc
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
    result = sync.run(records) if store is None else sync.run(records, state=store, input_ref=str(state))
    elapsed, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    summary = result.summary
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {"elapsed": elapsed, "delivered": summary.delivered, "received": summary.received,
            "cpu_us": (user + system) / len(records) * 1e6, "sys_us": system / len(records) * 1e6,
            "requests": summary.requests, "retries": summary.retries, "rps": summary.received / elapsed,
            "latency_median": statistics.median(result.latencies) if result.latencies else float("nan")}


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
    args = parser.parse_args(argv)
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
        rtt: float | None = None
        for c in [c for c in args.concurrency for _ in range(args.repeat)]:
            state = None if folder is None else folder / f"run{next(runs)}.sqlite"
            r = run_once(url, records, c, workload, state)
            if rtt is None:
                rtt = r["latency_median"]
                print(f"round-trip (median batch latency at concurrency {c}): {rtt * 1000:.1f} ms")
            ideal = c * 1000 / rtt
            print(f"  concurrency {c:>2}: {r['rps']:>9,.0f} records/s  {r['requests']:>4} requests "
                  f"({r['retries']} retries)  {r['elapsed']:6.2f} s  ideal {ideal:>9,.0f}/s  "
                  f"fraction {r['rps'] / ideal:.2f}  CPU {r['cpu_us']:.2f} us/record ({r['sys_us']:.2f} system)  "
                  f"median latency {r['latency_median'] * 1000:.1f} ms "
                  f"(delivered {r['delivered']:,} of {r['received']:,})")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
