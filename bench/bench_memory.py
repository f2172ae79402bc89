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

    python bench/bench_memory.py                                 # 100k, 300k and 1M rows
    python bench/bench_memory.py --rows 10000 100000
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


def child(rows: int, url: str, workload_path: str, seed: int) -> int:
    """Sync `rows` streamed W1 records to `url`; print one JSON line of figures."""
    from destkit.runtime.engine import build_sync

    workload = load_workload(workload_path)
    sync = build_sync(workload.SYNC_CONFIG, base_url=url, allow_http=True)
    baseline = _peak_kb()
    cpu0 = _cpu_s()
    start = time.perf_counter()
    result = sync.run(workload.generate(rows, seed))
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


# --- the orchestrator ------------------------------------------------------------------------


@contextlib.contextmanager
def emulator(workload_path: str, forget: bool) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start `python -m bench.emulator_server` on a free port; yield its URL and process."""
    import httpx

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "bench.emulator_server", "--port", "0", "--api-key", API_KEY,
           "--workload", workload_path] + (["--forget-contacts"] if forget else [])
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


def run_child(rows: int, url: str, workload_path: str, seed: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--rows", str(rows), "--url", url,
           "--workload", workload_path, "--seed", str(seed)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the sync child for {rows:,} rows failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


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
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rows_list = [int(r.replace("_", "")) for part in args.rows for r in part.split(",") if r]
    workload_path = str(Path(args.workload).resolve())

    if args.child:
        return child(rows_list[0], args.url, workload_path, args.seed)

    workload = load_workload(workload_path)
    with contextlib.ExitStack() as stack:
        if args.url:
            url, server = args.url.rstrip("/"), None
        else:
            url, server = stack.enter_context(emulator(workload_path, args.forget_contacts))
        print(f"emulator at {url} ({'external' if server is None else f'pid {server.pid}'}"
              f"{', forgetting contacts' if args.forget_contacts else ''}); one fresh sync process per size")
        print(f"{'rows':>10} {'baseline MiB':>13} {'peak MiB':>9} {'peak-base':>10} {'end RSS':>8} "
              f"{'records/s':>10} {'sync CPU':>8} {'delivered':>10} {'invalid':>8} {'other':>6}  check")
        results = []
        for rows in rows_list:
            r = run_child(rows, url, workload_path, args.seed)
            s = r["summary"]
            other = s["rejected"] + s["dead_lettered"] + s["skipped"]
            check = ""
            if not args.no_check:
                expected, invalid, _ = workload.reference_run(workload.generate(rows, args.seed))
                same = s["delivered"] == expected and s["invalid"] == len(invalid)
                check = "matches reference" if same else f"DIFFERS (reference {expected:,} delivered, {len(invalid):,} invalid)"
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
