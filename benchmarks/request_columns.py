"""The explorer's last search-index step, "request columns" (`ahead._request_columns`: the rows
by auditID, then which facet columns keep one value within a request): its peak resident memory
over what was resident before it, in bytes an event, and its time, as `ahead.prepare` runs it
(the earlier steps built first, the free heap given back before).

    python benchmarks/request_columns.py [--events N] [--repeat R] [--against AUDITIDS_PY]

The log is /tmp/k8saudit-bench-N.jsonl (store_scale.py's; default 3,000,000 events). The peak is
the kernel's high-water mark of this process (VmHWM, reset through /proc/self/clear_refs before
the step), so nothing between two samples is missed. With --against, the step is also run with
another tree's `auditids.py` (say `git show main:k8saudit_tui/engine/query/auditids.py >
/tmp/old.py`), the two alternately in every round (a shared machine's load then weighs on both),
and their results are checked equal. Prints each variant's p50 peak and time over the rounds.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import shared
from store_scale import bench_log

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.memory import resident_bytes
from k8saudit_tui.engine.query import ahead, auditids, facets, indexes

CONSTANT_KEY = ("facets", "constant")
"""The match cache's key of `auditids.constant`'s answers (dropped before each run)."""


def high_water_reset() -> None:
    """Start the kernel's peak resident count of this process afresh (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def high_water() -> int:
    """This process's peak resident bytes since the last reset."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def step_with(module: ModuleType, chunk_rows: int | None = None) -> Callable[[Any], tuple[Any, list[bool]]]:
    """`ahead._request_columns` with `module` as the auditids module (its _CHUNK_ROWS set to
    `chunk_rows` when given): the index and the answers."""

    def step(store: Any) -> tuple[Any, list[bool]]:
        if chunk_rows is not None:
            module._CHUNK_ROWS = chunk_rows
        grouped = module.grouped(store, len(store))
        answers = [
            module.constant(store, grouped, column)
            for name in facets.TOP_FIELDS
            for column in facets.stored_columns(name)
        ]
        return grouped, answers

    return step


def load_module(path: str) -> ModuleType:
    """Another tree's auditids.py, imported beside this tree's (its own imports are this tree's)."""
    spec = importlib.util.spec_from_file_location("against_auditids", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def measured(store: Any, step: Callable[[Any], tuple[Any, list[bool]]]) -> tuple[int, float, Any]:
    """(peak bytes over the resident before, seconds, result) of one run of `step`, from scratch."""
    store.match_cache.pop(indexes.BY_REQUEST, None)
    store.match_cache.pop(CONSTANT_KEY, None)
    gc.collect()
    runtime.trim_heap()
    before = resident_bytes()
    high_water_reset()
    started = time.perf_counter()
    result = step(store)
    seconds = time.perf_counter() - started
    return high_water() - before, seconds, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (each variant once a round)")
    parser.add_argument("--against", help="another tree's auditids.py, run alternately with this one's")
    parser.add_argument("--chunk-rows", help="comma-separated auditids._CHUNK_ROWS to run this tree with")
    args = parser.parse_args()
    runtime.interactive()  # the explorer's settings, as store_scale.py
    evaluator = shared.load_policy_or_exit(str(shared.DEMO_POLICY))
    assert evaluator is not None
    started = time.perf_counter()
    loader = shared.StoreLoader(shared.expand_sources([str(bench_log(args.events))]), evaluator)
    store = loader.load_all()
    events = len(store)
    print(f"loaded {events:,} events in {time.perf_counter() - started:.1f} s", flush=True)
    real, ahead._request_columns = ahead._request_columns, lambda store: None  # type: ignore[assignment]
    try:
        assert not ahead.prepare(store)  # the steps before this one, as the explorer runs them
    finally:
        ahead._request_columns = real  # type: ignore[assignment]
    variants = {"this tree": step_with(auditids)}
    if args.chunk_rows:
        variants = {f"chunk {rows}": step_with(auditids, int(rows)) for rows in args.chunk_rows.split(",")}
    if args.against:
        variants["against"] = step_with(load_module(args.against))
    peaks: dict[str, list[int]] = {name: [] for name in variants}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeat):
        results = {}
        for name, step in variants.items():
            peak, seconds, results[name] = measured(store, step)
            peaks[name].append(peak)
            times[name].append(seconds)
        _same(*results.values())
        del results
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}, {events:,} events")
    for name in variants:
        print(
            f"{name:>13}: peak p50 {statistics.median(peaks[name]) / events:.1f} B/event "
            f"({', '.join(f'{p / events:.1f}' for p in peaks[name])}), "
            f"time p50 {statistics.median(times[name]):.2f} s ({', '.join(f'{t:.2f}' for t in times[name])})"
        )
    if args.against:
        for name in variants.keys() - {"against"}:
            ratios = [mine / theirs for mine, theirs in zip(times[name], times["against"], strict=True)]
            print(f"time ratio {name}/against per round: p50 {statistics.median(ratios):.2f}")
    return 0


def _same(*results: tuple[Any, list[bool]]) -> None:
    """The variants built the same index and answers."""
    (first, answers), *others = results
    for other, other_answers in others:
        assert other_answers == answers
        assert (other.rows, other.requests, other.exact, other.long) == (
            first.rows,
            first.requests,
            first.exact,
            first.long,
        )
        assert (other.request == first.request).all()


if __name__ == "__main__":
    raise SystemExit(main())
