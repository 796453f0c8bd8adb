"""Each filter index's real peak against the peak `ahead.prepare` projects before building it.

    python benchmarks/index_peaks.py [--events N] [--distinct] [LOG]

Loads LOG (default: the generated log of N events, 1,000,000, as store_scale.py makes it) under
the demo policy, then runs `ahead.steps` one by one as `prepare` does, the free heap given back
before each, and prints its
projected peak beside the peak of resident memory sampled every millisecond while it ran, and
UNDER where the projection fell short (the memory limit would then be passed unchecked).
`--distinct` first rewrites the log so that every event has its own user name, object name and URI
(a resourceVersion), the worst case for the column indexes: cached as
/tmp/k8saudit-bench-N-distinct.jsonl.
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
import time
from pathlib import Path

import orjson
from shared import DEMO_POLICY
from store_scale import bench_log

from k8saudit_tui.commands.common import load_policy_or_exit
from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.memory import resident_bytes
from k8saudit_tui.engine.query import ahead
from k8saudit_tui.engine.store import StoreLoader


def distinct_log(log: Path, events: int) -> Path:
    """`log` with every event's user name, object name and URI its own."""
    out = Path(f"/tmp/k8saudit-bench-{events}-distinct.jsonl")
    if out.exists():
        return out
    with log.open("rb") as source, out.open("wb") as sink:
        for number, line in enumerate(source):
            event = orjson.loads(line)
            event.setdefault("user", {})["username"] = (
                f"system:serviceaccount:tenant-{number % 5000}:worker-{number:07d}"
            )
            if event.get("objectRef"):
                event["objectRef"]["name"] = f"pod-{number:07d}-x{number * 7919 % 100000:05d}"
                event["requestURI"] = event.get("requestURI", "/").split("?")[0] + f"?resourceVersion={number}"
            sink.write(orjson.dumps(event) + b"\n")
    return out


class PeakSampler:
    """The highest resident memory seen while `run` ran, sampled by a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    def run(self, work: object) -> tuple[int, float]:
        """(bytes over the resident memory before, seconds) of calling `work`."""
        gc.collect()
        runtime.trim_heap()
        before = self.peak = resident_bytes()
        self._stop.clear()
        thread = threading.Thread(target=self._sample)
        thread.start()
        started = time.perf_counter()
        work()  # type: ignore[operator]
        elapsed = time.perf_counter() - started
        self._stop.set()
        thread.join()
        return self.peak - before, elapsed

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, resident_bytes())
            time.sleep(0.001)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", type=Path)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--distinct", action="store_true", help="every event its own user, name and URI")
    args = parser.parse_args()
    log = args.log or bench_log(args.events)
    if args.distinct:
        log = distinct_log(log, args.events)
    runtime.interactive()
    loader = StoreLoader(expand_sources([str(log)]), load_policy_or_exit(str(DEMO_POLICY)))
    for _ in loader.run():
        pass
    store = loader.store
    print(
        f"{log}: {len(store):,} events; distinct users {len(store.values('user')):,}, names "
        f"{len(store.values('name')):,}, URIs {len(store.values('uri')):,}, requests {len(store.values('attr')):,}"
    )
    sampler, short = PeakSampler(), 0
    for step in ahead.steps(store):
        projected = step.peak()
        real, elapsed = sampler.run(step.build)
        short += real > projected
        verdict = "UNDER" if real > projected else "ok"
        peaks = f"peak {real >> 20:6,} MB, projected {projected >> 20:6,} MB"
        print(f"  {step.label:24s} {peaks}  {verdict:5s} {elapsed:6.2f} s")
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
