"""Where a parser worker's CPU goes: one worker's job (`batch.parse_range` over 16 MB ranges with
one persistent Encoder) run in this process over the first N lines of the benchmark log, with the
CPU time (time.process_time) of each phase per event, in microseconds.

    python benchmarks/worker_phases.py [--lines 250000] [--rounds 3]

Phases are timed by wrapping the functions that run once per flush (256 events) or per batch, so
the wrapping costs nothing measurable; decoding and splitting run per line, so they are timed in
a second pass of their own over the same ranges (marked "alone"). The figures of the best round
(least CPU) are printed: on a shared machine the others are the same work slowed down.
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shared  # first: it puts the checkout first on sys.path

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.logs import batch, encoder, split, stream_attributes

PHASES: list[tuple[Any, str, str]] = [
    (encoder.Encoder, "extract", "extract (all columns of a flush)"),
    (encoder.Encoder, "request_columns", "  request columns (strings, user, objectRef, code)"),
    (encoder.RawAnnotationCodes, "encode", "  annotations"),
    (encoder.Encoder, "finish", "finish (per batch)"),
    (encoder, "_parse_times_and_ids", "  times, latencies and auditIDs"),
    (stream_attributes.StreamAttributes, "codes", "  attributes"),
    (batch, "_decoded_block", "block: decode + checks + extract"),
]


def _wrap(owner: Any, name: str, label: str, spent: Counter[str]) -> Callable[[], None]:
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started

    setattr(owner, name, timed)
    return lambda: setattr(owner, name, original)


def one_round(tasks: list[split.Task]) -> tuple[int, Counter[str]]:
    spent: Counter[str] = Counter()
    restore = [_wrap(owner, name, label, spent) for owner, name, label in PHASES]
    state = encoder.Encoder()
    events = 0
    try:
        started = time.process_time()
        for task in tasks:
            begun = time.process_time()
            data = os.pread(_FD, task.end - task.start, task.start)
            spent["read (pread)"] += time.process_time() - begun
            begun = time.process_time()
            parsed = batch.parse_lines(data, task.start, task.file, task.final, state)
            spent["parse_lines (all but read)"] += time.process_time() - begun
            begun = time.process_time()
            pickle.dumps(parsed, protocol=5)
            spent["pickle the batch"] += time.process_time() - begun
            events += parsed.count
        spent["WORKER TOTAL"] = time.process_time() - started
    finally:
        for undo in restore:
            undo()
    for task in tasks:  # the per-line steps, timed alone
        data = os.pread(_FD, task.end - task.start, task.start)
        begun = time.process_time()
        pieces = data.split(b"\n")
        spent["(alone) split into lines"] += time.process_time() - begun
        pieces.pop()
        for start in range(0, len(pieces), batch.BLOCK_LINES):
            begun = time.process_time()
            decoded = list(map(batch._DECODE, pieces[start : start + batch.BLOCK_LINES]))
            spent["(alone) msgspec decode"] += time.process_time() - begun
            begun = time.process_time()
            del decoded
            spent["(alone) free the decoded events"] += time.process_time() - begun
    return events, spent


_FD = -1


def main() -> int:
    global _FD
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=250_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    log = shared.BENCH_LOG if shared.BENCH_LOG.exists() else shared.generated_log(args.lines)
    size = Path(log).stat().st_size
    end = split.first_lines_end(str(log), 0, size, args.lines)
    tasks = split.cut(0, str(log), 0, end)
    runtime.worker_process()
    _FD = os.open(log, os.O_RDONLY)
    rounds = [one_round(tasks) for _ in range(args.rounds)]
    events, spent = min(rounds, key=lambda result: result[1]["WORKER TOTAL"])
    print(f"{events:,} events from {log} in {len(tasks)} ranges, load average {os.getloadavg()[0]:.1f}; us an event:")
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {seconds / events * 1e6:6.2f}  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
