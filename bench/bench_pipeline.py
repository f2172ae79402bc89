#!/usr/bin/env python3
"""Throughput of destkit's dry-run pipeline on the W1 audience, against the reference loop.

Times `Sync.dry_run(records, keep_requests=False)` (map -> validate -> enforce -> batch ->
serialize; nothing is sent, the catalogs come from the config so nothing touches the network)
and `workload.reference_run` on the same in-memory records, in the same process, interleaved
round by round so machine noise hits both alike. Quotes the best of `--repeats` rounds for each,
in records/s (wall clock) and in CPU microseconds per record (`time.process_time`, this process
only), and their ratio (target: destkit >= 0.8 x the reference loop). With `--keep-requests` it
also times rounds of `dry_run`'s default, `keep_requests=True`, which holds every request body.

Then, untimed, checks destkit's verdicts against the reference's: delivered and invalid counts,
counts per reason, and the (row, reason) of every invalid record. Nothing is asserted; the
figures are printed for a human to judge.

    python bench/bench_pipeline.py                       # 200,000 rows, best of 5
    python bench/bench_pipeline.py --rows 50000 --repeats 3
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script or with -m
from bench._workload import DEFAULT_WORKLOAD, load_workload
from destkit.runtime.engine import Sync, build_sync
from destkit.runtime.outcomes import Outcome, Status

TARGET_RATIO = 0.8


def time_destkit(sync: Sync, records: list[dict[str, Any]], keep_requests: bool = False) -> tuple[float, float]:
    """Wall-clock and CPU seconds for one dry run over `records` (around the public call)."""
    cpu, start = time.process_time(), time.perf_counter()
    result = sync.dry_run(records, keep_requests=keep_requests)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    del result  # its requests (with keep_requests) are freed before the next round
    return elapsed, cpu


def time_reference(workload: ModuleType, records: list[dict[str, Any]]) -> tuple[float, float]:
    """Wall-clock and CPU seconds for one run of the reference loop over `records`."""
    cpu, start = time.process_time(), time.perf_counter()
    workload.reference_run(records)
    return time.perf_counter() - start, time.process_time() - cpu


def interleaved(sync: Sync, workload: ModuleType, records: list[dict[str, Any]], repeats: int,
                keep_requests: bool = False, cpu_ratios: list[float] | None = None,
                ) -> tuple[tuple[float, float], tuple[float, float], list[float]]:
    """Best (wall, CPU) seconds of destkit and of the reference over `repeats` rounds, alternating
    which side goes first, so neither always runs on a warmer (or hotter) machine; and each round's ratio
    (wall clock; by CPU time into `cpu_ratios`, the steadier figure on a shared machine)."""
    dk_best, ref_best = (float("inf"), float("inf")), (float("inf"), float("inf"))
    ratios: list[float] = []
    n = len(records)
    for i in range(repeats):
        if i % 2 == 0:
            dk = time_destkit(sync, records, keep_requests)
            ref = time_reference(workload, records)
        else:
            ref = time_reference(workload, records)
            dk = time_destkit(sync, records, keep_requests)
        dk_best = (min(dk_best[0], dk[0]), min(dk_best[1], dk[1]))
        ref_best = (min(ref_best[0], ref[0]), min(ref_best[1], ref[1]))
        ratios.append(ref[0] / dk[0])
        if cpu_ratios is not None:
            cpu_ratios.append(ref[1] / dk[1])
        print(f"  round {i + 1}: destkit {n / dk[0]:>10,.0f} rec/s {dk[1] / n * 1e6:6.2f} us CPU/rec   "
              f"reference {n / ref[0]:>10,.0f} rec/s {ref[1] / n * 1e6:6.2f} us CPU/rec   "
              f"ratio {ref[0] / dk[0]:.2f}")
    return dk_best, ref_best, ratios


def fixed_overhead(sync: Sync, repeats: int = 5) -> float:
    """Best seconds of a dry run over no records: asyncio.run, the httpx client, the run set-up."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        sync.dry_run([], keep_requests=False)
        best = min(best, time.perf_counter() - start)
    return best


def sanity(sync: Sync, workload: ModuleType, records: list[dict[str, Any]]) -> None:
    """Compare destkit's verdicts with the reference loop's, record by record (untimed)."""
    invalid: dict[int, str] = {}
    other: Counter[str] = Counter()

    def collect(outcome: Outcome) -> None:
        if outcome.status is Status.INVALID:
            invalid[outcome.row] = str(outcome.reason)
        elif outcome.status is not Status.DELIVERED:
            other[f"{outcome.status.value}:{outcome.reason}"] += 1

    result = sync.dry_run(records, keep_requests=False, on_outcome=collect)
    s = result.summary
    ref_delivered, ref_invalid, ref_bytes = workload.reference_run(records)
    ref_rows = {row + 1: reason for row, reason in ref_invalid}  # the reference counts rows from 0

    print()
    print("sanity (untimed; destkit rows are 1-based, the reference's shifted to match)")
    same_delivered = s.delivered == ref_delivered
    same_invalid = s.count(Status.INVALID) == len(ref_invalid)
    print(f"  delivered   destkit {s.delivered:>9,}  reference {ref_delivered:>9,}  "
          f"{'same' if same_delivered else 'DIFFERENT'}")
    print(f"  invalid     destkit {s.count(Status.INVALID):>9,}  reference {len(ref_invalid):>9,}  "
          f"{'same' if same_invalid else 'DIFFERENT'}")
    print(f"  reconciles  {s.reconciles()} (received {s.received:,}); other outcomes: {dict(other) or 'none'}")
    ref_reasons = Counter(ref_rows.values())
    dk_reasons = Counter(invalid.values())
    print(f"  {'reason':<26}{'destkit':>10}{'reference':>11}")
    for reason in sorted(set(ref_reasons) | set(dk_reasons)):
        mark = "" if ref_reasons[reason] == dk_reasons[reason] else "   <- differs"
        print(f"  {reason:<26}{dk_reasons[reason]:>10,}{ref_reasons[reason]:>11,}{mark}")
    rows_differ = sorted(r for r in set(invalid) | set(ref_rows) if invalid.get(r) != ref_rows.get(r))
    print(f"  rows whose verdict differs: {len(rows_differ)}")
    for row in rows_differ[:10]:
        print(f"    row {row}: destkit {invalid.get(row, 'delivered')}, reference {ref_rows.get(row, 'delivered')}")
    print(f"  bytes serialized (informational; bodies need not be byte-identical): "
          f"destkit {s.bytes_sent:,}, reference {ref_bytes:,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="audience size (default 200,000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds; the best of each side is quoted")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workload", default=str(DEFAULT_WORKLOAD),
                        help="path to workload.py (default <repo>/../shared/bench/workload.py)")
    parser.add_argument("--no-sanity", action="store_true", help="skip the untimed verdict comparison")
    parser.add_argument("--keep-requests", action="store_true",
                        help="also time dry_run's default keep_requests=True (every request body held)")
    args = parser.parse_args(argv)

    workload = load_workload(args.workload)
    sync = build_sync(workload.SYNC_CONFIG)
    records = list(workload.generate(args.rows, args.seed))
    gc.collect()
    gc.freeze()  # as workload.py does: the audience is long-lived, keep it out of the collector's way

    print(f"W1: {len(records):,} records in memory, Python {sys.version.split()[0]}, "
          f"best of {args.repeats} interleaved rounds")
    overhead = fixed_overhead(sync)
    n = len(records)
    cpu_ratios: list[float] = []
    (dk_wall, dk_cpu), (ref_wall, ref_cpu), ratios = interleaved(sync, workload, records, args.repeats,
                                                                 cpu_ratios=cpu_ratios)
    ratio = ref_wall / dk_wall
    print()
    print(f"destkit dry run  {n / dk_wall:>10,.0f} records/s  ({dk_cpu / n * 1e6:.2f} us CPU/record, "
          f"incl. {overhead * 1e3:.1f} ms fixed per-run set-up)")
    print(f"reference loop   {n / ref_wall:>10,.0f} records/s  ({ref_cpu / n * 1e6:.2f} us CPU/record)")
    print(f"ratio            {ratio:.2f}  (target >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'NOT met'}); "
          f"by CPU time {ref_cpu / dk_cpu:.2f}; rounds {min(ratios):.2f}-{max(ratios):.2f}, "
          f"median {statistics.median(ratios):.2f}")
    print(f"by CPU time, per round {min(cpu_ratios):.2f}-{max(cpu_ratios):.2f}, median {statistics.median(cpu_ratios):.2f}")
    if args.keep_requests:
        print()
        print("keep_requests=True (dry_run's default: every request body is kept in result.requests)")
        (dk_wall, dk_cpu), (ref_wall, ref_cpu), ratios = interleaved(sync, workload, records, args.repeats,
                                                                     keep_requests=True)
        print(f"ratio            {ref_wall / dk_wall:.2f} ({dk_cpu / n * 1e6:.2f} us CPU/record); "
              f"median round {statistics.median(ratios):.2f}")

    if not args.no_sanity:
        sanity(sync, workload, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
