"""How loading scales: load time and CPU, bytes an event and memory peaks at 100k, 1M and 3M events
(10M with --ten-million), each size measured in a fresh interpreter so no size inherits another's heap.

    python benchmarks/store_scale.py [--ten-million] [--sizes 100000,1000000] [--repeat R] [--breakdown]

CPU is parent + parser workers (getrusage of this process and its waited-for children): on a
shared machine it is the figure that does not move with the other processes' load, while wall time
does. Bytes an event are the parent's resident memory over the events, whole (with the interpreter
and its imports) and marginal (minus what was resident before loading). The tree's peak is sampled
after every batch (`memory.tree_resident_mb`, what the memory limit reads). Logs come from the
project's generator as /tmp/k8saudit-bench-N.jsonl (made once; a bigger one's first N lines are
taken when it exists, which is much faster than generating). Filters are timed as the explorer
runs them: its process settings (`runtime.interactive`), the loaded store frozen, and the view order
built (the explorer shows the unfiltered log first), the free heap kept or given back
(`runtime.after_first_view`). Each run
drops the term's cached table and the places of the words found before (a word typed afresh, not
the next letter of the last one), and the first run after loading counts: p95 and p50 of wall and
CPU time over all runs, the first run on its own, and the system time (page faults) of each.
Bare words a user may type are timed beside the field terms (WORDS): a user name fragment, a
namespace, `kube-system`, a verb, a word found nowhere, one and two letters.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import shared

SIZES = (100_000, 1_000_000, 3_000_000)
TEN_MILLION = 10_000_000
FILTERS = ("user:~alice", "ns:kube-system verb:create,update", "leases", "!stage:RequestReceived code:4xx")
WORDS = ("alice", "payments", "kube-system", "create", "zzqx", "ku", "k", "coredns", "worker-08")
"""Bare words beside `leases`: user fragment, namespace, kube-system, verb, nothing, 2 and 1 letters, names."""


def bench_log(events: int) -> Path:
    """/tmp/k8saudit-bench-N.jsonl, generated once (or cut from a bigger one)."""
    path = Path(tempfile.gettempdir()) / f"k8saudit-bench-{events}.jsonl"
    if path.exists():
        return path
    bigger = sorted(
        (int(p.stem.rsplit("-", 1)[1]), p)
        for p in Path(tempfile.gettempdir()).glob("k8saudit-bench-*.jsonl")
        if p.stem.rsplit("-", 1)[1].isdigit() and int(p.stem.rsplit("-", 1)[1]) > events
    )
    partial = path.with_suffix(".part")
    if bigger:
        print(f"taking the first {events:,} lines of {bigger[0][1]} ...", file=sys.stderr, flush=True)
        with open(bigger[0][1], "rb") as source, open(partial, "wb") as target:
            for _, line in zip(range(events), source):
                target.write(line)
    else:
        from k8saudit_tui.sample import write_log

        print(f"generating {events:,} events into {path} ...", file=sys.stderr, flush=True)
        write_log(partial, events)
    partial.rename(path)
    return path


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def measure(log: str, repeat: int, breakdown: bool = False) -> dict[str, Any]:
    """Load `log` under the demo policy in this process; the figures as a dict (one JSON line)."""
    from k8saudit_tui.commands.common import load_policy_or_exit
    from k8saudit_tui.engine import runtime
    from k8saudit_tui.engine.memory import resident_bytes, tree_resident_mb
    from k8saudit_tui.engine.query import compile_filter, prepare
    from k8saudit_tui.engine.runtime import freeze_loaded, interactive

    # what the explorer does once its first view is painted (older versions gave the heap back)
    after_first_view = getattr(runtime, "after_first_view", lambda events: runtime.release_memory())
    from k8saudit_tui.engine.store import StoreLoader

    interactive()  # what the explorer sets before it loads (ui/app.py)
    evaluator = load_policy_or_exit(str(shared.DEMO_POLICY))
    assert evaluator is not None
    from k8saudit_tui.engine.logs.sources import expand_sources

    gc.collect()
    before = resident_bytes()
    cpu_before = _cpu()
    started = time.perf_counter()
    loader = StoreLoader(expand_sources([log]), evaluator)
    peak = 0
    for _ in loader.run():
        peak = max(peak, tree_resident_mb())
    wall = time.perf_counter() - started
    cpu_after = _cpu()
    store = loader.store
    events = len(store)
    gc.collect()
    loaded = resident_bytes()
    started = time.perf_counter()
    if "memory_limit_mb" in inspect.signature(prepare).parameters:  # an older tree takes no limit
        left = prepare(store, loader.memory_limit_mb)  # what the explorer builds once loaded (ui/session.py)
        assert not left, left  # a figure over indexes left unbuilt would mislead
    else:
        prepare(store)
    prepared = time.perf_counter() - started
    freeze_loaded()  # as the explorer does when loading ends (ui/screens/main_screen.py)
    store.view_order()  # the unfiltered view the explorer shows before any filter (10M: ~0.2 s once)
    after_first_view(events)  # and what it does once that is painted (ui/session.py)
    indexed = resident_bytes()  # a big log's free heap kept for the filters included
    if breakdown:  # where the bytes go (store_breakdown.py), on stderr: stdout is the JSON line
        import store_breakdown

        resident = {"before": before, "loaded - before": loaded - before, "indexed - before": indexed - before}
        print(store_breakdown.report(store, resident), file=sys.stderr, flush=True)
    runs = {}
    for text in sorted((*FILTERS, *WORDS), key=lambda text: text != "leases"):  # a bare word first: the cold run
        times, cpu, system = [], [], []
        for _ in range(repeat):
            _fresh_word(store)
            begun, begun_cpu, begun_usage = time.perf_counter(), time.thread_time(), _thread_usage()
            compile_filter(text).apply(store)
            times.append(time.perf_counter() - begun)
            cpu.append(time.thread_time() - begun_cpu)
            system.append(_thread_usage().ru_stime - begun_usage.ru_stime)
        runs[text] = {"wall": times, "cpu": cpu, "system": system}
    filters = [_p95(runs[text]["wall"]) for text in FILTERS]
    filters_cpu = [_p95(runs[text]["cpu"]) for text in FILTERS]
    medians = [statistics.median(runs[text]["cpu"]) for text in FILTERS]
    filtered = resident_bytes()
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        "events": events,
        "wall": wall,
        "cpu_parent": cpu_after[0] - cpu_before[0],
        "cpu_workers": cpu_after[1] - cpu_before[1],
        "before": before,
        "loaded": loaded,
        "indexed": indexed,
        "prepare": prepared,
        "peak_tree": peak << 20,
        "peak_parent": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "peak_worker": children_peak,
        "filter_p95": max(filters),
        "filter_p95_cpu": max(filters_cpu),
        "slowest_filter": FILTERS[filters_cpu.index(max(filters_cpu))],
        "per_filter": dict(zip(FILTERS, zip(filters, filters_cpu, medians))),
        "runs": runs,
        "filtered": filtered,
        "arrays": store.memory_bytes(),
    }


def _fresh_word(store: object) -> None:
    """Forget what earlier runs of a term left: its code tables (`match_cache` entries other than
    the indexes) and the places of the words searched before (`SearchText.recent`, kept so that
    the next letter of a word narrows them), so each run searches the texts as a new word does."""
    cache = store.match_cache  # type: ignore[attr-defined]
    for key in [k for k in cache if k[0] != "joined"]:
        del cache[key]
    for entry in cache.values():
        for search in (entry, getattr(entry, "pieces", None)):
            recent = getattr(search, "recent", None)
            if isinstance(recent, dict):
                recent.clear()


def _thread_usage() -> resource.struct_rusage:
    return resource.getrusage(resource.RUSAGE_THREAD)


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def report(figures: dict[str, Any]) -> str:
    """One size's figures in words."""
    n = figures["events"]
    cpu = figures["cpu_parent"] + figures["cpu_workers"]
    grown = figures["loaded"] - figures["before"]
    grown_indexed = figures["indexed"] - figures["before"]
    return (
        f"{n:>10,} events: load {figures['wall']:.2f} s wall, {cpu:.2f} CPU-s "
        f"(parent {figures['cpu_parent']:.2f} + workers {figures['cpu_workers']:.2f}) = "
        f"{cpu / n * 1e6:.2f} CPU-s per million (target <= 4)\n"
        f"{'':>18}resident: loaded {figures['loaded'] / 1e6:.0f} MB = {figures['loaded'] / n:.0f} B/event "
        f"({grown / n:.0f} B/event over the {figures['before'] / 1e6:.0f} MB before loading); with the "
        f"filter indexes {figures['indexed'] / 1e6:.0f} MB = {figures['indexed'] / n:.0f} B/event "
        f"({grown_indexed / n:.0f} marginal; target <= 120), built in {figures['prepare']:.2f} s\n"
        f"{'':>18}peaks: process tree {figures['peak_tree'] / 1e6:.0f} MB (sampled per batch), parent "
        f"{figures['peak_parent'] / 1e6:.0f} MB, largest worker {figures['peak_worker'] / 1e6:.0f} MB; "
        f"column arrays {figures['arrays'] / 1e6:.0f} MB; slowest filter p95 {figures['filter_p95'] * 1000:.0f} ms "
        f"({figures['filter_p95_cpu'] * 1000:.0f} ms CPU, {figures.get('slowest_filter', '?')!r})\n"
        f"{'':>18}filters, ms p95 wall/CPU (CPU p50): "
        + ", ".join(
            f"{text!r} {wall * 1e3:.0f}/{cpu * 1e3:.0f} ({median * 1e3:.0f})"
            for text, (wall, cpu, median) in figures["per_filter"].items()
        )
        + _runs_report(figures)
    )


def _runs_report(figures: dict[str, Any]) -> str:
    """Each filter's runs (the first, cold one included): p50/p95 wall and CPU, the first run, and
    system time (page faults), in ms; then resident memory after every filter ran."""
    if "runs" not in figures:
        return ""
    lines = [
        f"{'':>18}each filter {len(next(iter(figures['runs'].values()))['wall'])} runs as a new word, "
        "the first after loading included; ms wall p50/p95 | CPU p50/p95 | first run wall/CPU/system:"
    ]
    for text, runs in figures["runs"].items():
        wall, cpu, system = runs["wall"], runs["cpu"], runs["system"]
        lines.append(
            f"{'':>20}{text!r:<38} {statistics.median(wall) * 1e3:4.0f}/{_p95(wall) * 1e3:4.0f} | "
            f"{statistics.median(cpu) * 1e3:4.0f}/{_p95(cpu) * 1e3:4.0f} | "
            f"{wall[0] * 1e3:4.0f}/{cpu[0] * 1e3:4.0f}/{system[0] * 1e3:4.0f}"
            + ("  over 100 ms p95" if _p95(wall) > 0.1 else "")
        )
    lines.append(f"{'':>18}resident after the filters: {figures['filtered'] / 1e6:.0f} MB")
    return "\n" + "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ten-million", action="store_true", help="also 10M events (a 9 GB log in /tmp)")
    parser.add_argument("--sizes", help="comma-separated event counts instead of 100k, 1M, 3M")
    parser.add_argument("--runs", type=int, default=1, help="runs per size (the median run is printed)")
    parser.add_argument("--repeat", type=int, default=20, help="runs per filter for the p95 (the first included)")
    parser.add_argument("--breakdown", action="store_true", help="also print where each size's bytes go")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child's side: one log, JSON out
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat, args.breakdown)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [*SIZES]
    if args.ten_million:
        sizes.append(TEN_MILLION)
    return run(sizes, args.runs, args.repeat, args.breakdown)


def run(sizes: list[int], runs: int, repeat: int, breakdown: bool = False) -> int:
    """Measure each size in a fresh interpreter, `runs` times, and print the median run (by CPU)."""
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for events in sizes:
        log = bench_log(events)
        results = []
        for _ in range(runs):
            child = subprocess.run(
                [sys.executable, __file__, "--measure", str(log), "--repeat", str(repeat)]
                + (["--breakdown"] if breakdown else []),
                stdout=subprocess.PIPE,
                stderr=None if breakdown else subprocess.PIPE,
                text=True,
                check=True,
            )
            results.append(json.loads(child.stdout.strip().splitlines()[-1]))
        cpu = [r["cpu_parent"] + r["cpu_workers"] for r in results]
        print(report(results[cpu.index(statistics.median_low(cpu))]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
