"""Running a per-range job over every input, in input order, in bounded memory.

Why: the streaming commands (`export`, `top`) read logs as the store does (sources from
`sources.expand_sources`, files cut by the one splitter, ranges parsed by the one worker pool) but
keep no store: each range's answer is consumed as it comes. The pool keeps at most two ranges
queued per worker, so memory stays a few ranges whatever the log size.

Also here: what a filter needs of the whole log. Only one thing does: a time range read against
the log's end (`time:-15m..`, `time:10:00..11:00`), whose anchor is the latest received time of
every event. A filter with such a term costs a first pass (`first_pass_latest`, every line parsed,
nothing kept but one number), after which `anchored` rewrites those ends as the absolute times
they stand for (`timefilter.resolve`, the store's own reading), so each range decides alone.
Every other term (exact, fuzzy, regex, comparisons, verdicts) is decided per event or per value.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.batch import looks_like_document
from k8saudit_tui.engine.logs.sources import LogSource, size_and_head
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.logs.worker import WorkerPool, default_workers
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.streaming.narrow_job import Read

if TYPE_CHECKING:  # imported where used: the narrow path plans and runs without the query package
    from k8saudit_tui.engine.query.filter import Filter
    from k8saudit_tui.engine.query.language import Term
    from k8saudit_tui.engine.query.timefilter import TimePoint

ReadT = TypeVar("ReadT", bound=Read)


@dataclass
class Plan:
    """The ranges of every readable input, the name of each file number, and the problems of the
    inputs that cannot be read (and warnings, such as a damaged gzip tail)."""

    tasks: list[Task] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(task.size for task in self.tasks)


def plan(sources: Sequence[LogSource], range_bytes: int | None = None) -> Plan:
    """Cut every readable source into ranges of about `range_bytes` (default RANGE_BYTES) at line
    boundaries (a JSON document is one task), as the store loader does."""
    size = RANGE_BYTES if range_bytes is None else range_bytes
    found = Plan()
    for source in sources:
        if source.problem is not None:
            found.problems.append(source.problem)
            continue
        warning = source.extra.get("warning")
        if isinstance(warning, Problem):
            found.problems.append(warning)
        probed = size_and_head(source)
        if isinstance(probed, Problem):
            found.problems.append(probed)
            continue
        length, head = probed
        file = len(found.names)
        found.names.append(source.name)
        if looks_like_document(head):
            found.tasks.append(Task(file, source.path, 0, length, True, document=True))
        else:
            found.tasks.extend(
                piece for task in split.cut(file, source.path, 0, length) for piece in _smaller(task, size)
            )
    return found


RANGE_BYTES = 4 << 20
"""Bytes of a streamed range when the prefilter screens lines: a quarter of the store's
(split.TASK_BYTES). A worker holds about three ranges' worth at its peak, so 16 MB ranges put
two workers and the parent near 250 MB; 4 MB ones keep the tree under 150 MB (measured)."""
FULL_PARSE_RANGE_BYTES = 2 << 20
"""Bytes of a range every line of which is parsed (no prefilter): the parser's working set is
twice the screened one's, and at 2 MB it costs no more CPU a byte than at 4 MB (measured)."""


def _smaller(task: Task, size: int) -> Iterator[Task]:
    """`task` cut further into ranges of about `size` bytes, each ending after a newline."""
    if task.size <= size * 1.5:
        yield task
        return
    fd = os.open(task.path, os.O_RDONLY)
    try:
        position = task.start
        while task.end - position > size * 1.5:
            boundary = split.next_newline(fd, position + size, task.end)
            if boundary >= task.end:
                break
            yield Task(task.file, task.path, position, boundary, False)
            position = boundary
    finally:
        os.close(fd)
    yield Task(task.file, task.path, position, task.end, task.final)


@dataclass
class Totals:
    """What the ranges read so far add up to: events, and problems at their lines in the file."""

    names: list[str]
    events: int = 0
    problems: list[Problem] = field(default_factory=list)
    lines: dict[int, int] = field(default_factory=dict)

    def add(self, task: Task, read: Read) -> None:
        base = self.lines.get(task.file, 0)
        name = self.names[task.file]
        self.problems.extend(Problem(name, base + line, where, message) for line, where, message in read.problems)
        self.lines[task.file] = base + read.lines
        self.events += read.events


def run(
    tasks: Sequence[Task],
    job: Callable[[Any, Task], ReadT],
    setup: Callable[[], Any],
    workers: int | None = None,
    in_process_bytes: int = split.IN_PROCESS_BYTES,
) -> Iterator[tuple[Task, ReadT]]:
    """`job(setup(), task)` for every task, in task order. Past `in_process_bytes` (and with more
    than one worker) the pool does every range: one done here while the workers boot would leave
    its working set in this process for the rest of the run (10 MB of the 150 MB budget)."""
    workers = default_workers() if workers is None else workers
    size = sum(task.size for task in tasks)
    if workers <= 1 or size <= in_process_bytes or len(tasks) < 2:
        state = setup()
        for task in tasks:
            yield task, job(state, task)
        return
    pool = WorkerPool(job, workers, setup)
    try:
        yield from zip(tasks, pool.map(tasks))
    finally:
        pool.close()


# ------------------------------------------------------------------------------ the log's end


def reads_the_end(selection: Filter) -> bool:
    """Whether a term of the filter is a time range read against the latest event."""
    from k8saudit_tui.engine.query.timefilter import TimeRange, needs_latest

    return any(isinstance(term.bound, TimeRange) and needs_latest(term.bound) for term in selection.terms)


def first_pass_latest(
    tasks: Sequence[Task], workers: int | None = None, in_process_bytes: int = split.IN_PROCESS_BYTES
) -> int | None:
    """The latest received time of every event of the tasks (None: no event has a time)."""
    from k8saudit_tui.engine.streaming import jobs

    found: int | None = None
    for _, read in run(tasks, jobs.latest, _no_state, workers, in_process_bytes):
        if read.latest is not None and (found is None or read.latest > found):
            found = read.latest
    return found


def _no_state() -> None:
    return None


def anchored(selection: Filter, latest: int | None) -> Filter:
    """The filter with every end read against the latest event made absolute at `latest`. With
    no latest (no event has a time) it is returned as is: then no range has one either, and such
    a term selects nothing in both."""
    from k8saudit_tui.engine.query.filter import Filter

    if latest is None:
        return selection
    groups = tuple(tuple(_anchored_term(term, latest) for term in group) for group in selection.groups)
    return Filter(selection.text, groups)


def _anchored_term(term: Term, latest: int) -> Term:
    from k8saudit_tui.engine.query.timefilter import TimeRange, needs_latest

    if not isinstance(term.bound, TimeRange) or not needs_latest(term.bound):
        return term
    start, end = term.bound.start, term.bound.end
    return dataclasses.replace(term, bound=TimeRange(_absolute(start, latest), _absolute(end, latest)))


def _absolute(point: TimePoint | None, latest: int) -> TimePoint | None:
    from k8saudit_tui.engine.query.timefilter import TimePoint, resolve

    if point is None or point.anchor == "absolute":
        return point
    return TimePoint("absolute", resolve(point, latest), point.unit)
