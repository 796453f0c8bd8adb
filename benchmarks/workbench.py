"""Benchmark the TUI's workbench (issue 13): loading a candidate policy into a loaded store.

    python benchmarks/workbench.py LOG [--policy POLICY] [--candidate CANDIDATE] [--repeat R] [--bytes]

Loads LOG through the explorer's `Session` (as the TUI does), then times what `P` runs once the
path is typed: reading the candidate and evaluating every event under it (`Session.load_candidate`,
i.e. `EventStore.set_candidate`), then the counts the screen repaints (the change counts, with
the security classes and drift of the `W` panel, and the policy pane's hits and written events
per rule). Target at 1M events: < 300 ms from `set_candidate` to repainted counts. `--bytes`
also times the panel's byte count (a worker: the panel shows "counting..." meanwhile).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from k8saudit_tui.engine.workbench.changes import change_counts
from k8saudit_tui.ui.session import open_session

ROOT = Path(__file__).resolve().parent.parent
DEMO_POLICY = str(ROOT / "k8saudit_tui" / "data" / "demo-policy.yaml")
CANDIDATE = str(ROOT / "tests" / "data" / "policies" / "kubespray-apiserver-audit-policy.yaml")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", help="audit log (JSON lines)")
    parser.add_argument("--policy", default=DEMO_POLICY, help="loaded policy (default: the bundled demo policy)")
    parser.add_argument("--candidate", default=CANDIDATE, help="candidate policy (default: kubespray's)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per measure for p50/max")
    parser.add_argument("--bytes", action="store_true", help="also time the byte count of both policies")
    args = parser.parse_args()
    session = open_session(args.policy, [args.log])
    started = time.perf_counter()
    for _ in session.load(threading.Event()):
        pass
    print(f"loaded {len(session.store or ()):,} events in {time.perf_counter() - started:.1f} s")

    store = session.store
    assert store is not None
    phases: dict[str, list[float]] = {
        "load_candidate (read + set_candidate)": [],
        "change counts": [],
        "to repainted counts (sum)": [],
        "W panel (security classes, drift)": [],
        "policy pane (hits, written per rule)": [],
    }
    for _ in range(args.repeat):
        store.set_candidate(None)  # the next load evaluates from scratch, with a fresh evaluator as P has
        start = time.perf_counter()
        session.load_candidate(args.candidate)
        evaluated = time.perf_counter()
        changes = change_counts(store)
        counted = time.perf_counter()
        summary = session.workbench_summary()
        panel = time.perf_counter()
        session.rule_stats()
        session.rule_stats(candidate=True)
        done = time.perf_counter()
        assert summary is not None
        phases["load_candidate (read + set_candidate)"].append(evaluated - start)
        phases["change counts"].append(counted - evaluated)
        phases["to repainted counts (sum)"].append(counted - start)
        phases["W panel (security classes, drift)"].append(panel - counted)
        phases["policy pane (hits, written per rule)"].append(done - panel)
    for name, times in phases.items():
        print(f"{name:<40} p50 {1000 * statistics.median(times):7.1f} ms   max {1000 * max(times):7.1f} ms")
    print(f"changes: {changes.as_dict()}")
    verdict = "PASS" if statistics.median(phases["to repainted counts (sum)"]) < 0.3 else "FAIL"
    print(f"target < 300 ms to repainted counts: {verdict}")
    if args.bytes:
        start = time.perf_counter()
        costs = session.policy_costs(threading.Event())
        assert costs is not None and costs.candidate is not None
        print(
            f"bytes of both policies (panel worker): {time.perf_counter() - start:.1f} s "
            f"(current {costs.current.bytes:,}, candidate {costs.candidate.bytes:,})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
