#!/usr/bin/env python3
"""`--workers N` against one process: a CPU-bound dry run, and a real run to the lean sink.

    python bench/bench_workers.py                          # 200,000 rows dry, 100,000 sent; 1 vs 2 workers
    python bench/bench_workers.py --rows 50000 --send-rows 20000 --repeats 2

First the machine's own ceiling (`workers` independent one-process dry runs at once against one
over all the records: no `--workers` run can do better here), then three comparisons, each run interleaved round by round (1, N, 1, N, ...) so machine noise hits
both sides alike; each prints every round, the best of each side, their ratio (N workers ÷ one
process) and the range of the per-round ratios:

* dry run, W1 in memory: `sync.dry_run(records, keep_requests=False, workers=n)` over a list
  (the workers inherit the list by fork and each takes its own records: `engine.worker_selection`;
  nothing crosses the pipes but counts);
* dry run, W1 from a JSONL file: `read_jsonl(path)` streamed (the parent reads the file a block at a
  time and routes each raw line by the key read off its bytes; the workers parse their lines);
* end to end: `sync.run(records, workers=n)` to `bench/emulator_server.py --lean LATENCY` at
  concurrency C (split between the workers: C // N each; a list again, so self-selected).

CPU seconds (this process and its workers, user + system) are printed beside the wall time: on a
shared machine they say what the run cost when the wall clock says mostly what the neighbours did.
"ratio with free cores" is one process's CPU time over the CPU time of the busiest process of the
N-worker run (the parent, or a worker: the workers' total / N): the speed-up the run would show with
a free core for each of its processes. End to end, the sink's CPU is read from /proc beside each round, and
"the most the cores allow" is one process's wall time x cores over its CPU and the sink's: N workers spend at
least the CPU one process does, on the same cores as the sink.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or with -m
from bench._workload import DEFAULT_WORKLOAD, load_workload
from bench.bench_concurrency import start_emulator
from destkit.runtime.engine import RunResult, build_sync
from destkit.runtime.engine.sources import read_jsonl


def cpu_seconds() -> tuple[float, float]:
    """User + system CPU seconds so far of this process, and of its ended workers."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def timed(run: Callable[[], RunResult]) -> tuple[float, float, float, RunResult]:
    """Wall seconds, this process's CPU seconds and its workers' CPU seconds for one run."""
    (own, children), start = cpu_seconds(), time.perf_counter()
    result = run()
    wall = time.perf_counter() - start
    own_after, children_after = cpu_seconds()
    return wall, own_after - own, children_after - children, result


def process_cpu(pid: int) -> float:
    """User + system CPU seconds so far of another running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def compare(title: str, rows: int, repeats: int, workers: int, run: Callable[[int], RunResult],
            sink: int | None = None) -> None:
    """Run one process and `workers` processes alternately; print the rounds, the best of each and the ratios.
    With the `sink`'s pid (a process on the same cores), also what the cores allow end to end."""
    print(f"\n{title}")
    walls: dict[int, list[float]] = {1: [], workers: []}
    paths: dict[int, list[float]] = {1: [], workers: []}  # CPU seconds on the busiest process
    parents: dict[int, list[float]] = {1: [], workers: []}  # CPU seconds of the parent
    totals: dict[int, list[float]] = {1: [], workers: []}  # CPU seconds of the parent and its workers
    ceilings: list[float] = []  # per one-process round: its wall time x cores / (its CPU + the sink's CPU)
    for round_no in range(repeats):
        order = (1, workers) if round_no % 2 == 0 else (workers, 1)
        for n in order:
            sink_before = process_cpu(sink) if sink is not None else 0.0
            wall, own, children, result = timed(lambda n=n: run(n))  # type: ignore[misc]
            sink_cpu = process_cpu(sink) - sink_before if sink is not None else 0.0
            walls[n].append(wall)
            paths[n].append(own if n == 1 else max(own, children / n))  # the workers share the records evenly
            parents[n].append(own)
            totals[n].append(own + children)
            if n == 1 and sink is not None:
                ceilings.append(wall * min(workers, os.cpu_count() or 1) / (own + children + sink_cpu))
            s = result.summary
            print(f"  round {round_no + 1} workers {n}: {wall:6.2f} s  {rows / wall:>9,.0f} records/s  "
                  f"cpu parent {own:5.2f} s + workers {children:5.2f} s"
                  + (f" + sink {sink_cpu:5.2f} s" if sink is not None else "")
                  + f"  (delivered {s.delivered:,}, invalid {s.count('invalid'):,}, received {s.received:,})")
    if ceilings:  # N workers cannot spend less CPU than one process, and the sink's CPU shares the same cores
        print(f"  the most the cores allow with the sink beside: {max(ceilings):.2f}x "
              f"(one process's wall x cores / (its CPU + the sink's); per round {min(ceilings):.2f}-{max(ceilings):.2f})")
    ratios = [one / many for one, many in zip(walls[1], walls[workers], strict=True)]
    best_one, best_many = min(walls[1]), min(walls[workers])
    print(f"  best: 1 worker {rows / best_one:,.0f} records/s, {workers} workers {rows / best_many:,.0f} records/s; "
          f"ratio {best_one / best_many:.2f}x (per round {min(ratios):.2f}-{max(ratios):.2f}, "
          f"median {statistics.median(ratios):.2f})")
    # what the ratio would be with a free core per process: one process's CPU over the busiest process's CPU
    print(f"  CPU on the busiest process: 1 worker {min(paths[1]):.2f} s, {workers} workers {min(paths[workers]):.2f} s; "
          f"ratio with free cores {min(paths[1]) / min(paths[workers]):.2f}x")
    for n in (1, workers):
        print(f"  CPU per record, {n} worker(s): parent median {per_record(statistics.median(parents[n]), rows)} "
              f"({per_record(min(parents[n]), rows)}-{per_record(max(parents[n]), rows)}), all processes median "
              f"{per_record(statistics.median(totals[n]), rows)} ({per_record(min(totals[n]), rows)}-"
              f"{per_record(max(totals[n]), rows)})")


def machine_ceiling(sync: Any, records: list[Any], workers: int, repeats: int) -> None:
    """What the cores themselves give: one dry run over all the records against `workers` independent one-process
    dry runs over equal shares at once (forked, like the workers, but with no routing and no pipes). No `--workers`
    run can beat this ratio on this machine. The CPU per record of both is printed too: on a loaded machine the wall
    ratio says little, the CPU says what the shares cost (fork's copy-on-write included)."""
    context = multiprocessing.get_context("fork")
    share = len(records) // workers

    def part(index: int) -> None:
        sync.dry_run(records[index * share:(index + 1) * share], keep_requests=False)

    def together() -> None:
        processes = [context.Process(target=part, args=(i,)) for i in range(workers)]
        for process in processes:
            process.start()
        for process in processes:
            process.join()

    rows = share * workers
    print(f"\nmachine ceiling: one dry run of {rows:,} rows vs {workers} one-process runs of {share:,} at once")
    ratios = []
    for round_no in range(repeats):
        wall_alone, alone, _, _ = timed(lambda: sync.dry_run(records[:rows], keep_requests=False))
        wall_shares, parent, children, _ = timed_call(together)
        ratios.append(wall_alone / wall_shares)
        print(f"  round {round_no + 1}: ratio {ratios[-1]:.2f}x  CPU one process {per_record(alone, rows)}, "
              f"the shares {per_record(children, rows)} (+ parent {per_record(parent, rows)})")
    print(f"  ceiling {max(ratios):.2f}x (per round {min(ratios):.2f}-{max(ratios):.2f}, "
          f"median {statistics.median(ratios):.2f})")


def timed_call(run: Callable[[], None]) -> tuple[float, float, float, None]:
    (own, children), start = cpu_seconds(), time.perf_counter()
    run()
    wall = time.perf_counter() - start
    own_after, children_after = cpu_seconds()
    return wall, own_after - own, children_after - children, None


def per_record(seconds: float, rows: int) -> str:
    return f"{seconds * 1e6 / rows:.2f} us/record"


def one_round(sync: Any, records: list[Any], path: Path, workers: int) -> dict[str, Any]:
    """`--round-json`: in memory and from JSONL, one process and `workers` alternately (1, N, N, 1): wall, parent
    and workers' CPU seconds of each run, and which destkit ran them (`--compare-old` runs this per side)."""
    from destkit.runtime.engine import workers as workers_module

    runs: dict[str, list[tuple[float, float, float]]] = {}
    sources: dict[str, Callable[[], Any]] = {"memory": lambda: records, "jsonl": lambda: read_jsonl(path)}
    for name, source in sources.items():
        for n in (1, workers, workers, 1):
            wall, own, children, _ = timed(lambda n=n, source=source: sync.dry_run(  # type: ignore[misc]
                source(), keep_requests=False, workers=n))
            runs.setdefault(f"{name}/{n}", []).append((wall, own, children))
    return {"code": workers_module.__file__, "runs": runs}


def compare_old(args: argparse.Namespace) -> None:
    """Old code (a tree on PYTHONPATH, e.g. `git archive` of the base commit under DIR/destkit) against this one,
    each round a fresh process per side, the sides alternating; per side, the 1 ÷ N wall ratio inside its process,
    the CPU per record of the N-worker runs, and new ÷ old of the N-worker wall time, round by round."""
    sides: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
    for round_no in range(args.repeats):
        for side in (("old", "new") if round_no % 2 == 0 else ("new", "old")):
            env = dict(os.environ)
            env.pop("PYTHONPATH", None)
            if side == "old":
                env["PYTHONPATH"] = args.compare_old
            command = [sys.executable, str(Path(__file__).resolve()), "--round-json", "--rows", str(args.rows),
                       "--workers", str(args.workers), "--workload", args.workload]
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
            sides[side].append(json.loads(out.strip().splitlines()[-1]))
            print(f"  round {round_no + 1} {side}: {summarize(sides[side][-1], args.rows, args.workers)}", flush=True)
    for source in ("memory", "jsonl"):
        print(f"\n{source}, {args.rows:,} rows, 1 vs {args.workers} workers, {args.repeats} rounds per side:")
        for side in ("old", "new"):
            ratios = [ratio(r["runs"], source, args.workers) for r in sides[side]]
            parent = [sum(run[1] for run in r["runs"][f"{source}/{args.workers}"]) / 2 * 1e6 / args.rows for r in sides[side]]
            total = [sum(run[1] + run[2] for run in r["runs"][f"{source}/{args.workers}"]) / 2 * 1e6 / args.rows
                     for r in sides[side]]
            one = [sum(run[1] for run in r["runs"][f"{source}/1"]) / 2 * 1e6 / args.rows for r in sides[side]]
            print(f"  {side}: 1 / {args.workers} wall median {statistics.median(ratios):.2f}x ({min(ratios):.2f}-"
                  f"{max(ratios):.2f}); CPU us/record: one process {span(one)}, with workers parent {span(parent)}, "
                  f"all processes {span(total)}")
        walls = [sum(n[f"{source}/{args.workers}"][i][0] for i in (0, 1)) / sum(o[f"{source}/{args.workers}"][i][0] for i in (0, 1))
                 for n, o in zip((r["runs"] for r in sides["new"]), (r["runs"] for r in sides["old"]), strict=True)]
        print(f"  new / old wall of the {args.workers}-worker runs: median {statistics.median(walls):.2f} "
              f"({min(walls):.2f}-{max(walls):.2f})")


def ratio(runs: dict[str, Any], source: str, workers: int) -> float:
    return float(sum(run[0] for run in runs[f"{source}/1"]) / sum(run[0] for run in runs[f"{source}/{workers}"]))


def span(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def summarize(round_: dict[str, Any], rows: int, workers: int) -> str:
    runs = round_["runs"]
    return ", ".join(f"{source} 1/{workers} {ratio(runs, source, workers):.2f}x" for source in ("memory", "jsonl")) \
        + f"  ({round_['code']})"


class Timeline:
    """`--timeline`: when each process of a `--workers N` dry run starts, decides its rows, takes its chunks (every
    tenth), ends; the parent's start (fork), the last worker's end and the join. Events are appended to a file by
    each process (the workers leave by `os._exit`), stamped with the wall time since the run began and the CPU time
    of the process that wrote them. It wraps the engine's functions: a bench-only view, never part of a run."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp()) / "events"
        self.start = 0.0

    def event(self, label: str) -> None:
        line = f"{os.getpid():>8} {time.perf_counter() - self.start:8.3f} s  cpu {time.process_time():7.3f} s  {label}\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def install(self) -> None:
        from destkit.runtime.engine import worker_process, worker_routing, worker_selection, workers

        event = self.event
        worker_main, own_rows, items_of, send = (worker_process.worker_main, worker_selection.Selection.own_rows,
                                                 worker_process.items_of, worker_process.send)
        taken = [0]

        def traced_main(*args: Any, **kwargs: Any) -> None:
            event("worker starts (forked)")
            worker_main(*args, **kwargs)

        def traced_own_rows(selection: Any, *args: Any) -> Any:
            event("worker decides its rows")
            rows = own_rows(selection, *args)
            event(f"worker has its {len(rows):,} rows")
            return rows

        def traced_items_of(*args: Any) -> Any:
            if taken[0] % 10 == 0:
                event(f"worker takes chunk {taken[0] + 1}")
            taken[0] += 1
            return items_of(*args)

        def traced_send(conn: Any, message: Any) -> None:
            if isinstance(message, worker_process.Ended):
                event(f"worker ends after {taken[0]} chunks")
            send(conn, message)

        def traced_pool(name: str) -> None:
            original = getattr(workers.WorkerPool, name)

            def method(pool: Any, *args: Any) -> Any:
                event(f"parent {name} begins")
                result = original(pool, *args)
                event(f"parent {name} ends")
                return result
            setattr(workers.WorkerPool, name, method)

        worker_routing.worker_main = traced_main
        worker_selection.Selection.own_rows = traced_own_rows
        worker_process.items_of = traced_items_of
        worker_process.send = traced_send
        for name in ("start", "close"):
            traced_pool(name)
        ended = workers.WorkerPool.ended

        def traced_ended(pool: Any, w: Any, message: Any) -> None:
            event(f"parent hears worker {w.index} ended")
            ended(pool, w, message)
        workers.WorkerPool.ended = traced_ended

    def run(self, title: str, run: Callable[[], RunResult]) -> None:
        self.path.unlink(missing_ok=True)
        self.start = time.perf_counter()
        self.event("run begins")
        run()
        self.event("run ends")
        print(f"\ntimeline, {title}:\n" + self.path.read_text())


def timelines(sync: Any, records: list[Any], path: Path, workers: int) -> None:
    """`--timeline`: one traced `--workers N` dry run in memory and one from JSONL (after an untraced warm-up)."""
    timeline = Timeline()
    timeline.install()
    sync.dry_run(records, keep_requests=False, workers=workers)
    timeline.run(f"{len(records):,} rows in memory, {workers} workers",
                 lambda: sync.dry_run(records, keep_requests=False, workers=workers))
    timeline.run(f"{len(records):,} rows from JSONL, {workers} workers",
                 lambda: sync.dry_run(read_jsonl(path), keep_requests=False, workers=workers))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the dry runs")
    parser.add_argument("--send-rows", type=int, default=100_000, help="rows sent to the lean sink (0: skip)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=4, help="rounds of each side (alternating)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workload", default=str(DEFAULT_WORKLOAD))
    parser.add_argument("--compare-old", metavar="PYTHONPATH", help="old code against this, interleaved (dry runs)")
    parser.add_argument("--round-json", action="store_true", help=argparse.SUPPRESS)  # one side's round
    parser.add_argument("--timeline", action="store_true", help="trace one N-worker dry run per process, and stop")
    args = parser.parse_args(argv)
    if args.compare_old:
        compare_old(args)
        return 0
    workload = load_workload(args.workload)
    records = list(workload.generate(args.rows))
    gc.collect()
    gc.freeze()  # as workload.py does for the reference: held records would make every GC pass slow
    sync = build_sync(workload.SYNC_CONFIG)
    if args.round_json or args.timeline:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "w1.jsonl"
            path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
            if args.timeline:
                timelines(sync, records, path, args.workers)
            else:
                print(json.dumps(one_round(sync, records, path, args.workers)))
        return 0
    machine_ceiling(sync, records, args.workers, args.repeats)
    compare(f"dry run, {args.rows:,} W1 rows in memory", args.rows, args.repeats, args.workers,
            lambda n: sync.dry_run(records, keep_requests=False, workers=n))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w1.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        compare(f"dry run, {args.rows:,} W1 rows from JSONL", args.rows, args.repeats, args.workers,
                lambda n: sync.dry_run(read_jsonl(path), keep_requests=False, workers=n))
    if args.send_rows:
        url, proc = start_emulator(args.latency_ms, args.workload, full=False)
        try:
            config: dict[str, Any] = {**workload.SYNC_CONFIG, "options": {"concurrency": args.concurrency}}
            sender = build_sync(config, base_url=url, allow_http=True)
            sent = records[:args.send_rows]
            compare(f"end to end, {args.send_rows:,} W1 rows to the lean sink (+{args.latency_ms:g} ms), "
                    f"concurrency {args.concurrency} in total", args.send_rows, args.repeats, args.workers,
                    lambda n: sender.run(sent, workers=n), sink=proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
