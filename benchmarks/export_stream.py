"""Streamed `export --filter` beside DuckDB and jq selecting the same events to a file.

Usage: python benchmarks/export_stream.py [--events N] [--log PATH] [--rounds R] [--no-jq] [--commands]

Each round runs, one after the other in the same minutes (CPU contention hits them alike), our
`export` command (jsonl), DuckDB's `COPY (SELECT * FROM read_ndjson_auto(..., union_by_name=true)
WHERE ...)` (without union_by_name its sampled schema refuses the generated log: an annotation key
first seen after the sample) and
`jq -c 'select(...)'`, each in a fresh process, for two filters: `verb:create` and one user. It
prints the p50 wall time and CPU time (user + system, children included) of each, the p50 of our
times over DuckDB's (per round: under CPU contention the CPU ratio is the steadier one), the events
selected (ours and DuckDB's must agree), and the peak resident memory of our process tree
(`engine.memory`, sampled every 20 ms). DuckDB and jq are skipped when not installed; a 1M-event
log from /tmp/k8saudit-bench-1000000.jsonl is reused when it exists.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared import ROOT, generated_log

from k8saudit_tui.engine.memory import tree_resident_mb

FILTERS = (
    ("verb:create", "verb = 'create'", 'select(.verb=="create")'),
    (
        "user:alice@example.com",
        "\"user\".username = 'alice@example.com'",
        'select(.user.username=="alice@example.com")',
    ),
)
"""(our filter, DuckDB's WHERE, jq's program): the same events."""

_SHARED_1M = Path("/tmp/k8saudit-bench-1000000.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--log", help="an existing log (default: the generated one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--commands", action="store_true", help="also the peak memory of top, evaluate, apply and report (once each)"
    )
    parser.add_argument("--no-jq", action="store_true", help="leave jq out (its runs take ~10 s each at 1M)")
    args = parser.parse_args()
    log = Path(args.log) if args.log else _SHARED_1M if args.events == 1_000_000 and _SHARED_1M.exists() else None
    log = log or generated_log(args.events)
    print(f"log: {log} ({log.stat().st_size / 1e6:,.0f} MB), {args.rounds} rounds, alternating")
    duckdb = _has_module("duckdb")
    jq = None if args.no_jq else shutil.which("jq")
    with tempfile.TemporaryDirectory(prefix="export-stream-") as scratch:
        for ours, where, program in FILTERS:
            times: dict[str, list[float]] = {"ours": [], "duckdb": [], "jq": []}
            cpu: dict[str, list[float]] = {"ours": [], "duckdb": [], "jq": []}
            peaks: list[int] = []
            counts: dict[str, int] = {}
            for _ in range(args.rounds):
                out = Path(scratch) / "ours.jsonl"
                command = [sys.executable, "-m", "k8saudit_tui", "export", str(log), "--filter", ours]
                seconds, peak, used = _run([*command, "-o", str(out), "--force"])
                times["ours"].append(seconds)
                cpu["ours"].append(used)
                peaks.append(peak)
                counts["ours"] = _lines(out)
                if duckdb:
                    target = Path(scratch) / "duck.jsonl"
                    query = (
                        f"COPY (SELECT * FROM read_ndjson_auto('{log}', union_by_name=true) WHERE {where}) "
                        f"TO '{target}' (FORMAT JSON)"
                    )
                    seconds, _, used = _run([sys.executable, "-c", f"import duckdb; duckdb.sql({query!r})"])
                    times["duckdb"].append(seconds)
                    cpu["duckdb"].append(used)
                    counts["duckdb"] = _lines(target)
                if jq:
                    target = Path(scratch) / "jq.jsonl"
                    with open(target, "wb") as handle:
                        seconds, _, used = _run([jq, "-c", program, str(log)], stdout=handle)
                    times["jq"].append(seconds)
                    cpu["jq"].append(used)
                    counts["jq"] = _lines(target)
            if peaks:
                _report(ours, times, cpu, peaks, counts)
        if args.commands:
            _other_commands(log, Path(scratch))


def _other_commands(log: Path, scratch: Path) -> None:
    """Wall time and peak resident memory of the process tree of the other headless commands."""
    policy = str(ROOT / "k8saudit_tui" / "data" / "demo-policy.yaml")
    base = [sys.executable, "-m", "k8saudit_tui"]
    commands = {
        "top --by user --filter verb:create": [*base, "top", str(log), "--by", "user", "--filter", "verb:create"],
        "top --by code (every event)": [*base, "top", str(log), "--by", "code"],
        "export (every event)": [*base, "export", str(log), "-o", str(scratch / "all.jsonl"), "--force"],
        "evaluate": [*base, "evaluate", "--policy", policy, str(log)],
        "apply": [*base, "apply", "--policy", policy, str(log), "-o", str(scratch / "applied.jsonl"), "--force"],
        "report (keeps a store)": [*base, "report", "--policy", policy, str(log)],
    }
    print()
    for label, command in commands.items():
        seconds, peak, used = _run(command)
        print(f"  {label:38} {seconds:6.2f} s  {used:6.2f} CPU-s  peak resident {peak} MB")


def _report(
    label: str, times: dict[str, list[float]], cpu: dict[str, list[float]], peaks: list[int], counts: dict[str, int]
) -> None:
    print(f"\n--filter {label}: {counts.get('ours', 0):,} events selected", end="")
    print("".join(f", {name} {count:,}" for name, count in counts.items() if name != "ours"))
    for name, runs in times.items():
        if runs:
            walls, used = ", ".join(f"{t:.2f}" for t in runs), ", ".join(f"{t:.2f}" for t in cpu[name])
            print(
                f"  {name:7} p50 {statistics.median(runs):6.2f} s wall, {statistics.median(cpu[name]):6.2f} CPU-s"
                f"  (wall: {walls}; CPU: {used})"
            )
    if times["duckdb"]:
        ratios = [ours / duck for ours, duck in zip(times["ours"], times["duckdb"])]
        cpu_ratios = [ours / duck for ours, duck in zip(cpu["ours"], cpu["duckdb"])]
        print(
            f"  ours / duckdb p50 {statistics.median(ratios):.2f}x wall, {statistics.median(cpu_ratios):.2f}x CPU"
            " (per round)"
        )
    print(f"  our process tree: peak resident {max(peaks)} MB")


def _run(command: list[str], stdout: object = subprocess.DEVNULL) -> tuple[float, int, float]:
    """Wall seconds of `command`, the peak resident MB of its process tree, and its CPU seconds
    (user + system of the process and of the children it waited for: our workers, DuckDB's threads)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL, cwd=ROOT)  # type: ignore[arg-type]
    peak = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, tree_resident_mb(process.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{command[:4]} failed with status {process.returncode}")
    return seconds, peak, usage.ru_utime + usage.ru_stime


def _lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def _has_module(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    main()
