"""Writing generated logs to files or stdout, plain or byte-stable gzip, and the bundled demo log."""

from __future__ import annotations

import gzip as gzip_module
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.sample.generator import GenStats, SampleGenerator

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_POLICY = DATA_DIR / "demo-policy.yaml"
DEMO_LOG = DATA_DIR / "demo-audit.log"
DEMO_EVENTS = 3000
DEMO_SEED = 2026
DEMO_HOSTILE = 0.02
DEMO_RATE = 40.0


def generate_events(
    count: int,
    seed: int = 42,
    *,
    start: str = "2026-11-20T09:00:00Z",
    evaluator: PolicyEvaluator | None = None,
    hostile: float = 0.0,
    bodies: float = 0.05,
    rate: float = 600.0,
) -> Iterator[bytes]:
    """Yield `count` audit.k8s.io/v1 Event lines (bytes, no newline), deterministic for the arguments.

    With `evaluator`, levels and omitted stages follow its policy and requests at level None are not
    written (S5); without, levels are drawn: `bodies` of the requests at Request/RequestResponse.
    `hostile` is the fraction of requests carrying hostile strings; `rate` is requests per second.
    """
    return SampleGenerator(seed, start=start, evaluator=evaluator, hostile=hostile, bodies=bodies, rate=rate).events(
        count
    )


def write_events(out: IO[bytes], lines: Iterator[bytes]) -> int:
    """Write lines with a newline each, in batches; return how many."""
    written = 0
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= 4096:
            batch.append(b"")
            out.write(b"\n".join(batch))
            written += len(batch) - 1
            batch = []
    if batch:
        batch.append(b"")
        out.write(b"\n".join(batch))
        written += len(batch) - 1
    return written


def write_log(
    path: str | Path,
    count: int,
    seed: int = 42,
    *,
    start: str = "2026-11-20T09:00:00Z",
    evaluator: PolicyEvaluator | None = None,
    hostile: float = 0.0,
    bodies: float = 0.05,
    rate: float = 600.0,
    gzip: bool = False,
) -> GenStats:
    """Write a log file ('-' = stdout); gzip output is byte-stable (mtime 0, no file name)."""
    generator = SampleGenerator(seed, start=start, evaluator=evaluator, hostile=hostile, bodies=bodies, rate=rate)
    lines = generator.events(count)
    if str(path) == "-":
        _write_to(sys.stdout.buffer, lines, gzip)
    else:
        with open(path, "wb") as raw:
            _write_to(raw, lines, gzip)
    return generator.stats


def _write_to(raw: IO[bytes], lines: Iterator[bytes], gzip: bool) -> None:
    if not gzip:
        write_events(raw, lines)
        raw.flush()
        return
    with gzip_module.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as compressed:
        write_events(compressed, lines)  # type: ignore[arg-type]


def load_evaluator(path: str | Path) -> PolicyEvaluator:
    """A PolicyEvaluator for a policy file; ValueError with the loader's problems if it does not load."""
    loaded = load_policy_file(path)
    if loaded.policy is None:
        problems = "; ".join(str(problem) for problem in loaded.errors) or "policy did not load"
        raise ValueError(problems)
    return PolicyEvaluator(loaded.policy)


def make_demo(path: str | Path = DEMO_LOG, policy_path: str | Path = DEMO_POLICY) -> GenStats:
    """Regenerate the bundled demo log: the demo policy's view of ~3,000 events, ~2% hostile."""
    return write_log(
        path, DEMO_EVENTS, DEMO_SEED, evaluator=load_evaluator(policy_path), hostile=DEMO_HOSTILE, rate=DEMO_RATE
    )
