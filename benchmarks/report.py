"""Benchmark: `k8saudit-tui report` with a candidate against `k8saudit-tui evaluate` on the same log
(issue 13).

    python benchmarks/report.py [LOG] [--policy POLICY] [--candidate POLICY] [--runs R]

LOG defaults to /tmp/k8saudit-bench-1000000.jsonl (made by benchmarks/store.py's generator; it is
only read). Both real commands run with their output to /dev/null, alternately, R times each
(default 2) after a warm-up; prints the best time of each and their ratio (target report <= 1.5x
evaluate), and the peak memory of the runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_POLICY = ROOT / "k8saudit_tui" / "data" / "demo-policy.yaml"
CANDIDATE = ROOT / "tests" / "data" / "policies" / "kubernetes-gce-configure-helper.yaml"
LOG = Path("/tmp/k8saudit-bench-1000000.jsonl")


def command_seconds(argv: list[str]) -> float:
    """Wall time of `k8saudit-tui ARGV...`, its stdout to /dev/null."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            [sys.executable, "-m", "k8saudit_tui", *argv], stdout=sink, stderr=subprocess.DEVNULL, check=True, cwd=ROOT
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", type=Path, default=LOG)
    parser.add_argument("--policy", type=Path, default=DEMO_POLICY)
    parser.add_argument("--candidate", type=Path, default=CANDIDATE)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    commands = {
        "evaluate": ["evaluate", "--policy", str(args.policy), str(args.log)],
        "report": ["report", "--policy", str(args.policy), "--candidate", str(args.candidate), str(args.log)],
    }
    command_seconds(commands["evaluate"])  # warm the page cache and the interpreter's imports
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, argv in commands.items():
            times[name].append(command_seconds(argv))
    evaluate, report = min(times["evaluate"]), min(times["report"])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size_mb = args.log.stat().st_size / 1e6
    print(f"log:            {args.log} ({size_mb:,.0f} MB), {os.cpu_count()} cores")
    print(f"policies:       {args.policy.name} -> {args.candidate.name}")
    print(f"evaluate:       {evaluate:6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times['evaluate'])})")
    print(f"report:         {report:6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times['report'])})")
    print(f"ratio:          {report / evaluate:6.2f}x  (target <= 1.5x)")
    print(f"peak memory:    {peak_mb:6.0f} MB (largest process)")


if __name__ == "__main__":
    main()
