"""Benchmark the event store on a large log and print the figures issue #3 asks for.

    python benchmarks/store.py [LOG] [--policy POLICY] [--events N] [--repeat R]
    python benchmarks/store.py --scale [--ten-million]

--scale prints how loading grows with size instead: load wall time and CPU (parent + workers),
bytes an event with and without the filter indexes, and memory peaks at 100k, 1M and 3M events
(10M with --ten-million), each in a fresh process (store_scale.py).

Without LOG, a log of --events events is generated with k8saudit_tui.sample into a
temporary file. Run it twice for a warm page cache; the plain-orjson baseline reads the same file.
Targets: load <= 1.0x the orjson parse, first 1,000 events < 0.3 s, RSS < 250 MB with 1M events,
filters p95 < 30 ms, export of 100k filtered events as jsonl < 1 s.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import orjson

from k8saudit_tui.engine.export import export_rows
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import GroupResources, Policy, PolicyRule
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import compile_filter, prepare
from k8saudit_tui.engine.runtime import release_memory
from k8saudit_tui.engine.store import StoreLoader

FILTERS = ("user:~alice", "ns:kube-system verb:create,update", "leases", "!stage:RequestReceived code:4xx")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", nargs="?", help="audit log (JSON lines); generated when omitted")
    parser.add_argument("--policy", help="policy file (default: a built-in policy like the docs example)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to generate without LOG")
    parser.add_argument("--repeat", type=int, default=20, help="runs per filter for the p95")
    parser.add_argument("--scale", action="store_true", help="figures at 100k, 1M and 3M events (store_scale.py)")
    parser.add_argument("--ten-million", action="store_true", help="with --scale: 10M events too (9 GB in /tmp)")
    args = parser.parse_args()
    if args.scale:
        import store_scale

        sizes = [*store_scale.SIZES, store_scale.TEN_MILLION] if args.ten_million else list(store_scale.SIZES)
        return store_scale.run(sizes, runs=1, repeat=args.repeat)
    log = args.log or _generate(args.events)
    if log is None:
        return 2
    evaluator = _evaluator(args.policy)
    size = os.path.getsize(log)
    print(f"log: {log} ({size / 1e6:.0f} MB)")
    baseline = _orjson_baseline(log)
    first, total, store = _load(log, evaluator)
    print(f"plain orjson parse of every line: {baseline:.2f} s")
    print(f"load + evaluate {len(store):,} events: {total:.2f} s = {total / baseline:.2f}x orjson (target <= 1.0x)")
    print(f"first 1,000 events available: {first:.3f} s (target < 0.3 s)")
    gc.collect()
    print(
        f"resident memory with the store loaded: {_rss_mb():.0f} MB (target < 250 MB); "
        f"column arrays {store.memory_bytes() / 1e6:.0f} MB capacity"
    )
    started = time.perf_counter()
    prepare(store)  # what the explorer builds once loaded, before anyone types (ui/session.py)
    release_memory()
    print(
        f"explorer's filter indexes (query.prepare): {time.perf_counter() - started:.2f} s; "
        f"resident memory with them: {_rss_mb():.0f} MB"
    )
    _filters(store, args.repeat)
    _export(store)
    store.close()
    return 0


def _generate(events: int) -> str | None:
    try:
        import k8saudit_tui.sample as samplegen
    except ImportError:
        print(
            "no LOG given and k8saudit_tui.sample is not available: pass a log file, e.g. one from\n"
            "  python tools/gen_audit_log.py --events 1000000 -o /tmp/audit-1m.jsonl",
            file=sys.stderr,
        )
        return None
    path = os.path.join(tempfile.gettempdir(), f"k8saudit-bench-{events}.jsonl")
    if not os.path.exists(path):
        print(f"generating {events:,} events into {path} ...", file=sys.stderr)
        samplegen.write_log(path, events)
    return path


def _evaluator(path: str | None) -> PolicyEvaluator:
    if path:
        from k8saudit_tui.engine.policy.loader import load_policy_file

        loaded = load_policy_file(path)
        if loaded.policy is None:
            raise SystemExit(f"{path}: policy cannot be used")
        return PolicyEvaluator(loaded.policy)
    core = ""
    return PolicyEvaluator(
        Policy(
            rules=(
                PolicyRule(
                    level="None",
                    users=("system:kube-proxy",),
                    verbs=("watch",),
                    resources=(GroupResources(core, ("endpoints", "services", "services/status")),),
                ),
                PolicyRule(
                    level="None",
                    user_groups=("system:nodes",),
                    verbs=("get",),
                    resources=(GroupResources(core, ("nodes", "nodes/status")),),
                ),
                PolicyRule(level="None", non_resource_urls=("/healthz*", "/version", "/livez", "/readyz")),
                PolicyRule(level="Metadata", resources=(GroupResources(core, ("secrets", "configmaps")),)),
                PolicyRule(level="Request", verbs=("get", "list", "watch")),
                PolicyRule(level="RequestResponse", resources=(GroupResources(core, ()), GroupResources("apps", ()))),
                PolicyRule(level="Metadata", omit_stages=("RequestReceived",)),
            )
        )
    )


def _orjson_baseline(log: str) -> float:
    """A plain single-process parse of every line (the reference the load is compared with)."""
    gc.collect()
    started = time.perf_counter()
    with open(log, "rb") as handle:
        for line in handle:
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                pass
    return time.perf_counter() - started


def _load(log: str, evaluator: PolicyEvaluator) -> tuple[float, float, object]:
    started = time.perf_counter()
    loader = StoreLoader(expand_sources([log]), evaluator)
    first = None
    for progress in loader.run():
        if first is None and progress.events >= 1000:
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    return first or total, total, loader.store


def _filters(store, repeat: int) -> None:  # type: ignore[no-untyped-def]
    for text in FILTERS:
        cold = []
        warm = []
        for _ in range(repeat):
            for key in [k for k in store.match_cache if k[0] != "joined"]:
                del store.match_cache[key]  # per-term results; keep the indexes `prepare` built
            started = time.perf_counter()
            rows = compile_filter(text).apply(store)
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            compile_filter(text).apply(store)
            warm.append(time.perf_counter() - started)
        print(
            f"filter {text!r}: {len(rows):,} rows; p95 {_p95(cold) * 1000:.1f} ms "
            f"(median {statistics.median(cold) * 1000:.1f}); repeated (term results cached) "
            f"p95 {_p95(warm) * 1000:.1f} ms (target p95 < 30 ms)"
        )


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def _export(store) -> None:  # type: ignore[no-untyped-def]
    rows = compile_filter("!stage:RequestReceived").apply(store)[:100_000]
    with tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / "export.jsonl"
        started = time.perf_counter()
        result = export_rows(store, rows, "jsonl", target)
        took = time.perf_counter() - started
    print(
        f"export {result.count:,} filtered events as jsonl ({result.bytes / 1e6:.0f} MB): {took:.2f} s (target < 1 s)"
    )


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    raise SystemExit(main())
