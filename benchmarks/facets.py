"""Benchmark facets (top values in events and requests) on a large log.

    python benchmarks/facets.py LOG [--policy POLICY] [--repeat R]

Loads LOG once (with the demo policy by default, so rule and level count), builds the rows-by-auditID
index once (timed apart: once per store), then times each field of `top --by` and all nine together,
over every row and over a filter's rows. Target: all nine < 100 ms at 1M events.
"""

from __future__ import annotations

import argparse
import sys
import time

from shared import DEMO_POLICY, load_store, time_runs  # also puts the checkout on sys.path

from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.query.facets import TOP_FIELDS, facet, facets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", help="audit log (JSON lines)")
    parser.add_argument("--policy", default=DEMO_POLICY, help="policy file (default: the bundled demo policy)")
    parser.add_argument("--repeat", type=int, default=10, help="runs per measure for p50/p95")
    args = parser.parse_args()
    store = load_store(args.log, args.policy)
    if store is None:
        return 2
    started = time.perf_counter()
    first = facet(store, "verb")
    print(f"first facet (builds the rows-by-auditID index, once per store): {time.perf_counter() - started:.3f} s")
    print(f"requests: {first.requests:,}")
    for label, rows in (("all rows", None), ("filter 'verb:get,list,watch'", compile_filter("verb:get,list,watch"))):
        selection = None if rows is None else rows.apply(store)
        print(f"-- {label}: {len(store) if selection is None else len(selection):,} rows")
        for name in TOP_FIELDS:
            time_runs(f"{name:>8}", lambda name=name, selection=selection: facet(store, name, selection), args.repeat)
        time_runs("all nine", lambda selection=selection: facets(store, TOP_FIELDS, selection), args.repeat)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
