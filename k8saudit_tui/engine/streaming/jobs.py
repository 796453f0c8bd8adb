"""The per-range jobs of the streaming commands, run by the worker pool (or in-process).

Each job takes a `Judge` (the worker's state) and a `Task` and returns plain picklable data, small
next to the range: `select` where the selected events are (or, rendered, CSV rows and redacted
lines) with their stage times (the order key),
`latest` the range's latest received time (the first pass of a filter read against the log's
end), `count` the per-value counts of `top`. Every one also returns the range's line count, event
count and problems (line numbers relative to the range), which the parent turns into Problems.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from k8saudit_tui.engine.export import CSV_COLUMNS, _csv_cell, redact_line
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.query.timefilter import latest_time, received_times
from k8saudit_tui.engine.streaming.narrow import Narrow, narrow_range
from k8saudit_tui.engine.streaming.ranges import Judge, RangeStore, read_bytes, read_lines, read_range


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


def _read(ranged: RangeStore) -> Read:
    return Read(ranged.lines, ranged.events, ranged.problems)


def select(judge: Judge, task: Task) -> Selected:
    """The selected events of the range, rendered as `judge.fmt` (jsonl: the line and a newline;
    json: `,\\n` and the line; csv: the CSV row), in input order."""
    if judge.narrow is not None and not task.document:
        return _select_narrow(judge, judge.narrow, task)
    ranged, rows = judge.read(task)
    read = _read(ranged)
    times = ranged.store.column("time")[rows].astype(np.int64) if len(rows) else np.empty(0, np.int64)
    if judge.fmt == "csv":
        pieces = _csv_rows(ranged, rows)
        lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
        return Selected(read.lines, read.events, read.problems, b"".join(pieces), lengths, times)
    if not judge.redact:
        offsets = ranged.store.column("offset")[rows].astype(np.int64)
        lengths = ranged.store.column("length")[rows].astype(np.int64)
        items = [ranged.items[row] for row in rows.tolist() if row in ranged.items] if ranged.items else []
        if items:
            offsets[[index for index, row in enumerate(rows.tolist()) if row in ranged.items]] = -1
        return Selected(read.lines, read.events, read.problems, b"".join(items), lengths, times, offsets)
    return _redacted(judge, read, ranged.raw(rows), times)


def _redacted(judge: Judge, read: Read, raw: Sequence[bytes | memoryview], times: np.ndarray) -> Selected:
    """Selected events whose lines are redacted here (`judge.redact`): rendered, not located."""
    lines = [redact_line(bytes(line)) for line in raw]
    lengths = np.fromiter(map(len, lines), np.int64, len(lines))
    if judge.fmt == "json":  # `,\n` before each line
        blob = b",\n".join([b"", *lines]) if lines else b""
        return Selected(read.lines, read.events, read.problems, blob, lengths + 2, times)
    blob = b"\n".join([*lines, b""]) if lines else b""  # a newline after each line
    return Selected(read.lines, read.events, read.problems, blob, lengths + 1, times)


def _select_narrow(judge: Judge, narrow: Narrow, task: Task) -> Selected:
    """`select` with the filter decided on each decoded line (`narrow`); the lines it leaves
    (prefixed, EventLists, problems) go through the store path (`Judge.decide`), and the two
    selections are merged in line order (a line is in one or the other)."""
    data = read_bytes(task)
    decided = narrow_range(data, task.final, narrow)
    starts, chosen = decided.starts, decided.selected
    offsets = task.start + starts[chosen]
    lengths = starts[chosen + 1] - 1 - starts[chosen]
    times, lines, items = decided.times, chosen, b""
    read = Read(len(starts) - 1, decided.events)
    if decided.rest.any():
        ranged = read_lines(data, starts, decided.rest, task.start)
        rows = judge.decide(ranged)
        read = Read(read.lines, read.events + ranged.events, ranged.problems)
        store = ranged.store
        more = store.column("offset")[rows].astype(np.int64)
        if ranged.items:
            listed = rows.tolist()
            more[[index for index, row in enumerate(listed) if row in ranged.items]] = -1
            items = b"".join([ranged.items[row] for row in listed if row in ranged.items])
        order = np.argsort(np.concatenate([lines, store.column("line")[rows] - 1]), kind="stable")
        offsets = np.concatenate([offsets, more])[order]
        lengths = np.concatenate([lengths, store.column("length")[rows].astype(np.int64)])[order]
        times = np.concatenate([times, store.column("time")[rows].astype(np.int64)])[order]
    if judge.redact:
        view = memoryview(data)
        raw: list[bytes | memoryview] = []
        item_at = 0
        for offset, length in zip(offsets.tolist(), lengths.tolist()):
            if offset < 0:
                raw.append(items[item_at : item_at + length])
                item_at += length
            else:
                raw.append(view[offset - task.start : offset - task.start + length])
        return _redacted(judge, read, raw, times)
    return Selected(read.lines, read.events, read.problems, items, lengths, times, offsets)


def _csv_rows(ranged: RangeStore, rows: np.ndarray) -> list[bytes]:
    """One CSV row per selected event, as `engine.export` writes them (same cells, same writer)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    store = ranged.store
    pieces = []
    for row in rows.tolist():
        writer.writerow([_csv_cell(store.value(row, column)) for _, column in CSV_COLUMNS])
        pieces.append(buffer.getvalue().encode("utf-8", "surrogateescape"))
        buffer.seek(0)
        buffer.truncate()
    return pieces


def csv_header() -> bytes:
    """The CSV header line `engine.export` writes."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([header for header, _ in CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8", "surrogateescape")


@dataclass
class Latest(Read):
    """The latest known received time of a range's events (None: none has a time)."""

    latest: int | None = None


def latest(judge: object, task: Task) -> Latest:
    """The first pass of a filter whose time range is read against the log's end: the latest
    received time (`timefilter.received_times`, as the store's filter reads it), every line parsed."""
    ranged = read_range(task)
    store = ranged.store
    found = latest_time(received_times(store, len(store)))
    return Latest(ranged.lines, ranged.events, ranged.problems, found)
