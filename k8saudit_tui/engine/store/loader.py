"""StoreLoader: streams the events of log sources into an EventStore, batch by batch.

Why it is shaped this way: the first FIRST_BATCH_LINES lines are parsed in-process so something is
on screen at once; the rest is cut into byte ranges (logs/split.py, the splitter every reader
shares) parsed by the one worker pool (logs/worker.py: separate interpreters, so the loader may run
in a thread of a threaded program). Process tuning around it is runtime.py's. It uses only the
store's public API. A file whose lines the reader's workers already parsed is not read again: an
S3 export checked in place comes with its batches (`LogSource.parsed`), a file being unwrapped by
the pool comes as a stream of them (`LogSource.stream`, formats/reader.py), appended as each range
of its spool is written, so that the store fills while the file is unwrapped.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.batch import ITEM_FILE, Batch, Encoder, looks_like_document, parse_document
from k8saudit_tui.engine.logs.formats.reader import Origin, to_original
from k8saudit_tui.engine.logs.sources import LogSource, holds_event_lines, size_and_head, unwrap_sources
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.logs.worker import default_workers, parse_in_workers, parse_task
from k8saudit_tui.engine.memory import tree_resident_mb
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.engine.store.columns import EventStore
from k8saudit_tui.engine.store.follow import note_last_bytes

FIRST_BATCH_LINES = 1000
RESERVE_MARGIN = 1.25
"""Rows reserved ahead over the estimate from the first batch: capacity never written costs no
resident memory (fresh zero pages), while too little makes the arrays grow by copying."""
ROW_BYTES = 64
"""Fewer bytes than a row's columns take: caps the rows reserved ahead at what the limit could hold."""

MEMORY_LIMIT_MB = int(os.environ.get("K8SAUDIT_TUI_MEMORY_LIMIT_MB", "2048"))
"""Resident memory at which loading stops (MB; environment K8SAUDIT_TUI_MEMORY_LIMIT_MB).

A real log costs about 250 bytes per event (1M events: ~250 MB), so the default leaves room for
millions of events; what it stops is a hostile log whose every event is distinct (a million
user names cost ~600 MB). Loading stops with a Problem saying where and why; what is loaded stays."""


def resident_mb() -> int:
    """Resident memory of this process and its parser workers, in MB: the limit covers the tree."""
    return tree_resident_mb()


@dataclass(frozen=True)
class LoadProgress:
    """What the loader has done so far; yielded after every batch."""

    events: int
    bytes: int
    total_bytes: int
    rate: float
    """Events per second since the load started."""
    eta: float | None
    """Seconds left, estimated from the byte rate; None when unknown."""
    done: bool
    problems: int
    elapsed: float
    cancelled: bool = False


@dataclass
class _Plan:
    tasks: list[Task] = field(default_factory=list)
    total: int = 0


class StoreLoader:
    """Streams the events of `sources` into `self.store`, batch by batch.

    `run()` yields a `LoadProgress` after each batch; between yields the store is usable and grows.
    Set `cancel` to stop. With a `candidate` policy every event is evaluated under both. With a
    `cache`, an index saved for the same files is reopened instead (only appended bytes are read)
    and a completed load saves one (cache.py).
    """

    def __init__(
        self,
        sources: Sequence[LogSource],
        evaluator: PolicyEvaluator | None = None,
        cancel: threading.Event | None = None,
        workers: int | None = None,
        store: EventStore | None = None,
        memory_limit_mb: int = MEMORY_LIMIT_MB,
        candidate: PolicyEvaluator | None = None,
        cache: StoreCache | None = None,
    ) -> None:
        self.sources = list(sources)
        self.cache = cache
        self.memory_limit_mb = memory_limit_mb
        self.cancel = cancel or threading.Event()
        self.workers = workers if workers is not None else default_workers()
        self.store = store if store is not None else EventStore()  # an empty store is falsy (len 0)
        if evaluator is not None:
            self.store.set_policy(evaluator)
        if candidate is not None:
            self.store.set_candidate(candidate)  # then every batch is evaluated under both
        self._encoder = Encoder()
        """For batches parsed in this process (the first one, small loads, workers=1)."""
        self._origins: dict[int, Origin] = {}
        """File number -> where the lines of an unwrapped file's spool came from."""
        self._parsed: dict[tuple[int, int], Batch] = {}
        """(file number, start byte) -> the batch the reader's workers parsed for that range."""
        self._streams: dict[int, LogSource] = {}
        """File number -> a source whose batches come as its spool is written (`LogSource.stream`)."""
        self._started = 0.0
        self._done_bytes = 0
        self._total_bytes = 0
        self._unsaved = False
        """Whether this load read events that no index holds yet (`save_index` writes them)."""

    def run(self, save: bool = True) -> Iterator[LoadProgress]:
        """Load everything, yielding progress after each batch (the last one has done=True); with
        a cache, save the index before the last (`save_index`), unless `save` is False."""
        self._started = time.perf_counter()
        runtime.small_pages()  # the store's arrays: a fault never waits for the kernel to compact memory
        reopened = self._reopened()
        plan = reopened or self._plan()
        self._total_bytes = plan.total
        tasks = plan.tasks
        if self._parsed:  # their rows are counted: room for them at once
            self.store.reserve(len(self.store) + sum(batch.count for batch in self._parsed.values()))
        if tasks and not tasks[0].document and not self._is_parsed(tasks[0]):
            first, rest = self._first_batch(tasks[0])
            if first is not None:
                yield self._progress(False)
            tasks = rest + tasks[1:]
        remaining = sum(task.size for task in tasks if not self._is_parsed(task))
        batches: Generator[tuple[Task, Batch], None, None]
        if self.workers > 1 and remaining > split.IN_PROCESS_BYTES:
            batches = self._pooled(tasks)
        else:
            batches = self._in_process(tasks)
        with runtime.loading():
            try:
                for task, batch in batches:
                    if self.cancel.is_set():
                        yield self._progress(True, cancelled=True)
                        return
                    self._append(task, batch)
                    if resident_mb() > self.memory_limit_mb:
                        self._stop_for_memory(task)
                        yield self._progress(True, cancelled=True)
                        return
                    yield self._progress(False)
            finally:
                batches.close()
                self.store._codes.release_indexes()  # also when stopped: rebuilt when next needed (codes.py)
        if reopened is None or reopened.tasks:  # a reopen that read nothing has parsed nothing to free
            runtime.release_memory()
            self._unsaved = True
            if save:
                self.save_index()
        yield self._progress(True, cancelled=self.cancel.is_set())

    def save_index(self) -> None:
        """Write the index of a load that read anything and ran to the end, once. `run(save=False)`
        leaves it to the caller: the explorer writes it once its screen shows everything (at 1M
        events the write is 0.5-0.6 s that the user no longer waits for)."""
        if self._unsaved and self.cache is not None and not self.cancel.is_set():
            self.cache.save(self.store, self.sources)
        self._unsaved = False

    def _stop_for_memory(self, task: Task) -> None:
        """Record why loading stopped early, at the file the last batch came from."""
        entry = self.store.files[task.file]
        message = (
            f"stopped loading after {len(self.store):,} events: memory use reached the limit of "
            f"{self.memory_limit_mb:,} MB (set K8SAUDIT_TUI_MEMORY_LIMIT_MB to change it, or load "
            "fewer files); the rest was not read"
        )
        self.store.add_problem(Problem(entry.name, entry.lines or None, "", message))

    def load_all(self) -> EventStore:
        """Run to the end (for headless commands and tests) and return the store."""
        for _ in self.run():
            pass
        return self.store

    def _plan(self) -> _Plan:
        """Register every readable source and cut it into tasks at line boundaries."""
        plan = _Plan()
        store = self.store
        for source in self.sources:
            if source.problem is not None:
                store.add_problem(source.problem)
                continue
            warning = source.extra.get("warning")
            if isinstance(warning, Problem):
                store.add_problem(warning)
            for problem in source.problems:  # what unwrapping a cloud or shipper format could not read
                store.add_problem(problem)
            file = store.add_file(source.name, source.path, source.followable)
            if source.origin is not None:
                self._origins[file] = source.origin
                store.files[file].unwrapped = True
            if source.parsed is not None:
                for start, end, batch in source.parsed:
                    plan.tasks.append(Task(file, source.path, start, end, end == source.size))
                    self._parsed[(file, start)] = batch
                    plan.total += end - start
                source.parsed = None  # appended once, by this loader: the memory goes with them
                continue
            if source.stream is not None:
                store.files[file].unwrapped = True
                self._streams[file] = source
                plan.tasks.append(Task(file, source.path, 0, 0, True))  # stands for the ranges to come
                plan.total += source.size
                continue
            probed = size_and_head(source)
            if isinstance(probed, Problem):
                store.add_problem(probed)
                continue
            size, head = probed
            plan.total += size
            if looks_like_document(head):
                plan.tasks.append(Task(file, source.path, 0, size, True, document=True))
                continue
            plan.tasks.extend(split.cut(file, source.path, 0, size))
        return plan

    def _reopened(self) -> _Plan | None:
        """The store filled from the cache, and the tasks that read what its files gained since;
        None without a cache or an index to reopen."""
        grown = self.cache.reopen(self.store, self.sources) if self.cache is not None else None
        if grown is None:
            return None
        plan = _Plan()
        for index in grown:
            entry = self.store.files[index]
            try:
                size = os.path.getsize(entry.path)
            except OSError:
                continue  # gone since the cache looked at it: what the index had stays
            plan.tasks.extend(split.cut(index, entry.path, entry.consumed, size))
            plan.total += size - entry.consumed
        return plan

    def _first_batch(self, task: Task) -> tuple[Batch | None, list[Task]]:
        """Parse the first lines of the first task in-process; return what is left of the task."""
        limit = split.first_lines_end(task.path, task.start, task.end, FIRST_BATCH_LINES)
        if limit >= task.end:
            batch = self._parse(task)[1]
            self._append(task, batch)
            return batch, []
        head = Task(task.file, task.path, task.start, limit, False)
        _, batch = self._parse(head)
        self._append(head, batch)
        if batch.count:  # room for the rest ahead, from this sample's bytes an event (arrays.py)
            expected = (self._total_bytes - head.size) * batch.count / head.size * RESERVE_MARGIN
            most = self.memory_limit_mb * 2**20 // ROW_BYTES  # more rows than the limit holds: never needed
            self.store.reserve(len(self.store) + min(int(expected), most) + 1024)
        return batch, [Task(task.file, task.path, limit, task.end, task.final)]

    def _is_parsed(self, task: Task) -> bool:
        return (task.file, task.start) in self._parsed or task.file in self._streams

    def _each(self, task: Task) -> Iterator[tuple[Task, Batch]]:
        """The batch of a task, or the batches of a stream as its ranges are written."""
        if task.file not in self._streams:
            yield self._parse(task)
            return
        source = self._streams.pop(task.file)
        entry = self.store.files[task.file]
        stream = source.stream
        try:
            for start, end, parsed, lines, formats, read in stream or ():
                part = Task(task.file, source.path, start, end, False)
                batch = _adopt(part, parsed) if parsed is not None else self._parse(part)[1]
                to_original(batch, Origin(lines, formats), 0)  # the lines of the file, not of the range
                batch.line -= entry.lines  # ... which the store counts from the spool lines before it
                batch.problems = [(line - entry.lines, where, message) for line, where, message in batch.problems]
                self._done_bytes += read - part.size  # `_append` counts the spool's bytes; the total is the file's
                yield part, batch
        finally:
            if stream is not None:
                stream.close()  # a cancelled load stops the pool (no-op when it ended)
        for problem in ([source.problem] if source.problem else []) + source.problems:
            self.store.add_problem(problem)  # what unwrapping could not read: known at the end

    def _in_process(self, tasks: list[Task]) -> Generator[tuple[Task, Batch], None, None]:
        for task in tasks:
            yield from self._each(task)

    def _parse(self, task: Task) -> tuple[Task, Batch]:
        parsed = self._parsed.pop((task.file, task.start), None)
        if parsed is not None:
            return task, _adopt(task, parsed)
        if task.document:
            with open(task.path, "rb") as handle:
                return task, parse_document(handle.read(), task.file)
        with runtime.parsing():
            return task, parse_task(self._encoder, task)

    def _pooled(self, tasks: list[Task]) -> Generator[tuple[Task, Batch], None, None]:
        """Parse tasks in worker processes, in order (documents in-process, at their turn)."""
        results = parse_in_workers([t for t in tasks if not (t.document or self._is_parsed(t))], self.workers)
        try:
            for task in tasks:
                if task.document or self._is_parsed(task):
                    yield from self._each(task)
                else:
                    yield task, next(results)
                if self.cancel.is_set():
                    return
        finally:
            results.close()

    def _append(self, task: Task, batch: Batch) -> None:
        """Append a batch and advance the file's consumed offset and line count."""
        entry = self.store.files[task.file]
        origin = self._origins.get(task.file)
        if origin is not None:
            to_original(batch, origin, entry.lines)
        self.store.append(batch, task.file, entry.lines)
        entry.lines += batch.lines
        entry.consumed = batch.end
        if batch.tail_failed and self.store.problems:
            entry.tail_problem = self.store.problems[-1]
            entry.consumed = batch.tail_start
            entry.lines -= 1
        if entry.followable:
            note_last_bytes(self.store, entry)
        self._done_bytes += task.size

    def _progress(self, done: bool, cancelled: bool = False) -> LoadProgress:
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        events = len(self.store)
        eta = None
        if self._done_bytes and not done:
            eta = (self._total_bytes - self._done_bytes) * elapsed / self._done_bytes
        return LoadProgress(
            events,
            self._done_bytes,
            self._total_bytes,
            events / elapsed,
            eta,
            done,
            len(self.store.problems),
            elapsed,
            cancelled,
        )


def _adopt(task: Task, batch: Batch) -> Batch:
    """A batch a reader's worker parsed for the range of `task` (offsets relative to the range,
    file number 0), with the store's file number and the file's offsets."""
    own = batch.file != ITEM_FILE
    batch.file[own] = task.file
    batch.offset[own] += task.start
    batch.end += task.start
    batch.tail_start += task.start
    return batch


def load(
    sources: Sequence[LogSource],
    evaluator: PolicyEvaluator | None = None,
    workers: int | None = None,
    candidate: PolicyEvaluator | None = None,
) -> EventStore:
    """Load `sources` completely (headless use), under the policy and the candidate if given."""
    return StoreLoader(sources, evaluator, workers=workers, candidate=candidate).load_all()


def unwrap_for_store(sources: Sequence[LogSource], format: str | None, cache: StoreCache | None) -> list[LogSource]:
    """`sources` (from `resolve_sources`) unwrapped for a store load: a cloud envelope while the
    store loads (`normalise(parse=True)`: one pass, the store filling as the file is unwrapped),
    unless `cache` holds an index of the files: that index is checked against the finished
    spool, so the file is then spooled whole first and the index reopened. Logs of Event lines need
    neither: the cache is not asked about them (`top` streams them and never touches it)."""
    wrapped = cache is not None and not all(map(holds_event_lines, sources, repeat(format)))
    return unwrap_sources(sources, format, parse=not (wrapped and cache is not None and cache.indexed(sources)))
