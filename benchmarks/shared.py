"""What the benchmark scripts share: where the repository is, the log they generate when given none,
loading a store with a policy, and the p50/p95 of a repeated measure.

The scripts are run as `python benchmarks/NAME.py`, so this module is imported from their folder;
importing it also puts the repository first on `sys.path`, so a checkout is measured, not an
installed copy.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout

from k8saudit_tui.commands.common import load_policy_or_exit  # noqa: E402
from k8saudit_tui.engine.logs.sources import expand_sources  # noqa: E402
from k8saudit_tui.engine.store import EventStore, StoreLoader  # noqa: E402

DEMO_POLICY = ROOT / "k8saudit_tui" / "data" / "demo-policy.yaml"


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
