"""What the benchmark scripts share: where the repository is, the log they generate when given none,
loading a store with a policy, the p50/p95 of a repeated measure, and commands timed alternately
(their ratio per round, for a machine shared with other work).

The scripts are run as `python benchmarks/NAME.py`, so this module is imported from their folder;
importing it also puts the repository first on `sys.path`, so a checkout is measured, not an
installed copy.
"""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout
compileall.compile_dir(ROOT / "k8saudit_tui", quiet=1)
"""The package's bytecode, as `pip install .` writes it: a shell with PYTHONDONTWRITEBYTECODE set
(some dev shells and CI images set it) would otherwise compile every module again in every
process a benchmark starts and every parser worker: 0.1 s of an explorer's start, 1.0 s against
0.89 s to reopen a 1M-event index (measured)."""

from k8saudit_tui.commands.common import load_policy_or_exit  # noqa: E402
from k8saudit_tui.engine.logs.sources import expand_sources  # noqa: E402
from k8saudit_tui.engine.store import EventStore, StoreLoader  # noqa: E402

DEMO_POLICY = ROOT / "k8saudit_tui" / "data" / "demo-policy.yaml"
BENCH_LOG = Path("/tmp/k8saudit-bench-1000000.jsonl")
"""The 1,000,000-event log other runs made (`k8saudit_tui.sample.write_log`), used when present."""


def generated_log(events: int) -> Path:
    """A log of `events` events from the project's generator, made once under benchmarks/out/."""
    from k8saudit_tui.sample import write_log

    out = ROOT / "benchmarks" / "out" / f"audit-{events}.jsonl"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {events:,} events into {out} ...", flush=True)
        write_log(out, events)
    return out


def load_store(log: str | Path, policy: str | Path) -> EventStore | None:
    """`log` loaded and evaluated under `policy`, saying how long it took; None (the policy's
    problems printed) when the policy cannot be used."""
    evaluator = load_policy_or_exit(str(policy))
    if evaluator is None:
        return None
    started = time.perf_counter()
    store = StoreLoader(expand_sources([str(log)]), evaluator).load_all()
    print(f"loaded {len(store):,} events in {time.perf_counter() - started:.1f} s")
    return store


def time_runs(label: str, run: Callable[[], object], repeat: int) -> None:
    """Run `run` `repeat` times and print the median and the 95th percentile in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(f"{label}: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms")


def command_seconds(argv: list[str], cpu: list[float] | None = None) -> float:
    """Wall time of `k8saudit-tui ARGV...` from the checkout, its stdout and stderr to /dev/null;
    its CPU time (user + system, workers included) is appended to `cpu` when given."""
    command = [sys.executable, "-m", "k8saudit_tui", *argv]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(command, stdout=sink, stderr=sink, check=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return elapsed


def alternated(commands: dict[str, list[str]], runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each command's wall times and CPU times over `runs` rounds, the commands run one after the
    other in every round (after one warm-up round): on a shared machine both see the same
    minutes' load, so the ratio of two of them is read per round (`ratios`), not from times
    taken apart. CPU time moves less with other work on the machine than wall time does."""
    for argv in commands.values():
        command_seconds(argv)  # the page cache and the interpreter's imports
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(command_seconds(argv, cpu[name]))
    return times, cpu


def ratios(times: dict[str, list[float]], name: str, base: str) -> list[float]:
    """`name`'s time over `base`'s, round by round."""
    return [mine / theirs for mine, theirs in zip(times[name], times[base], strict=True)]


def p50(values: list[float]) -> float:
    return statistics.median(values)
