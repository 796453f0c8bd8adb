"""Shards of audit logs, and the report part of each: the unit of work of `report` and of the fleet.

Contract: `plan(sources)` cuts readable sources into `Shard`s (byte ranges ending after a newline,
by `split.cut`; a whole-file JSON document is one shard) and returns the problems of the sources
that cannot be read; `read_shard(evaluators, shard)` gives the shard's `ReportPart` (see
report_part) reading nothing outside it; `local_parts` runs `read_shard` over shards in this
process or in the engine's worker pool. A shard with `end=None` is a whole input expanded where
it is read (`expand_sources`: a .gz is decompressed there, never by the planner), which is how the
fleet hands compressed logs to the machine that reads them.

Why a shard loads a small store of its own instead of the events going to one big store: a shard
is read in another process, possibly on another machine, and what comes back must be small (the
part is a few counters per rule, class and group, whatever the shard's size). The store's verdict
columns and the workbench's definitions are used as they are, so a shard's figures are exactly
those of a store over the same lines; `shard_costs` is the one place a shard's byte cost is made:
`store_cost` over the shard's own store (the line lengths of the events `apply` copies, `apply`'s
own rewrite for the few whose written form changes), as CostTallies that merge. What a shard
skips is only what no figure reads: its store is parsed through `ShardEncoder` (the explorer's
columns left blank, the report's exactly as the full Encoder codes them) and its costs look for
the body words in the bytes the shard read to parse them, not in a second read of the file.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.batch import looks_like_document, parse_document, parse_lines
from k8saudit_tui.engine.logs.formats.reader import Origin, to_original
from k8saudit_tui.engine.logs.sources import LogSource, expand_sources, size_and_head
from k8saudit_tui.engine.logs.worker import WorkerPool, default_workers
from k8saudit_tui.engine.model import Policy, Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store import EventStore
from k8saudit_tui.engine.workbench.cost import CostTally
from k8saudit_tui.engine.workbench.report_part import Piece, ReportPart, combine, empty_part, store_part
from k8saudit_tui.engine.workbench.shard_encoder import ShardEncoder
from k8saudit_tui.engine.workbench.store_cost import Loaded, store_costs


@dataclass(frozen=True, slots=True)
class Shard:
    """Bytes [start, end) of the plain file of Event lines `path`, named `name` in problems (the
    path the user gave, or `<stdin>` for a spool); `end` None: the whole input `path`, expanded
    (decompressed, unwrapped) by the reader; `document`: the whole file is one JSON document (an
    EventList), read as one."""

    name: str
    path: str
    start: int = 0
    end: int | None = None
    document: bool = False
    origin: Origin | None = None
    """For the spool of a file unwrapped from a cloud or shipper format: its lines' original lines
    (the shard is then the whole spool, whose lines it numbers from the first)."""
    log_format: str | None = None
    """For a whole input: the format forced by --log-format when it is unwrapped."""

    @property
    def size(self) -> int:
        """Bytes to read (a whole input's size on this machine, 0 when unknown)."""
        if self.end is not None:
            return self.end - self.start
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0


def plan(sources: Sequence[LogSource], shard_bytes: int | None = None) -> tuple[list[Shard], list[Problem]]:
    """The shards of the readable `sources` (ranges of about `shard_bytes`, default split.TASK_BYTES,
    at line boundaries) and the problems of those that cannot be read, in source order."""
    shard_bytes = split.TASK_BYTES if shard_bytes is None else shard_bytes
    shards: list[Shard] = []
    unread: list[Problem] = []
    for source in sources:
        if source.problem is not None:
            unread.append(source.problem)
            continue
        probed = size_and_head(source)
        if isinstance(probed, Problem):
            unread.append(probed)
            continue
        size, head = probed
        if looks_like_document(head):
            shards.append(Shard(source.name, source.path, 0, size, document=True))
            continue
        if source.origin is not None:
            shards.append(Shard(source.name, source.path, 0, size, origin=source.origin))
            continue
        shards += [Shard(source.name, source.path, start, end) for start, end in ranges(source.path, size, shard_bytes)]
    return shards, unread


def ranges(path: str, size: int, shard_bytes: int) -> list[tuple[int, int]]:
    """[start, end) ranges of about `shard_bytes` covering the file, each ending after a newline
    (the last one at the end): `split.cut`'s."""
    return [(task.start, task.end) for task in split.cut(0, path, 0, size, shard_bytes)]


def read_shard(evaluators: Sequence[PolicyEvaluator], shard: Shard) -> ReportPart:
    """The report part of one shard under the policy (and the candidate: `evaluators[1]`)."""
    if shard.end is not None:
        return _range_part(evaluators, shard)
    sources = expand_sources([shard.path], format=shard.log_format)
    try:
        return read_sources(sources, evaluators, workers=1)
    finally:
        for source in sources:
            if source.spooled and os.path.exists(source.path):
                os.unlink(source.path)


def read_sources(
    sources: Sequence[LogSource], evaluators: Sequence[PolicyEvaluator], workers: int | None = None
) -> ReportPart:
    """The part of every source (`plan`, then `local_parts`): the single-process report's reading."""
    policies = [evaluator.policy for evaluator in evaluators]
    shards, unread = plan(sources)
    warnings = [_numbered_part(policies, source) for source in sources if source.problem is None]
    return combine([empty_part(policies, unread), *warnings, *local_parts(shards, evaluators, workers)])


def _numbered_part(policies: Sequence[Policy], source: LogSource) -> ReportPart:
    """The part of the problems a source found before its lines are read (a .gz damaged after what
    was spooled, records unwrapping could not read): they name their lines already (start -1)."""
    warning = source.extra.get("warning")
    found = ([warning] if isinstance(warning, Problem) else []) + list(source.problems)
    return replace(empty_part(policies), pieces=(Piece(source.name, -1, 0, tuple(found)),) if found else ())


def _range_part(evaluators: Sequence[PolicyEvaluator], shard: Shard) -> ReportPart:
    """Load the shard's lines into a store of its own (in this process) and take its part, its
    bytes from that store's columns; the cyclic garbage collector paused meanwhile (`runtime.parsing`:
    the shard's tens of thousands of live decoded events and values made every older-generation
    collection walk them for nothing, ~2% of a shard's CPU)."""
    with runtime.parsing():
        return _load_part(evaluators, shard)


def _load_part(evaluators: Sequence[PolicyEvaluator], shard: Shard) -> ReportPart:
    assert shard.end is not None
    store = EventStore()
    store.set_policy(evaluators[0])
    if len(evaluators) > 1:
        store.set_candidate(evaluators[1])
    file = store.add_file(shard.name, shard.path, False)
    store.files[file].unwrapped = shard.origin is not None
    lines = 0
    loaded = None
    try:
        if shard.document:
            data = _read(shard.path, 0, shard.end)
            store.append(parse_document(data, file), file, 0)
        else:
            encoder = ShardEncoder()
            tasks = split.cut(file, shard.path, shard.start, shard.end)
            for task in tasks:
                data = _read(task.path, task.start, task.end)
                batch = parse_lines(data, task.start, file, task.final, encoder)
                if shard.origin is not None:
                    to_original(batch, shard.origin, lines)
                store.append(batch, file, lines)
                lines += batch.lines
            if len(tasks) == 1:  # a report's shard; a fleet's (several reads) keeps no more than one
                loaded = Loaded(file, tasks[0].start, data)
        piece = Piece(shard.name, shard.start, lines, tuple(store.problems))
        return store_part(store, shard_costs(store, file, loaded), [piece])
    except OSError as error:
        reason = error.strerror or str(error)
        return empty_part([e.policy for e in evaluators], [Problem(shard.name, None, "", f"cannot read: {reason}")])
    finally:
        store.close()


def _read(path: str, start: int, end: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, end - start, start)
    finally:
        os.close(fd)


def shard_costs(store: EventStore, file: int, loaded: Loaded | None = None) -> list[CostTally]:
    """A CostTally per policy of `store` over the rows of its file `file`: `store_cost`'s bytes
    (equal to `CostTally.add_lines` per policy over the same lines, property-tested). The rows of
    EventList items, spooled to a file of their own, are left out: `apply` reads no event in such
    a line, so it writes none of them. Read with pread, not mapped: a fleet may be given a live log
    that a copytruncate rotation shrinks under a mapping (SIGBUS); `loaded`, the shard's bytes
    the loader read, are looked in instead of read again."""
    rows = None if len(store.files) == 1 else np.flatnonzero(store.column("file") == file)
    costs = store_costs(store, rows, loaded=loaded)
    if costs is None:  # only a store without a policy, which a shard never has
        raise ValueError("a shard's store needs a policy")
    return [CostTally.of(summary) for summary in costs if summary is not None]


def evaluators_of(policies: Sequence[Policy]) -> tuple[PolicyEvaluator, ...]:
    """An evaluator per policy (a worker's setup: the policies are sent once, not per shard)."""
    return tuple(PolicyEvaluator(policy) for policy in policies)


def local_parts(
    shards: Sequence[Shard], evaluators: Sequence[PolicyEvaluator], workers: int | None = None
) -> Iterator[ReportPart]:
    """The part of every shard, in shard order: in this process for little data, else the first
    here while the engine's worker pool (`workers`, default one per core) boots, as `evaluate`
    does, and the others in the pool."""
    workers = default_workers() if workers is None else workers
    total = sum(shard.size for shard in shards)
    if workers > 1 and len(shards) > 1 and total > split.IN_PROCESS_BYTES:
        policies = tuple(evaluator.policy for evaluator in evaluators)
        pool = WorkerPool(read_shard, min(workers, len(shards) - 1), setup=functools.partial(evaluators_of, policies))
        try:
            yield read_shard(evaluators, shards[0])  # the workers boot meanwhile (a few hundred ms)
            yield from pool.map(shards[1:])
        finally:
            pool.close()
        return
    for shard in shards:
        yield read_shard(evaluators, shard)
