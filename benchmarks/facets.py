"""Benchmark facets (top values in events and requests) on a large log.

    python benchmarks/facets.py LOG [--policy POLICY] [--repeat R]

Loads LOG once (with the demo policy by default, so rule and level count), builds the rows-by-auditID
index once (timed apart: once per store), then times each field of `top --by` and all nine together,
over every row and over a filter's rows. Target: all nine < 100 ms at 1M events.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from k8saudit_tui.commands.common import load_policy_or_exit
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.query.facets import TOP_FIELDS, facet, facets
from k8saudit_tui.engine.store import StoreLoader

DEMO_POLICY = str(Path(__file__).resolve().parent.parent / "k8saudit_tui" / "data" / "demo-policy.yaml")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", help="audit log (JSON lines)")
    parser.add_argument("--policy", default=DEMO_POLICY, help="policy file (default: the bundled demo policy)")
    parser.add_argument("--repeat", type=int, default=10, help="runs per measure for p50/p95")
    args = parser.parse_args()
    evaluator = load_policy_or_exit(args.policy)
    if evaluator is None:
        return 2
    started = time.perf_counter()
    store = StoreLoader(expand_sources([args.log]), evaluator).load_all()
    print(f"loaded {len(store):,} events in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    first = facet(store, "verb")
    print(f"first facet (builds the rows-by-auditID index, once per store): {_ms(time.perf_counter() - started)}")
    print(f"requests: {first.requests:,}")
    for label, rows in (("all rows", None), ("filter 'verb:get,list,watch'", compile_filter("verb:get,list,watch"))):
        selection = None if rows is None else rows.apply(store)
        print(f"-- {label}: {len(store) if selection is None else len(selection):,} rows")
        for name in TOP_FIELDS:
            _time(f"{name:>8}", lambda name=name, selection=selection: facet(store, name, selection), args.repeat)
        _time("all nine", lambda selection=selection: facets(store, TOP_FIELDS, selection), args.repeat)
    store.close()
    return 0


def _time(label: str, run: object, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"{label}: p50 {_ms(statistics.median(times))}, p95 {_ms(p95)}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


if __name__ == "__main__":
    sys.exit(main())
