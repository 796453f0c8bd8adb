"""`top` without a store: per-range counts of a field's values, merged into the facet `top` prints.

How: each range is parsed and filtered where it is read: on the decoded lines when the filter is
narrow and the field one they hold (`narrow_top`), else on a store of the range (`ranges.Judge`,
the store's filter); the job returns, per value of the field among the selected events, its events
and its distinct (value, request) pairs, which the parent merges. Values are labelled by
`facets._codec`, the facets' own reading of a field (or its equal in `narrow_top.LABELS`), so
labels and order are `facet`'s.

Contract: `stream_top` returns the Facet that `facets.facet(store, field, filter.apply(store),
limit)` returns for the store of the same logs (tested). A request is an auditID counted once per
value it has; an event without an auditID is a request of its own (as in `auditids`). Memory: a
request may have events in ranges far apart (a long watch), so the distinct (value, auditID) pairs
seen so far are kept: on disk, 20 bytes a pair for a UUID auditID (`_Pairs`: 64 private files
by the UUID's first byte, each made distinct alone at the end, so memory holds a 64th of them);
an ID that is not a lower-case UUID is kept whole in memory (rare: kube-apiserver writes UUIDs).
The rest is a few ranges per worker.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.auditid_keys import KEY_DTYPE
from k8saudit_tui.engine.logs.sources import LogSource, new_spool
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.model import LEVELS, Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query.facets import Facet, FacetValue, _codec
from k8saudit_tui.engine.query.filter import Filter
from k8saudit_tui.engine.streaming import jobs, pipeline
from k8saudit_tui.engine.streaming.exact_text import narrow_spec
from k8saudit_tui.engine.streaming.narrow_top import (
    LABELS,
    PAIR,
    Counted,
    distinct_ids,
    distinct_pairs,
    narrow_count,
    narrow_setup,
    tally,
)
from k8saudit_tui.engine.streaming.prefilter import prefilter
from k8saudit_tui.engine.streaming.ranges import Judge, judge_setup


def count(judge: Judge, task: Task) -> Counted:
    """The worker job on the store path: the counts of the field among the range's selected
    events (a counting judge carries the field's name where an exporting one carries the format:
    `stream_top`)."""
    ranged, rows = judge.read(task)
    store = ranged.store
    encode, _, label = _codec(store, judge.fmt, len(store))
    codes = encode(rows) if len(rows) else np.empty(0, np.int64)
    present, local = np.unique(codes, return_inverse=True)
    keys = store.column("auditid")[rows] if len(rows) else np.empty(0, KEY_DTYPE)
    labels = [str(label(int(code))) for code in present.tolist()]
    read = jobs.Read(ranged.lines, ranged.events, ranged.problems)
    return tally(read, labels, local.reshape(-1).astype(np.int32), keys, lambda rows: store.auditid_texts(keys[rows]))


class _Pairs:
    """Distinct (value, UUID) pairs in bounded memory: pairs are spilled to _BUCKETS private
    files by their UUID's first byte (random in v4 UUIDs, as kube-apiserver's are), and each file
    is made distinct alone at the end. A UUID lands in one file, so the distinct IDs of the files
    add up; memory is one file's pairs, a 64th of them (all in one file only if a log's IDs
    share their first byte)."""

    def __init__(self) -> None:
        self.buffer: list[np.ndarray] = []
        self.buffered = 0
        self.files: list[tuple[str, BinaryIO]] = []

    def add(self, pairs: np.ndarray) -> None:
        self.buffer.append(pairs)
        self.buffered += len(pairs)
        if self.buffered >= _FLUSH_PAIRS:
            self._flush()

    def _flush(self) -> None:
        if not self.buffered:
            return
        if not self.files:
            self.files = [new_spool("top-pairs") for _ in range(_BUCKETS)]
        pairs = np.concatenate(self.buffer)
        self.buffer, self.buffered = [], 0
        bucket = np.ascontiguousarray(pairs["id"]).view(np.uint8).reshape(-1, 16)[:, 0] >> _BUCKET_SHIFT
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(_BUCKETS + 1))
        pairs = pairs[order]
        for index, (_, handle) in enumerate(self.files):
            if bounds[index + 1] > bounds[index]:
                handle.write(pairs[bounds[index] : bounds[index + 1]].tobytes())

    def counts(self, size: int) -> tuple[np.ndarray, int]:
        """Distinct requests per value code, and distinct UUIDs in all."""
        requests = np.zeros(size, np.int64)
        if not self.files:
            pairs = distinct_pairs(np.concatenate(self.buffer)) if self.buffer else np.empty(0, PAIR)
            return requests + np.bincount(pairs["value"], minlength=size), distinct_ids(pairs)
        self._flush()
        distinct = 0
        for path, handle in self.files:
            handle.flush()
            pairs = distinct_pairs(np.fromfile(path, PAIR))
            requests += np.bincount(pairs["value"], minlength=size)
            distinct += distinct_ids(pairs)
        return requests, distinct

    def close(self) -> None:
        for path, handle in self.files:
            handle.close()
            with contextlib.suppress(OSError):
                os.unlink(path)
        self.files = []


_BUCKETS = 64
_BUCKET_SHIFT = 2
"""A pair's file: the first byte of its UUID over 4 (64 files)."""
_FLUSH_PAIRS = 1 << 16
"""Pairs held before they go to their files (1.3 MB)."""


@dataclass
class _Merged:
    """Counts over every range so far, values numbered in the order first seen."""

    codes: dict[str, int] = field(default_factory=dict)
    events: list[int] = field(default_factory=list)
    lone: list[int] = field(default_factory=list)
    pairs: _Pairs = field(default_factory=_Pairs)
    other_pairs: set[tuple[int, str]] = field(default_factory=set)

    def add(self, counted: Counted) -> None:
        mapping = np.empty(len(counted.labels), np.int32)
        for index, label in enumerate(counted.labels):
            code = self.codes.setdefault(label, len(self.codes))
            if code == len(self.events):
                self.events.append(0)
                self.lone.append(0)
            self.events[code] += int(counted.counts[index])
            self.lone[code] += int(counted.lone[index])
            mapping[index] = code
        if len(counted.pairs):
            pairs = counted.pairs.copy()
            pairs["value"] = mapping[pairs["value"]]
            self.pairs.add(pairs)
        self.other_pairs.update((int(mapping[index]), key) for index, key in counted.other_pairs)

    def facet(self, name: str, limit: int) -> Facet:
        size = len(self.codes)
        requests, distinct = self.pairs.counts(size)
        requests += np.array(self.lone, np.int64)
        for code, _ in self.other_pairs:
            requests[code] += 1
        total_requests = distinct + len({key for _, key in self.other_pairs}) + sum(self.lone)
        total = sum(self.events)
        labels = list(self.codes)
        key = _sort_key(name)
        order = sorted(range(size), key=lambda code: (-self.events[code], key(labels[code])))
        shown = [code for code in order[:limit] if self.events[code]]
        values = tuple(
            FacetValue(labels[code], self.events[code], int(requests[code]), self.events[code] / total)
            for code in shown
        )
        return Facet(name, total, total_requests, values, size - len(values))


def _sort_key(name: str) -> Callable[[str], Any]:
    """How `facets` orders values with equal counts: numbers by number, the rest by label."""
    kind = fields.by_filter_name[name].kind
    if kind == "level":
        return LEVELS.index
    if kind == "rule":
        return lambda label: -1 if label == "none" else int(label)
    if kind == "number":
        return int
    return lambda label: label


@dataclass(frozen=True)
class StreamedTop:
    facet: Facet
    problems: list[Problem]


def stream_top(
    sources: Sequence[LogSource],
    name: str,
    selection: Filter,
    limit: int,
    *,
    evaluator: PolicyEvaluator | None = None,
    workers: int | None = None,
    in_process_bytes: int = split.IN_PROCESS_BYTES,
) -> StreamedTop:
    """The top `limit` values of field `name` among the events `selection` matches."""
    screened = prefilter(selection).active
    found = pipeline.plan(sources, pipeline.RANGE_BYTES if screened else pipeline.FULL_PARSE_RANGE_BYTES)
    if pipeline.reads_the_end(selection):
        selection = pipeline.anchored(selection, pipeline.first_pass_latest(found.tasks, workers, in_process_bytes))
    merged = _Merged()
    totals = pipeline.Totals(found.names)
    job: Callable[[Any, Task], Counted] = count
    narrow = narrow_spec(selection) if name in LABELS else None
    if narrow is not None:  # decided on the decoded lines: no store of each range
        job, setup = narrow_count, narrow_setup(*narrow, evaluator.policy if evaluator else None, name)
    else:
        setup = judge_setup(selection, evaluator, None, name)
    try:
        for task, counted in pipeline.run(found.tasks, job, setup, workers, in_process_bytes):
            totals.add(task, counted)
            merged.add(counted)
        return StreamedTop(merged.facet(name, limit), [*found.problems, *totals.problems])
    finally:
        merged.pairs.close()
