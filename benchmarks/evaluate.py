"""Benchmark: `k8saudit-tui evaluate` against a plain orjson parse of the same log (issue #2).

    python benchmarks/evaluate.py [LOG] [--policy POLICY] [--events N]

Without LOG, a log of N events (default 1,000,000) is generated with the project's own generator
under benchmarks/out/. Prints the orjson parse time, the evaluate time (the real command, its
JSON output written to /dev/null), their ratios in wall time (issue #2's target: <= 1.2) and in
CPU time (issue #15's: <= 1.0; the command's CPU is its process tree's, workers included: two
processes hide half of it from the wall clock) and the peak memory of evaluate (target < 300 MB).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import orjson
from shared import DEMO_POLICY, ROOT, generated_log  # also puts the checkout on sys.path


def orjson_parse_seconds(log: Path) -> tuple[float, float, int]:
    """A plain single-process parse of every line, the yardstick the issues name: wall and CPU."""
    start, cpu = time.perf_counter(), time.process_time()
    count = 0
    with log.open("rb") as stream:
        for line in stream:
            if line.strip():
                orjson.loads(line)
                count += 1
    return time.perf_counter() - start, time.process_time() - cpu, count


def evaluate_seconds(log: Path, policy: Path) -> tuple[float, float, float]:
    """Wall time, CPU time (user + system of the process tree) and peak resident memory (MB,
    largest process) of the evaluate command."""
    command = [sys.executable, "-m", "k8saudit_tui", "evaluate", "--policy", str(policy), str(log)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(command, stdout=sink, check=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu, after.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", type=Path)
    parser.add_argument("--policy", type=Path, default=DEMO_POLICY)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    log = args.log or generated_log(args.events)
    size_mb = log.stat().st_size / 1e6
    evaluate_seconds(log, args.policy)  # warm the page cache and the interpreter's imports
    parse, parse_cpu, count = orjson_parse_seconds(log)
    evaluate, evaluate_cpu, peak_mb = evaluate_seconds(log, args.policy)
    print(f"log:            {log} ({count:,} events, {size_mb:,.0f} MB), {os.cpu_count()} cores")
    print(f"orjson parse:   {parse:6.2f} s, {parse_cpu:6.2f} CPU-s  ({count / parse:,.0f} events/s)")
    print(f"evaluate:       {evaluate:6.2f} s, {evaluate_cpu:6.2f} CPU-s  (JSON output to /dev/null)")
    wall_ratio, cpu_ratio = evaluate / parse, evaluate_cpu / parse_cpu
    print(f"ratio:          {wall_ratio:6.2f}x wall (target <= 1.2x), {cpu_ratio:.2f}x CPU (target <= 1.0x)")
    print(f"peak memory:    {peak_mb:6.0f} MB (largest process; target < 300 MB)")


if __name__ == "__main__":
    main()
