"""Benchmark: first load against reopening the store's index (issue 15, "reopen in a second").

    python benchmarks/cache.py [--events N ...] [--repeat R] [--no-append]

For each size (default 100,000 and 1,000,000 events; the log is /tmp/k8saudit-bench-N.jsonl when
it exists, else generated under benchmarks/out/), in a private temporary XDG_CACHE_HOME:
- headless: a store loaded through the index cache (`StoreLoader(..., cache=StoreCache())`, what
  `export --format parquet` and the commands reading cloud envelopes do; `top`, `evaluate` and a
  jsonl/csv/json `export` of a raw log stream without a store, so without an index), timed from
  process start, with an empty cache (first load, which saves the index) and with the index
  (reopen), run alternately R times each (default 3; under CPU contention the p50 of alternate
  runs is the fair ratio), with the CPU seconds of the process tree and its peak resident memory;
- the explorer's engine side: Session.load (the load or reopen, then query.prepare's filter
  indexes, built or reopened), from process start, without Textual;
- explorer: the Textual app (headless, as `benchmarks/tui.py` and the UI tests run it) from
  process start until its main screen has stopped loading: the store loaded or reopened, and
  the filter indexes (query.prepare) built or reopened;
- appended: the log copied, loaded once, then 1% more events appended before each reopen, which
  reads only those bytes (the first load's figure beside it).
Prints one line per figure, and the index's size on disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared import DEMO_POLICY, ROOT, generated_log

CHILD_EXPLORER = """
import asyncio, sys, time
from k8saudit_tui.ui.launch import explorer_imports
ExplorerApp, open_session = explorer_imports()  # as the app imports them (launch.run_tui)
from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.ui.screens.main_screen import MainScreen

async def main():
    session = open_session(sys.argv[1], [sys.argv[2]])
    session.cache = None if sys.argv[3] == "no-cache" else StoreCache()
    app = ExplorerApp(session)
    async with app.run_test(size=(120, 36)):
        while not isinstance(app.screen_stack[-1], MainScreen) or app.screen_stack[-1].is_loading:
            await asyncio.sleep(0.02)
        filterable = time.time()
    print(filterable, session.total, session.cache.last if session.cache else "")

asyncio.run(main())
"""
"""The explorer (Textual, headless as its tests run it) until its screen is no longer loading:
the store loaded or reopened, and the filter indexes built or reopened."""


CHILD_STORE = """
import sys
from k8saudit_tui.commands.common import load_policy_or_exit
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.store import StoreLoader
from k8saudit_tui.engine.store.cache import StoreCache
cache = StoreCache()
store = StoreLoader(expand_sources([sys.argv[2]]), load_policy_or_exit(sys.argv[1]), cache=cache).load_all()
print(len(store), cache.last)
"""
"""A headless store load through the index cache (no filter indexes, no Textual)."""


CHILD_SESSION = """
import sys, threading, time
from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.ui.session import open_session
session = open_session(sys.argv[1], [sys.argv[2]])
session.cache = StoreCache()
for _ in session.load(threading.Event()):
    pass
filterable = time.time()
session.save_index()
print(filterable, session.total, session.cache.last)
"""
"""The explorer's engine side alone: Session.load (the store and the filter indexes), no Textual,
then the index written as the explorer writes it once its screen shows everything; it prints the
clock time at which the events were filterable, before the index was written."""


def _log(events: int) -> Path:
    bench = Path(tempfile.gettempdir()) / f"k8saudit-bench-{events}.jsonl"
    return bench if bench.exists() else generated_log(events)


def _run(argv: list[str], environment: dict[str, str]) -> tuple[float, float, float, str, float]:
    """Wall seconds from process start, CPU seconds of the process and its workers, their peak
    resident memory (MB), the stdout of one run, and the clock time it started (`_filterable`)."""
    started, clock = time.perf_counter(), time.time()
    child = subprocess.Popen(
        [sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, env=environment
    )
    assert child.stdout is not None
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(argv)} failed with status {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output.strip(), clock


def _filterable(output: str, clock: float) -> float:
    """Seconds from `clock` (a run's start) until its events were filterable (the children print
    that clock time first)."""
    return float(output.split()[0]) - clock


def _store(log: Path) -> list[str]:
    return ["-c", CHILD_STORE, str(DEMO_POLICY), str(log)]


def _explorer(log: Path, mode: str = "cache") -> list[str]:
    return ["-c", CHILD_EXPLORER, str(DEMO_POLICY), str(log), mode]


def _session(log: Path) -> list[str]:
    return ["-c", CHILD_SESSION, str(DEMO_POLICY), str(log)]


def _clear(cache: Path) -> None:
    shutil.rmtree(cache / "k8saudit-tui", ignore_errors=True)


def _p50(values: list[float]) -> float:
    return statistics.median(values)


def _alternate(label: str, first: list[str], cache: Path, environment: dict[str, str], repeat: int) -> None:
    """`first` with an empty cache, then with the index, alternately; p50 of each."""
    cold: list[tuple[float, float, float]] = []
    warm: list[tuple[float, float, float]] = []
    filterable: list[float] = []  # the explorer's: until filterable, before the index is written
    reopened: list[float] = []
    for _ in range(repeat):
        _clear(cache)
        wall, cpu, peak, output, clock = _run(first, environment)
        cold.append((wall, cpu, peak))
        if first[1] in (CHILD_SESSION, CHILD_EXPLORER):
            filterable.append(_filterable(output, clock))
        wall, cpu, peak, output, clock = _run(first, environment)
        warm.append((wall, cpu, peak))
        if first[1] in (CHILD_SESSION, CHILD_EXPLORER):
            reopened.append(_filterable(output, clock))
    cold_wall, warm_wall = _p50([c[0] for c in cold]), _p50([w[0] for w in warm])
    if filterable:
        print(
            f"  {label}: filterable after p50 {_p50(filterable):.2f} s (first load), {_p50(reopened):.2f} s "
            f"(reopen); the index is written after that",
            flush=True,
        )
    print(
        f"  {label}: first load p50 {cold_wall:.2f} s wall, {_p50([c[1] for c in cold]):.2f} s CPU, "
        f"peak {max(c[2] for c in cold):.0f} MB; reopen p50 {warm_wall:.2f} s wall "
        f"(runs {', '.join(f'{w[0]:.2f}' for w in warm)}), {_p50([w[1] for w in warm]):.2f} s CPU, "
        f"peak {max(w[2] for w in warm):.0f} MB; {cold_wall / warm_wall:.0f}x",
        flush=True,
    )


def _appended(log: Path, cache: Path, environment: dict[str, str], repeat: int) -> None:
    """The explorer's Session.load after appending 1% more events each time (only the new bytes
    are parsed, and the filter indexes extended)."""
    from k8saudit_tui.sample import write_log

    events = int(log.stem.rsplit("-", 1)[-1]) if log.stem.rsplit("-", 1)[-1].isdigit() else 100_000
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / "audit.log"
        shutil.copyfile(log, copy)
        more = Path(directory) / "more.log"
        write_log(more, max(1, events // 100), seed=99, start="2026-11-30T00:00:00Z")
        extra = more.read_bytes()
        _clear(cache)
        first = _run(_session(copy), environment)
        grown, filterable = [], []
        for _ in range(repeat):
            with open(copy, "ab") as handle:
                handle.write(extra)
            grown.append(_run(_session(copy), environment))
            filterable.append(_filterable(grown[-1][3], grown[-1][4]))
        print(
            f"  appended {max(1, events // 100):,} events ({len(extra) / 1e6:.1f} MB) to the indexed log: "
            f"reopen p50 {_p50([g[0] for g in grown]):.2f} s wall (filterable after {_p50(filterable):.2f} s, "
            f"then the index written), {_p50([g[1] for g in grown]):.2f} s CPU (first load {first[0]:.2f} s)",
            flush=True,
        )


def _index_size(cache: Path) -> float:
    return sum(path.stat().st_size for path in (cache / "k8saudit-tui").rglob("*") if path.is_file()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="alternate runs of each (p50 printed)")
    parser.add_argument("--no-append", action="store_true", help="skip the appended-log runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="k8saudit-cache-bench-") as directory:
        cache = Path(directory)
        environment = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(ROOT)}
        for events in args.events:
            log = _log(events)
            print(f"{events:,} events: {log} ({log.stat().st_size / 1e6:.0f} MB)", flush=True)
            _alternate("headless store load (StoreLoader)", _store(log), cache, environment, args.repeat)
            print(f"  index on disk: {_index_size(cache):.0f} MB", flush=True)
            fewer = max(1, args.repeat - 1)
            _alternate("explorer's Session.load (no Textual)", _session(log), cache, environment, fewer)
            _alternate("explorer (Textual) to fully loaded", _explorer(log), cache, environment, fewer)
            if not args.no_append:
                _appended(log, cache, environment, fewer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
