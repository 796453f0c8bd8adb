"""Benchmark: `k8saudit-tui report` with a candidate against `k8saudit-tui evaluate` on the same log
(issue 13).

    python benchmarks/report.py [LOG] [--policy POLICY] [--candidate POLICY] [--runs R]

LOG defaults to /tmp/k8saudit-bench-1000000.jsonl when it exists (only read), else the generated
1,000,000-event log under benchmarks/out/. Both real commands run with their output to /dev/null,
alternately, R rounds (default 5) after a warm-up; prints each one's p50 wall time, the p50 of the
per-round ratio of wall times (target report <= 1.5x evaluate), and the peak memory of the runs.
"""

from __future__ import annotations

import argparse
import os
import resource
from pathlib import Path

from shared import BENCH_LOG, DEMO_POLICY, ROOT, alternated, generated_log, p50, ratios

CANDIDATE = ROOT / "tests" / "data" / "policies" / "kubernetes-gce-configure-helper.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", type=Path)
    parser.add_argument("--policy", type=Path, default=DEMO_POLICY)
    parser.add_argument("--candidate", type=Path, default=CANDIDATE)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    log = args.log or (BENCH_LOG if BENCH_LOG.exists() else generated_log(1_000_000))
    commands = {
        "evaluate": ["evaluate", "--policy", str(args.policy), str(log)],
        "report": ["report", "--policy", str(args.policy), "--candidate", str(args.candidate), str(log)],
    }
    times, cpu = alternated(commands, args.runs)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"log:            {log} ({log.stat().st_size / 1e6:,.0f} MB), {os.cpu_count()} cores")
    print(f"policies:       {args.policy.name} -> {args.candidate.name}")
    for name, runs in times.items():
        print(f"{name + ':':15s} p50 {p50(runs):6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in runs)})")
    per_round = ratios(times, "report", "evaluate")
    rounds = ", ".join(f"{r:.2f}" for r in per_round)
    print(f"ratio:          p50 {p50(per_round):6.2f}x  (per round: {rounds}; target <= 1.5x)")
    per_round = ratios(cpu, "report", "evaluate")
    rounds = ", ".join(f"{r:.2f}" for r in per_round)
    print(f"CPU time ratio: p50 {p50(per_round):6.2f}x  (per round: {rounds}; user + system, workers included)")
    print(f"peak memory:    {peak_mb:6.0f} MB (largest process)")


if __name__ == "__main__":
    main()
