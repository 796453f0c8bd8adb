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
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from k8saudit_tui.commands.common import load_policy_or_exit
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import compile_filter, prepare
from k8saudit_tui.engine.query.facets import TOP_FIELDS, facets
from k8saudit_tui.engine.query.timeline import store_timeline
from k8saudit_tui.engine.store import StoreLoader

DEMO_POLICY = str(Path(__file__).resolve().parent.parent / "k8saudit_tui" / "data" / "demo-policy.yaml")
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
    evaluator = load_policy_or_exit(args.policy)
    if evaluator is None:
        return 2
    started = time.perf_counter()
    store = StoreLoader(expand_sources([args.log]), evaluator).load_all()
    print(f"loaded {len(store):,} events in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    prepare(store)
    print(f"explorer's indexes once loaded (query.prepare): {time.perf_counter() - started:.2f} s")
    for kind, text in FILTERS:
        compiled = compile_filter(text)
        rows = len(compiled.apply(store))
        _time(f"{kind:>10} {text!r} ({rows:,} rows)", lambda c=compiled: c.apply(store), args.repeat)
    view = compile_filter("!verb:watch").apply(store)
    for label, selection in (("every row", None), (f"'!verb:watch' ({len(view):,} rows)", view)):
        _time(f"facet panel, nine fields, {label}", lambda s=selection: facets(store, TOP_FIELDS, s), args.repeat)
    every = compile_filter("").apply(store)
    for label, selection in (("every row", every), (f"'!verb:watch' ({len(view):,} rows)", view)):
        for split in ("level", "written"):
            _time(
                f"timeline, 100 cells, by {split}, {label}",
                lambda s=selection, how=split: store_timeline(store, s, 100, how),  # type: ignore[arg-type]
                args.repeat,
            )
    store.close()
    return 0


def _time(label: str, run: Callable[[], object], repeat: int) -> None:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(f"{label}: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
