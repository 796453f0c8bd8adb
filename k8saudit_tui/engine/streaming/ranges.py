"""One byte range of a log, parsed and filtered where it is read (a worker, or in-process).

Why per range: a headless command that only selects or counts needs no store of the whole log.
Each range is parsed by the one parser (`batch.parse_lines`, `batch.parse_document`) into a Batch,
appended to a small EventStore of its own, evaluated under the policies, and decided by the one
filter engine (`Filter.mask`): the semantics are the store's by construction. What goes back to the
parent is small: where the selected events are (or their rendering, or `top`'s counts), their
times, the problems.

Contract of `read_range`: the store holds the range's candidate events (`prefilter`) at their true
file offsets and 1-based line numbers relative to the range; lines the prefilter rejects are still
decoded with the parser's own decoder and checks, so `events` and `problems` are those of a full
parse; a rejected line the quick check refuses goes through the parser like any candidate.
Problems carry the line number relative to the range (the parent adds the lines before it).
EventList items (re-serialised, no bytes of their own in the file) are read from `items`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.export_formats import ORIGINAL_LINE_FORMATS
from k8saudit_tui.engine.logs.attributes import request_path
from k8saudit_tui.engine.logs.batch import BLOCK_LINES, ITEM_FILE, Batch, Encoder, parse_document, parse_lines
from k8saudit_tui.engine.logs.event import EventError, EventFields, decode_event
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.model import STAGES, Policy
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query.filter import Filter
from k8saudit_tui.engine.store.columns import EventStore
from k8saudit_tui.engine.store.files import FileEntry
from k8saudit_tui.engine.streaming.narrow import NARROW_THRESHOLDS, Narrow, narrow_filter
from k8saudit_tui.engine.streaming.narrow_job import read_bytes
from k8saudit_tui.engine.streaming.prefilter import Prefilter, prefilter


@dataclass
class RangeStore:
    """A range's events in a store of its own, and what a full parse of the range counted."""

    store: EventStore
    events: int
    """Events in the range (candidates and rejected ones)."""
    lines: int
    problems: list[tuple[int, str, str]]
    items: dict[int, bytes] = field(default_factory=dict)
    """Row -> bytes of the rows that are EventList items."""
    data: bytes = b""
    base: int = 0

    def raw(self, rows: np.ndarray) -> list[bytes | memoryview]:
        """The original bytes of `rows` (items re-serialised), from the range read in memory: views,
        not copies (a range whose every event is selected would otherwise be held twice more)."""
        offsets = self.store.column("offset")[rows].tolist()
        lengths = self.store.column("length")[rows].tolist()
        data, base, items = memoryview(self.data), self.base, self.items
        return [
            items[row] if row in items else data[offset - base : offset - base + length]
            for row, offset, length in zip(rows.tolist(), offsets, lengths)
        ]


def read_range(task: Task, screen: Prefilter | None = None) -> RangeStore:
    """Parse the range `task` (a whole document when `task.document`) into a RangeStore."""
    data = read_bytes(task)
    if task.document:
        batch = parse_document(data, 0)
        return _stored(batch, batch.count, data, 0)
    if screen is None or not screen.active:
        batch = parse_lines(data, task.start, 0, task.final, Encoder(persistent=False))
        return _stored(batch, batch.count, data, task.start)
    starts = _line_starts(data, task.final)
    keep = screen.candidates(data, starts)
    keep |= ~_plain_events(data, starts, keep)
    batch = _parse_some(data, starts, keep, task.start)
    return _stored(batch, batch.count + int(np.count_nonzero(~keep)), data, task.start)


def read_lines(data: bytes, starts: np.ndarray, keep: np.ndarray, base: int) -> RangeStore:
    """The lines `keep` of a range read at file offset `base` (line i is data[starts[i]:
    starts[i + 1] - 1]) in a RangeStore, at their true offsets and line numbers: the store path
    for the lines the narrow reading leaves (`narrow.narrow_range`). The parser's URI path cache
    is emptied first, as `Judge.read` does (a log of prefixed lines is all read here)."""
    request_path.cache_clear()
    batch = _parse_some(data, starts, keep, base)
    return _stored(batch, batch.count, data, base)


def _line_starts(data: bytes, final: bool) -> np.ndarray:
    """Where each line of `data` starts, and one past the end of the last (as the parser splits:
    a last line without newline counts only in the final range; a range ends after a newline)."""
    newlines = np.flatnonzero(np.frombuffer(data, np.uint8) == _NEWLINE)
    ends = newlines + 1
    if final and len(data) and data[-1:] != b"\n":
        ends = np.append(ends, len(data) + 1)
    return np.concatenate([[0], ends]).astype(np.int64)


_NEWLINE = ord("\n")
_DECODE = msgspec.json.Decoder(EventFields).decode
"""The decoder `decode_event` applies (same type), without its checks, for a C-level map."""
_KIND, _STAGE, _VERB = attrgetter("kind"), attrgetter("stage"), attrgetter("verb")
_EVENT_KINDS = frozenset({None, "Event"})
_STAGE_NAMES = frozenset(STAGES)


def _plain_events(data: bytes, starts: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """Per line not in `skip`: whether it is one plain Event as `decode_event` (the parser's own
    reading) accepts it: decoded and checked a block at a time, a failing block line by line.
    Lines in `skip` are not looked at (False)."""
    valid = np.zeros(len(starts) - 1, bool)
    rejected = np.flatnonzero(~skip)
    firsts, ends = starts[rejected].tolist(), (starts[rejected + 1] - 1).tolist()
    for begin in range(0, len(rejected), BLOCK_LINES):
        pieces = [
            data[first:end]
            for first, end in zip(firsts[begin : begin + BLOCK_LINES], ends[begin : begin + BLOCK_LINES])
        ]
        block = rejected[begin : begin + BLOCK_LINES]
        try:
            events = list(map(_DECODE, pieces))
        except Exception:  # any failure: the line-by-line reading says which
            events = []
        if (
            events
            and _EVENT_KINDS.issuperset(map(_KIND, events))
            and _STAGE_NAMES.issuperset(map(_STAGE, events))
            and "" not in map(_VERB, events)
        ):  # what check_event accepts, or stricter (a URI without verb): C-level passes, as the parser's
            valid[block] = True
        else:
            valid[block] = [_decodes(piece) for piece in pieces]
    return valid


def _decodes(piece: bytes) -> bool:
    try:
        decode_event(piece)
    except EventError:
        return False
    return True


def _parse_some(data: bytes, starts: np.ndarray, keep: np.ndarray, base: int) -> Batch:
    """Parse the kept lines as one chunk, then put rows and problems back at their true lines and
    offsets (a prefixed line's event keeps its place within the line)."""
    kept = np.flatnonzero(keep)
    firsts, ends = starts[kept], starts[kept + 1] - 1
    chosen = [data[first:end] for first, end in zip(firsts.tolist(), ends.tolist())]
    batch = parse_lines(b"\n".join(chosen) + b"\n" if chosen else b"", 0, 0, True, Encoder(persistent=False))
    del chosen
    kept_starts = np.zeros(len(kept) + 1, np.int64)
    np.cumsum(ends - firsts + 1, out=kept_starts[1:])
    if batch.count:
        compact = batch.line.astype(np.int64) - 1
        original = kept[compact]
        in_file = batch.file != ITEM_FILE
        moved = batch.offset[in_file] - kept_starts[compact[in_file]]
        batch.offset[in_file] = base + starts[original[in_file]] + moved
        batch.line = (original + 1).astype(np.int32)
    batch.problems = [(int(kept[number - 1]) + 1, where, message) for number, where, message in batch.problems]
    batch.lines = len(starts) - 1
    return batch


def _stored(batch: Batch, events: int, data: bytes, base: int) -> RangeStore:
    """The batch in a store of its own (file 0; EventList items kept aside, not spooled)."""
    items: dict[int, bytes] = {}
    if batch.count and (batch.file == ITEM_FILE).any():
        rows = np.flatnonzero(batch.file == ITEM_FILE)
        items = {int(row): batch.items[int(batch.offset[row])] for row in rows}
        batch.file = batch.file.copy()
        batch.file[rows] = 0  # the store would spool them; they are read from `items`
        batch.items = []
    store = EventStore()
    store.files.append(FileEntry("", ""))  # rows are read from the range in memory (`raw`)
    problems = batch.problems
    batch.problems = []
    store.append(batch, 0, 0)
    return RangeStore(store, events, batch.lines, problems, items, data, base)


@dataclass
class Judge:
    """A worker's state: the filter and the policies applied to each range it reads, and how
    selected events are rendered (`fmt`: jsonl, json or csv; `redact`)."""

    selection: Filter
    evaluator: PolicyEvaluator | None
    candidate: PolicyEvaluator | None
    screen: Prefilter | None
    fmt: str = "jsonl"
    redact: bool = False
    narrow: Narrow | None = None
    """The filter decided per decoded event (`narrow.narrow_filter`), when it can be."""

    def read(self, task: Task, screened: bool = True) -> tuple[RangeStore, np.ndarray]:
        """The range in a store under the policies, and the rows the filter selects (in order).

        The parser's cache of URI paths (`attributes.request_path`, 65,536 entries) is emptied
        first: across ranges it only filled up (a range's encoder starts afresh anyway), which
        put 25 MB more in each worker by 10M events (measured: 139 MB at 1M, 177 MB at 10M)."""
        request_path.cache_clear()
        ranged = read_range(task, self.screen if screened else None)
        return ranged, self.decide(ranged)

    def decide(self, ranged: RangeStore) -> np.ndarray:
        """The rows of `ranged` the filter selects (in order), under the policies."""
        store = ranged.store
        if self.evaluator is not None:
            store.set_policy(self.evaluator)
        if self.candidate is not None:
            store.set_candidate(self.candidate)
        rows: np.ndarray = (
            np.flatnonzero(self.selection.mask(store)) if self.selection.groups else np.arange(len(store))
        )
        return rows


def make_judge(
    selection: Filter,
    policy: Policy | None,
    candidate: Policy | None,
    fmt: str = "jsonl",
    redact: bool = False,
    screen: bool = True,
) -> Judge:
    """A Judge from picklable parts (the worker pool's `setup`)."""
    narrow = narrow_filter(selection) if screen and fmt in ORIGINAL_LINE_FORMATS else None  # top's fmt is its field
    # The loader's heap settings while batches arrive (`runtime.loading`), for good in a worker:
    # each range's megabytes get their own mappings and go back to the OS when freed. A narrow
    # reading builds no store: its range's bytes are reused from the heap (NARROW_THRESHOLDS).
    runtime._set_heap_thresholds(runtime.LOADING_THRESHOLDS if narrow is None else NARROW_THRESHOLDS)
    return Judge(
        selection,
        PolicyEvaluator(policy) if policy is not None else None,
        PolicyEvaluator(candidate) if candidate is not None else None,
        prefilter(selection) if screen else None,
        fmt,
        redact,
        narrow,
    )


def judge_setup(
    selection: Filter,
    evaluator: PolicyEvaluator | None,
    candidate: PolicyEvaluator | None,
    fmt: str = "jsonl",
    redact: bool = False,
) -> Any:
    """The `setup` that builds the same Judge in each worker (policies travel as Policy values)."""
    return functools.partial(
        make_judge,
        selection,
        evaluator.policy if evaluator is not None else None,
        candidate.policy if candidate is not None else None,
        fmt,
        redact,
    )
