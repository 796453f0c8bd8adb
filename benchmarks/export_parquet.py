"""Benchmark: `export --format parquet` against the jsonl export of the same rows (issue 15).

    python benchmarks/export_parquet.py [LOG] [--events N] [--runs R] [--commands]

LOG defaults to /tmp/k8saudit-bench-1000000.jsonl when it exists, else a generated log of N events
(default 1,000,000; benchmarks/shared.py). The log is loaded once under the demo policy; then the
export step alone (`export_rows`, what `export` does after loading) runs for jsonl and parquet,
unfiltered and with `--filter verb:create`, alternately R times each (default 3, CPU contention
hits both alike): p50 wall time, CPU time, file size and the resident memory the export added at
its peak (sampled every 10 ms; the row groups bound it). `--commands` also times the whole
commands (`k8saudit-tui export ...`, load included) alternately, as a user runs them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from shared import DEMO_POLICY, ROOT, generated_log, load_store

from k8saudit_tui.engine.export import export_rows
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.store import EventStore

BENCH_LOG = Path("/tmp/k8saudit-bench-1000000.jsonl")
PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakSampler:
    """The highest resident size seen while running, above the size at the start."""

    def __init__(self) -> None:
        self.base = resident_bytes()
        self.peak = self.base
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, resident_bytes())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, resident_bytes())


def one_export(store: EventStore, rows: object, fmt: str, out: Path) -> tuple[float, float, int, int]:
    """(wall s, CPU s, bytes written, MB of resident memory added at the peak) of one export."""
    out.unlink(missing_ok=True)
    with PeakSampler() as sampler:
        wall, cpu = time.perf_counter(), time.process_time()
        result = export_rows(store, rows, fmt, out)  # type: ignore[arg-type]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, result.bytes, (sampler.peak - sampler.base) >> 20


def command_seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "k8saudit_tui", *argv], check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", type=Path)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commands", action="store_true", help="also time the whole commands, load included")
    args = parser.parse_args()
    log = args.log or (BENCH_LOG if BENCH_LOG.exists() and args.events == 1_000_000 else generated_log(args.events))
    store = load_store(log, DEMO_POLICY)
    if store is None:
        return
    selections = {"all": compile_filter("").apply(store), "verb:create": compile_filter("verb:create").apply(store)}
    print(f"log: {log} ({log.stat().st_size / 1e6:,.0f} MB, {len(store):,} events), {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="k8saudit-parquet-bench-") as directory:
        for label, rows in selections.items():
            runs: dict[str, list[tuple[float, float, int, int]]] = {"jsonl": [], "parquet": []}
            for _ in range(args.runs):
                for fmt in runs:
                    runs[fmt].append(one_export(store, rows, fmt, Path(directory) / f"out.{fmt}"))
            print(f"\nexport step, {label} ({len(rows):,} events), p50 of {args.runs}:")
            for fmt, results in runs.items():
                wall = statistics.median(r[0] for r in results)
                cpu = statistics.median(r[1] for r in results)
                size, added = results[-1][2], max(r[3] for r in results)
                walls = ", ".join(f"{r[0]:.2f}" for r in results)
                print(
                    f"  {fmt:8} {wall:6.2f} s wall, {cpu:6.2f} s CPU, {size / 1e6:8,.1f} MB file, "
                    f"+{added:4} MB resident at peak  (runs: {walls})"
                )
            ratio = statistics.median(r[0] for r in runs["parquet"]) / statistics.median(r[0] for r in runs["jsonl"])
            print(f"  parquet / jsonl: {ratio:.2f}x wall")
        store.close()
        if args.commands:
            for label, extra in (("all", []), ("verb:create", ["--filter", "verb:create"])):
                times: dict[str, list[float]] = {"jsonl": [], "parquet": []}
                for _ in range(args.runs):
                    for fmt in times:
                        argv = ["export", str(log), "--policy", str(DEMO_POLICY), *extra, "--format", fmt]
                        times[fmt].append(command_seconds([*argv, "--force", "-o", f"{directory}/cmd.{fmt}"]))
                print(f"\nwhole command, {label}, p50 of {args.runs}:")
                for fmt, values in times.items():
                    listed = ", ".join(f"{v:.2f}" for v in values)
                    print(f"  {fmt:8} {statistics.median(values):6.2f} s  (runs: {listed})")


if __name__ == "__main__":
    main()
