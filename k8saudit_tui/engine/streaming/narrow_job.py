"""The worker entry of a streamed export on the narrow path: it imports neither the query nor the
store package unless a range needs them.

Why: a worker boots with the imports its job and state bring (unpickling a `Judge` imports the
query and store packages: 0.19 s of a worker's start, measured, against ~0.1 s for numpy, msgspec
and the decoder), and on the 1M benchmark the user filter's export was behind DuckDB by about that.
Here a worker is sent a plain description of the filter (`narrow.Spec`) and decides each decoded
line with `narrow.narrow_range`. A range the narrow reading cannot finish alone (lines it leaves
to the store path, a JSON document, redaction) is handed to the full `Judge`, built in the worker
the first time it is needed from the same filter text, policies and format: the same code
(`jobs.finish_narrow`, `jobs.select`) as before, so the same bytes.

Also here, so that the parent unpickles results without the query and store packages either: the
result types of every streaming job (`Read`, `Selected`; `jobs` re-exports them) and `read_bytes`.

Contract: `select(state, task)` returns what `jobs.select(make_judge(compile_filter(text), policy,
candidate, fmt, redact), task)` returns, or the same lines rendered (tested over generated logs
and filters against it and against the store-based export: `tests/test_streaming_lean.py`,
`tests/test_streaming_narrow.py`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.export_formats import ORIGINAL_LINE_FORMATS
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.model import Policy
from k8saudit_tui.engine.streaming.narrow import (
    NARROW_THRESHOLDS,
    Narrow,
    NarrowRange,
    Spec,
    compile_spec,
    narrow_range,
    spec_of,
)

if TYPE_CHECKING:
    from k8saudit_tui.engine.streaming.ranges import Judge


@dataclass
class Read:
    """What every job reports of its range besides its answer."""

    lines: int = 0
    events: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class Selected(Read):
    """The selected events of a range rendered for the output format: `blob` is their pieces one
    after another, `lengths` each piece's bytes, `times` each one's stage time (the view's order)."""

    blob: bytes = b""
    lengths: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    times: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    offsets: np.ndarray | None = None
    """For original lines (jsonl and json without redaction): each event's offset in the file
    (-1 for an EventList item, whose bytes are then in `blob`, one after another), and `lengths`
    are the events' own bytes. The parent reads the lines from the file (the page cache) in runs:
    shipping a range's selected bytes doubled what a worker held (pickled and unpickled copies:
    80 MB a worker when every event is selected, measured)."""


def read_bytes(task: Task) -> bytes:
    """The bytes of the range `task`."""
    fd = os.open(task.path, os.O_RDONLY)
    try:
        return os.pread(fd, task.end - task.start, task.start)
    finally:
        os.close(fd)


def located(task: Task, decided: NarrowRange) -> tuple[np.ndarray, np.ndarray]:
    """(file offsets, lengths without the newline) of the lines the narrow reading selected."""
    starts, chosen = decided.starts, decided.selected
    return task.start + starts[chosen], starts[chosen + 1] - 1 - starts[chosen]


@dataclass
class NarrowJudge:
    """A worker's state on the narrow path: the filter's per-event tests, and what builds the
    full Judge (`ranges.make_judge`) for the ranges that need it."""

    groups: Narrow
    spec: Spec
    text: str
    policy: Policy | None
    candidate: Policy | None
    fmt: str
    redact: bool
    _judge: Judge | None = None

    def judge(self) -> Judge:
        """The full Judge of the same filter, built once (this imports the query and store packages)."""
        if self._judge is None:
            from k8saudit_tui.engine.query import compile_filter
            from k8saudit_tui.engine.streaming.ranges import make_judge

            selection = compile_filter(self.text)
            if spec_of(selection) != self.spec:  # checked where the spec was made: a caller's mistake
                raise RuntimeError(f"filter {self.text!r} does not compile to the terms the worker was sent")
            self._judge = make_judge(selection, self.policy, self.candidate, self.fmt, self.redact)
        return self._judge


def make_state(
    spec: Spec, text: str, policy: Policy | None, candidate: Policy | None, fmt: str, redact: bool
) -> NarrowJudge:
    """A NarrowJudge from picklable parts (the worker pool's `setup`), with the heap settings of
    a narrow reading (`narrow.NARROW_THRESHOLDS`), as `ranges.make_judge` sets them."""
    runtime._set_heap_thresholds(NARROW_THRESHOLDS)
    return NarrowJudge(compile_spec(spec), spec, text, policy, candidate, fmt, redact)


def setup(spec: Spec, text: str, policy: Policy | None, candidate: Policy | None, fmt: str, redact: bool) -> Any:
    """The `setup` that builds the same NarrowJudge in each worker. `text` must compile to a
    filter whose `narrow.spec_of` is `spec` (the caller checks: `export.narrow_plan`)."""
    if fmt not in ORIGINAL_LINE_FORMATS:
        raise ValueError(f"{fmt} is not written from original lines")
    return functools.partial(make_state, spec, text, policy, candidate, fmt, redact)


def select(state: NarrowJudge, task: Task) -> Selected:
    """`jobs.select` of the range: decided here when every line is a plain Event and the lines
    are written as they are, else by the full Judge (`jobs.finish_narrow`, `jobs.select`). A
    sparse selection comes back rendered (`SHIPPED_SHARE`), a dense one as where its lines are:
    the same output bytes either way."""
    if task.document:
        from k8saudit_tui.engine.streaming import jobs

        return jobs.select(state.judge(), task)
    data = read_bytes(task)
    decided = narrow_range(data, task.final, state.groups)
    if state.redact or decided.rest.any():
        from k8saudit_tui.engine.streaming import jobs

        return jobs.finish_narrow(state.judge(), task, data, decided)
    offsets, lengths = located(task, decided)
    lines = len(decided.starts) - 1
    if int(lengths.sum()) * SHIPPED_SHARE <= task.size:
        blob, pieces = rendered(data, offsets - task.start, lengths, state.fmt)
        return Selected(lines, decided.events, [], blob, pieces, decided.times)
    return Selected(lines, decided.events, [], b"", lengths, decided.times, offsets)


SHIPPED_SHARE = 4
"""A range whose selected lines are at most 1/SHIPPED_SHARE of its bytes sends them rendered
(a blob the parent writes in one call) rather than where they are: for a sparse selection the
parent's reads cost a call per line or two (`export.OriginalLines`: 11,600 `preadv`s and half of
the parent's time for `user:alice@example.com` at 1M events, measured), while the worker has the
lines in memory. Past that share the worker would hold the selection twice more (pickled)."""


def rendered(data: bytes, starts: np.ndarray, lengths: np.ndarray, fmt: str) -> tuple[bytes, np.ndarray]:
    """The lines of `data` at `starts` (`lengths` bytes each) as the output writes original lines
    (jsonl: each with a newline after it; json: each after `,\\n`), and each piece's length."""
    view = memoryview(data)
    lines = [view[start : start + length] for start, length in zip(starts.tolist(), lengths.tolist())]
    if not lines:
        return b"", lengths
    if fmt == "json":
        return b",\n" + b",\n".join(lines), lengths + 2
    return b"\n".join(lines) + b"\n", lengths + 1
