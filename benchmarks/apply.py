"""Benchmark: `k8saudit-tui apply` against `k8saudit-tui evaluate` on the same log (issue 13).

    python benchmarks/apply.py [LOG] [--policy POLICY] [--events N] [--runs R]

LOG defaults to /tmp/k8saudit-bench-1000000.jsonl when it exists (only read), else a log of N
events (default 1,000,000) generated under benchmarks/out/. Both real commands run with their
output to /dev/null, alternately, R rounds (default 5) after a warm-up; prints each one's p50 wall time,
the p50 of the per-round ratio of wall times (target apply <= 1.2x evaluate), what apply wrote (events, bytes)
and the peak memory of the runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
from pathlib import Path

from shared import BENCH_LOG, DEMO_POLICY, ROOT, alternated, generated_log, p50, ratios


def written(log: Path, policy: Path) -> tuple[int, int]:
    """(events, bytes) apply writes, counted from its real output."""
    argv = [sys.executable, "-m", "k8saudit_tui", "apply", "--policy", str(policy), str(log)]
    events = size = 0
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT) as process:
        assert process.stdout is not None
        while block := process.stdout.read(1 << 20):
            events += block.count(b"\n")
            size += len(block)
    return events, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", type=Path)
    parser.add_argument("--policy", type=Path, default=DEMO_POLICY)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    log = args.log or (BENCH_LOG if BENCH_LOG.exists() and args.events == 1_000_000 else generated_log(args.events))
    times, cpu = alternated(
        {name: [name, "--policy", str(args.policy), str(log)] for name in ("evaluate", "apply")}, args.runs
    )
    events, size = written(log, args.policy)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"log:            {log} ({log.stat().st_size / 1e6:,.0f} MB), policy {args.policy.name}, {os.cpu_count()} cores"
    )
    for name, runs in times.items():
        print(f"{name + ':':15s} p50 {p50(runs):6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in runs)})")
    per_round = ratios(times, "apply", "evaluate")
    rounds = ", ".join(f"{r:.2f}" for r in per_round)
    print(f"ratio:          p50 {p50(per_round):6.2f}x  (per round: {rounds}; target <= 1.2x)")
    per_round = ratios(cpu, "apply", "evaluate")
    rounds = ", ".join(f"{r:.2f}" for r in per_round)
    print(f"CPU time ratio: p50 {p50(per_round):6.2f}x  (per round: {rounds}; user + system, workers included)")
    print(f"apply wrote:    {events:,} events, {size / 1e6:,.0f} MB")
    print(f"peak memory:    {peak_mb:6.0f} MB (largest process)")


if __name__ == "__main__":
    main()
