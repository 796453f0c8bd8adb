"""Benchmark: `k8saudit-tui fleet report --scheduler local` beside `k8saudit-tui report` on the same log
(issue 15, "Past one machine").

    python benchmarks/fleet.py [LOG] [--workers N] [--runs R] [--candidate POLICY]

LOG defaults to /tmp/k8saudit-bench-1000000.jsonl (only read; made with
`python -c "import k8saudit_tui.sample as s; s.write_log(PATH, 1000000)"`). Both real commands run
alternately, R times each (default 2), in the same minutes, their JSON compared (they must be equal);
prints the p50 wall time, the CPU seconds (the command and its reaped worker processes) and the peak
resident memory of the largest process, and the p50 of the per-round ratio. On one machine the
fleet pays Dask's start-up (scheduler, nanny and worker processes) for the same reading; its gain is
past one machine, where workers are added without changing the command.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from shared import DEMO_POLICY, ROOT, p50, ratios

CANDIDATE = ROOT / "tests" / "data" / "policies" / "kubernetes-gce-configure-helper.yaml"
LOG = Path("/tmp/k8saudit-bench-1000000.jsonl")


def measured(argv: list[str]) -> tuple[float, float, bytes]:
    """(wall seconds, CPU seconds of the command and its children, stdout) of `k8saudit-tui ARGV`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "k8saudit_tui", *argv], capture_output=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        sys.exit(f"{argv[0]} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return wall, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", type=Path, default=LOG)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--candidate", type=Path, default=CANDIDATE)
    args = parser.parse_args()
    common = ["--policy", str(DEMO_POLICY), "--candidate", str(args.candidate), str(args.log), "--format", "json"]
    commands = {
        "report": ["report", *common],
        "fleet": ["fleet", "report", "--scheduler", "local", "--workers", str(args.workers), *common],
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    outputs: dict[str, bytes] = {}
    for _ in range(args.runs):
        for name, argv in commands.items():
            wall, cpu, out = measured(argv)
            walls[name].append(wall)
            cpus[name].append(cpu)
            outputs[name] = out
    if outputs["report"] != outputs["fleet"]:
        sys.exit("the fleet's JSON differs from report's")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"log:          {args.log} ({args.log.stat().st_size / 1e6:,.0f} MB), {os.cpu_count()} cores")
    print(f"load average: {os.getloadavg()[0]:.1f} (other work on the machine inflates wall times)")
    for name in commands:
        runs = ", ".join(f"{t:.1f}" for t in walls[name])
        print(f"{name + ':':13} p50 {p50(walls[name]):6.1f} s wall  {p50(cpus[name]):6.1f} s CPU  (runs: {runs})")
    wall, cpu = p50(ratios(walls, "fleet", "report")), p50(ratios(cpus, "fleet", "report"))
    print(f"fleet/report: {wall:.2f}x wall, {cpu:.2f}x CPU (p50 of the per-round ratios); JSON identical")
    print(f"peak memory:  {peak_mb:,.0f} MB (largest process)")


if __name__ == "__main__":
    main()
