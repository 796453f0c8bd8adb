"""Benchmark the search features of issue 10 on a large log: time, OR, verdict fields, facets,
timeline (engine side; the keystroke-to-repaint figure is benchmarks/tui.py's).

    python benchmarks/search.py LOG [--policy POLICY] [--repeat R]

Loads LOG once with the demo policy (so written:, drift:, rule and level mean something), runs
what the explorer runs once loaded (`query.prepare`), then prints p50/p95 of each measure.
Targets at 1M events: a time filter < 10 ms, the facet panel (nine fields) < 100 ms, the
timeline < 100 ms.
"""

from __future__ import annotations

import argparse
import time

from shared import DEMO_POLICY, load_store, time_runs  # also puts the checkout on sys.path

from k8saudit_tui.engine.query import compile_filter, prepare
from k8saudit_tui.engine.query.facets import TOP_FIELDS, facets
from k8saudit_tui.engine.query.timeline import store_timeline

FILTERS = (
    ("time", "time:-15m.."),
    ("time", "time:09:00..09:30"),
    ("time", "!time:.."),
    ("latency", "latency:>1s !verb:watch"),
    ("or", "verb:delete | resource:secrets"),
    ("verdict", "written:no"),
    ("verdict", "drift:yes"),
    ("annotation", "annotation:authorization.k8s.io/decision=forbid"),
    ("fuzzy", "user:~alcie"),
    ("fuzzy", "resource:~deploymnets"),
    ("bare word", "secrte"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", help="audit log (JSON lines)")
    parser.add_argument("--policy", default=DEMO_POLICY, help="policy file (default: the bundled demo policy)")
    parser.add_argument("--repeat", type=int, default=15, help="runs per measure for p50/p95")
    args = parser.parse_args()
    store = load_store(args.log, args.policy)
    if store is None:
        return 2
    started = time.perf_counter()
    prepare(store)
    print(f"explorer's indexes once loaded (query.prepare): {time.perf_counter() - started:.2f} s")
    for kind, text in FILTERS:
        compiled = compile_filter(text)
        rows = len(compiled.apply(store))
        time_runs(f"{kind:>10} {text!r} ({rows:,} rows)", lambda c=compiled: c.apply(store), args.repeat)
    view = compile_filter("!verb:watch").apply(store)
    for label, selection in (("every row", None), (f"'!verb:watch' ({len(view):,} rows)", view)):
        time_runs(f"facet panel, nine fields, {label}", lambda s=selection: facets(store, TOP_FIELDS, s), args.repeat)
    every = compile_filter("").apply(store)
    for label, selection in (("every row", every), (f"'!verb:watch' ({len(view):,} rows)", view)):
        for split in ("level", "written"):
            time_runs(
                f"timeline, 100 cells, by {split}, {label}",
                lambda s=selection, how=split: store_timeline(store, s, 100, how),  # type: ignore[arg-type]
                args.repeat,
            )
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
