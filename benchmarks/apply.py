"""Benchmark: `k8saudit-tui apply` against `k8saudit-tui evaluate` on the same log (issue 13).

    python benchmarks/apply.py [LOG] [--policy POLICY] [--events N] [--runs R]

Without LOG, a log of N events (default 1,000,000) is generated with the project's own generator
under benchmarks/out/. Both real commands run with their output to /dev/null, alternately, R
times each (default 2) after a warm-up; prints the best time of each, their ratio (target
apply <= 1.2x evaluate), what apply wrote (events, bytes) and the peak memory of the runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from shared import DEMO_POLICY, ROOT, generated_log  # also puts the checkout on sys.path


def command_seconds(command: str, log: Path, policy: Path) -> float:
    """Wall time of `k8saudit-tui COMMAND --policy POLICY LOG`, its stdout to /dev/null."""
    argv = [sys.executable, "-m", "k8saudit_tui", command, "--policy", str(policy), str(log)]
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(argv, stdout=sink, stderr=subprocess.DEVNULL, check=True, cwd=ROOT)
    return time.perf_counter() - start


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
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    log = args.log or generated_log(args.events)
    size_mb = log.stat().st_size / 1e6
    command_seconds("apply", log, args.policy)  # warm the page cache and the interpreter's imports
    times: dict[str, list[float]] = {"evaluate": [], "apply": []}
    for _ in range(args.runs):
        for command in times:
            times[command].append(command_seconds(command, log, args.policy))
    evaluate, apply = min(times["evaluate"]), min(times["apply"])
    events, size = written(log, args.policy)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"log:            {log} ({size_mb:,.0f} MB), policy {args.policy.name}, {os.cpu_count()} cores")
    print(f"evaluate:       {evaluate:6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times['evaluate'])})")
    print(f"apply:          {apply:6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times['apply'])})")
    print(f"ratio:          {apply / evaluate:6.2f}x  (target <= 1.2x)")
    print(f"apply wrote:    {events:,} events, {size / 1e6:,.0f} MB")
    print(f"peak memory:    {peak_mb:6.0f} MB (largest process)")


if __name__ == "__main__":
    main()
