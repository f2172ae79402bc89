#!/usr/bin/env python3
"""Throughput of destkit's dry-run pipeline on the W1 audience, against the reference loop.

Times `Sync.dry_run(records, keep_requests=False)` (map -> validate -> enforce -> batch ->
serialize; nothing is sent, the catalogs come from the config so nothing touches the network)
and `workload.time_reference` on the same in-memory records, in the same process, interleaved
round by round so machine noise hits both alike. Quotes the best of `--repeats` rounds for each
and their ratio (target: destkit >= 0.5 x the reference loop).

Then, untimed, checks destkit's verdicts against the reference's: delivered and invalid counts,
counts per reason, and the (row, reason) of every invalid record. Nothing is asserted; the
figures are printed for a human to judge.

    python bench/bench_pipeline.py                       # 200,000 rows, best of 5
    python bench/bench_pipeline.py --rows 50000 --repeats 3
"""

from __future__ import annotations

import argparse
import gc
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

TARGET_RATIO = 0.5




def time_destkit(sync: Sync, records: list[dict[str, Any]]) -> tuple[float, int]:
    """Seconds for one dry run over `records` (wall clock around the public call), and its delivered count."""
    start = time.perf_counter()
    result = sync.dry_run(records, keep_requests=False)
    elapsed = time.perf_counter() - start
    return elapsed, result.summary.delivered


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
    args = parser.parse_args(argv)

    workload = load_workload(args.workload)
    sync = build_sync(workload.SYNC_CONFIG)
    records = list(workload.generate(args.rows, args.seed))
    gc.collect()
    gc.freeze()  # as workload.py does: the audience is long-lived, keep it out of the collector's way

    print(f"W1: {len(records):,} records in memory, Python {sys.version.split()[0]}, "
          f"best of {args.repeats} interleaved rounds")
    overhead = fixed_overhead(sync)
    best_dk, best_ref = float("inf"), 0.0
    for i in range(args.repeats):
        # alternate which side goes first, so neither always runs on a warmer (or hotter) machine
        if i % 2 == 0:
            dk_s, _ = time_destkit(sync, records)
            ref_rate = workload.time_reference(records, repeats=1)
        else:
            ref_rate = workload.time_reference(records, repeats=1)
            dk_s, _ = time_destkit(sync, records)
        best_dk = min(best_dk, dk_s)
        best_ref = max(best_ref, ref_rate)
        print(f"  round {i + 1}: destkit {len(records) / dk_s:>10,.0f} rec/s   reference {ref_rate:>10,.0f} rec/s")

    dk_rate = len(records) / best_dk
    ratio = dk_rate / best_ref
    print()
    print(f"destkit dry run  {dk_rate:>10,.0f} records/s  ({1e6 / dk_rate:.2f} us/record, "
          f"incl. {overhead * 1e3:.1f} ms fixed per-run set-up)")
    print(f"reference loop   {best_ref:>10,.0f} records/s  ({1e6 / best_ref:.2f} us/record)")
    print(f"ratio            {ratio:.2f}  (target >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'NOT met'})")

    if not args.no_sanity:
        sanity(sync, workload, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
