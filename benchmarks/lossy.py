"""What deciding a lossy format's verdicts costs (issue 14): the store's exact decision of every
distinct request (policy.decision) against the lossy one (policy.lossy_decision, groups and stage
lost, as for GKE), run alternately over the distinct requests of a generated log; and the
verdict columns of a raw log, which build no lossy table (the figure to compare with main's).

    python benchmarks/lossy.py [LOG] [POLICY]   (default: 1M generated events, the demo policy)
"""

from __future__ import annotations

import statistics
import sys
import time

from shared import DEMO_POLICY, generated_log, load_store, time_runs

from k8saudit_tui.engine.policy.decision import AttributeCodes, PolicyDecision
from k8saudit_tui.engine.policy.lossy import GROUPS, STAGE
from k8saudit_tui.engine.policy.lossy_decision import LossyDecision

REPEAT = 7


def main() -> None:
    log = sys.argv[1] if len(sys.argv) > 1 else str(generated_log(1_000_000))
    policy = sys.argv[2] if len(sys.argv) > 2 else str(DEMO_POLICY)
    store = load_store(log, policy)
    if store is None or store.evaluator is None:
        return
    attributes = store.values("attr")
    codes = AttributeCodes()
    codes.extend(attributes)
    print(f"{len(attributes):,} distinct requests")
    evaluator = store.evaluator
    exact, lossy = [], []
    for _ in range(REPEAT):  # alternately, so that contention hits both alike
        started = time.perf_counter()
        PolicyDecision(evaluator.policy).first_rules(codes)
        exact.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        LossyDecision(evaluator, frozenset({GROUPS, STAGE})).decide(codes, 0, len(codes))
        lossy.append((time.perf_counter() - started) * 1000)
    p50_exact, p50_lossy = statistics.median(exact), statistics.median(lossy)
    print(f"exact decision: p50 {p50_exact:.1f} ms; lossy decision: p50 {p50_lossy:.1f} ms")
    print(f"lossy / exact: {p50_lossy / p50_exact:.2f}x")
    below = len(store) - 1  # not the cached full column: each run gathers
    for name in ("rule", "level", "omitted"):
        time_runs(f"raw log, column {name} (no lossy table)", lambda name=name: store.column(name, below), REPEAT)


if __name__ == "__main__":
    main()
